"""Bulk rescoring runs in the background: asked for over the API or the CLI, run by the worker.

A run is a `ScoringRun` row. `do_request_rescore` records it and hands it to the worker
once the row is committed; `rescore_run` (the huey task) runs the set-based
`rescore_all` under the rules in force and records the outcome on the row. A failed
attempt is retried by huey after a delay; the last failure leaves the run `failed` with
its error.

While a run writes scores, its transaction is still open, so the progress count is
published through the task queue's own storage (outside the database) and merged into
the row when it is read (`contacts_done_of`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from huey.contrib.djhuey import HUEY, db_task

from smarketing.core.actions import record_audit
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Role
from smarketing.core.errors import Conflict, DomainError, FieldProblem, NotAllowed, ValidationFailed
from smarketing.core.models import User
from smarketing.crm.models import Contact, Touch
from smarketing.definitions.choices import Kind
from smarketing.definitions.selectors import active_ids, rule_set_in_force
from smarketing.scoring.bulk import RescoreResult, rescore_all
from smarketing.scoring.models import RunState, ScoringRun

logger = logging.getLogger("smarketing.scoring")

RETRIES = 2
RETRY_DELAY_SECONDS = 60
# A run for a list of contacts is for a handful of records; everyone is the default.
MAX_LISTED_CONTACTS = 10_000
# A rule change that lands while a run writes makes it run again, at most this often.
MAX_PASSES = 3
# Contacts changed during a pass are rescored again, at most this many times over.
CATCH_UP_ROUNDS = 3
# Rescoring everyone is heavy: admins and the two heads ask for it.
RESCORE_ROLES = {Role.ADMIN, Role.MARKETING_MANAGER, Role.SALES_MANAGER}


def _progress_key(run_id: int) -> str:
    return f"smarketing:scoring-run:{run_id}:done"


def _check_contact_ids(contact_ids: list[int] | None) -> list[int] | None:
    if contact_ids is None:
        return None
    if not isinstance(contact_ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in contact_ids
    ):
        raise ValidationFailed(
            "The contacts to rescore are not valid.",
            [FieldProblem("contact_ids", "must be a list of contact ids", None)],
        )
    ids = sorted(set(contact_ids))
    if not ids:
        raise ValidationFailed(
            "Name at least one contact, or leave the list out to rescore everyone.",
            [FieldProblem("contact_ids", "is empty", [])],
        )
    if len(ids) > MAX_LISTED_CONTACTS:
        raise ValidationFailed(
            "Too many contacts listed; leave the list out to rescore everyone.",
            [FieldProblem("contact_ids", f"at most {MAX_LISTED_CONTACTS:,} ids", len(ids))],
        )
    known = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        known.update(Contact.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    missing = [i for i in ids if i not in known]
    if missing:
        raise ValidationFailed(
            "Some contacts do not exist.",
            [FieldProblem("contact_ids", "no contact with this id", i) for i in missing[:20]],
        )
    return ids


def do_request_rescore(
    actor: Actor | User | None,
    contact_ids: list[int] | None = None,
    *,
    enqueue: bool = True,
) -> ScoringRun:
    """Record a rescoring run of every contact (or of `contact_ids`) and queue it.

    Refused while no scoring rules are in force. With `enqueue=False` the caller runs it
    itself (`run_rescore`), as the CLI does to show a progress bar.
    """
    actor = as_actor(actor)
    if actor.user is not None and actor.user.role not in RESCORE_ROLES:
        raise NotAllowed("Only admins and the marketing and sales managers can ask for a rescore.")
    ids = _check_contact_ids(contact_ids)
    if rule_set_in_force() is None:
        raise Conflict(
            "No scoring rules are in force yet: install the defaults or approve a rule set first."
        )
    with transaction.atomic():
        run = ScoringRun.objects.create(
            requested_by=actor.user,
            requested_label=actor.label[:120],
            contact_ids=ids,
            contacts_total=len(ids) if ids is not None else Contact.objects.count(),
        )
        scope = f"{len(ids):,} contacts" if ids is not None else "every contact"
        record_audit(
            actor,
            "scoring.rescore_requested",
            run,
            f"rescore #{run.pk} of {scope}",
            object_type="scoring_run",
        )
        if enqueue:
            # The worker must find the row: queue only once it is committed.
            transaction.on_commit(lambda: rescore_run(run.pk))
    return run


def _rules_key() -> tuple[int | None, int | None]:
    """Which scoring rules (and ICP they read) are in force."""
    ids = active_ids()
    return ids.get(Kind.SCORING), ids.get(Kind.ICP)


@dataclass(frozen=True)
class _Mark:
    """Where ingestion stood when a pass began: the newest touch id and the time."""

    touch_id: int
    at: datetime

    @classmethod
    def now(cls) -> _Mark:
        newest = Touch.objects.aggregate(n=Max("pk"))["n"] or 0
        return cls(touch_id=newest, at=timezone.now())


def _changed_since(mark: _Mark, scope: list[int] | None) -> list[int]:
    """Contacts that got a touch or a profile change after `mark` (within the run's scope)."""
    ids = set(Touch.objects.filter(pk__gt=mark.touch_id).values_list("contact_id", flat=True))
    ids.update(Contact.objects.filter(updated_at__gte=mark.at).values_list("pk", flat=True))
    ids.update(
        Contact.objects.filter(company__updated_at__gte=mark.at).values_list("pk", flat=True)
    )
    if scope is not None:
        ids &= set(scope)
    return sorted(ids)


def _catch_up(rule_set, run: ScoringRun, mark: _Mark) -> int:
    """Rescore the contacts that ingestion touched while a pass computed.

    The pass reads every touch and profile first and writes afterwards, so a touch
    scored by the incremental path in between is overwritten with a state that lacks it.
    Those few contacts are rescored again (set-based, from the same rules) until none
    is left behind.
    """
    caught = 0
    for _ in range(CATCH_UP_ROUNDS):
        ids = _changed_since(mark, run.contact_ids)
        if not ids:
            break
        mark = _Mark.now()
        for start in range(0, len(ids), MAX_LISTED_CONTACTS):
            rescore_all(
                rule_set,
                contact_ids=ids[start : start + MAX_LISTED_CONTACTS],
                reason=f"rescore #{run.pk}: contacts changed while it ran",
            )
        caught += len(ids)
    return caught


def run_rescore(run: ScoringRun, *, progress: Callable[[int], Any] | None = None) -> RescoreResult:
    """Rescore the run's contacts under the rules in force and record the outcome on the run.

    Safe while ingestion continues: contacts touched or edited during the pass are
    rescored again right after it (`_catch_up`). A rule set activated during the pass
    rescored everyone itself, but this run may have written over it with the rules it
    started with; it then runs again with the new rules (rescoring is idempotent).
    """
    key = _progress_key(run.pk)

    def report(done: int) -> None:
        HUEY.put(key, done)
        if progress is not None:
            progress(done)

    started = timezone.now()
    ScoringRun.objects.filter(pk=run.pk).update(
        state=RunState.RUNNING,
        started_at=started,
        finished_at=None,
        attempts=F("attempts") + 1,
        contacts_done=0,
        error="",
    )
    HUEY.put(key, 0)
    result = None
    passes = caught_up = 0
    try:
        while passes < MAX_PASSES:
            passes += 1
            in_force = _rules_key()
            rule_set = rule_set_in_force()
            if rule_set is None:
                raise Conflict("No scoring rules are in force any more; nothing was rescored.")
            mark = _Mark.now()
            result = rescore_all(
                rule_set,
                contact_ids=run.contact_ids,
                reason=f"rescore #{run.pk} asked by {run.requested_label or 'system'}",
                progress=report,
            )
            if _rules_key() != in_force:
                continue
            caught_up = _catch_up(rule_set, run, mark)
            if _rules_key() == in_force:
                break
    finally:
        HUEY.delete(key)
    assert result is not None
    summary = {**result.as_dict(), "passes": passes, "caught_up": caught_up}
    ScoringRun.objects.filter(pk=run.pk).update(
        state=RunState.DONE,
        finished_at=timezone.now(),
        version_id=rule_set.version_id,
        contacts_done=result.contacts,
        contacts_total=max(result.contacts, run.contacts_total),
        result=summary,
    )
    run.refresh_from_db()
    return result


def record_failure(run: ScoringRun, exc: BaseException, *, retrying: bool) -> None:
    """Keep the error on the run: queued again while huey retries, failed after the last try."""
    message = str(exc) if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
    if retrying:
        message += f" (trying again in {RETRY_DELAY_SECONDS} seconds)"
    ScoringRun.objects.filter(pk=run.pk).update(
        state=RunState.QUEUED if retrying else RunState.FAILED,
        finished_at=None if retrying else timezone.now(),
        error=message[:2000],
    )


@db_task(retries=RETRIES, retry_delay=RETRY_DELAY_SECONDS, context=True)
def rescore_run(run_id: int, task=None) -> dict[str, Any] | None:
    """The worker's side of a rescoring run (see `do_request_rescore`)."""
    run = ScoringRun.objects.filter(pk=run_id).first()
    if run is None or run.finished:
        return None
    try:
        return run_rescore(run).as_dict()
    except DomainError as exc:
        # The data or the rules refuse it: trying again would not help.
        record_failure(run, exc, retrying=False)
        logger.warning("Rescoring run #%s failed: %s", run_id, exc)
        return None
    except Exception as exc:
        record_failure(run, exc, retrying=bool(task is not None and task.retries))
        raise


def contacts_done_of(run: ScoringRun) -> int:
    """How many contacts a run has written so far, live while it runs."""
    if run.state != RunState.RUNNING:
        return run.contacts_done
    live = HUEY.get(_progress_key(run.pk), peek=True)
    return max(run.contacts_done, int(live or 0))
