"""Writes of the SLA: clocks start on assignment, follow logged attempts and decisions, and
breach, escalate or get waived.

Breaches are found two ways, with the same code: the periodic sweep (`sweep`, every
minute in the worker) and every write that touches a clock (`sweep(clock_ids=…)`), so a
rep who logs a call after the due time sees the breach at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, DateTimeField, F, Value, When
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from smarketing.core.actions import check_can, record_audit
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Capability
from smarketing.core.errors import IllegalTransition, fail
from smarketing.core.models import User
from smarketing.crm.choices import CONTACT_ATTEMPT_KINDS, ActivityKind
from smarketing.crm.models import Activity, Contact
from smarketing.definitions.selectors import active_version
from smarketing.handoff.choices import Decision, Method
from smarketing.handoff.models import Assignment, LeadReview
from smarketing.sla.choices import COMMITMENTS, RUNNING, Commitment, EventKind, State
from smarketing.sla.models import SlaClock, SlaEvent
from smarketing.sla.terms import average_day, calendar_of, calendar_spec_for, terms_for

# A first touch is any logged call, email, LinkedIn message or meeting; attempts likewise.
TOUCH_KINDS = {*CONTACT_ATTEMPT_KINDS, ActivityKind.MEETING}

DONE_FIELD = {
    Commitment.FIRST_TOUCH: "first_touch_at",
    Commitment.ATTEMPTS: "attempts_done_at",
    Commitment.DECISION: "decided_at",
}


def _emit_many(items: list[tuple[str, dict, str]]) -> None:
    if items:
        from smarketing.integrations.actions import emit_many

        emit_many(items)


def _link(contact_id: int) -> str:
    return f"{settings.SMARKETING_BASE_URL}/contacts/{contact_id}/"


def _event(
    clock: SlaClock, kind: str, at: datetime, actor: Actor, *, commitment: str = "", note: str = ""
) -> SlaEvent:
    """An unsaved history row of `clock`, by `actor` (user and rule)."""
    return SlaEvent(
        clock=clock,
        kind=kind,
        commitment=commitment,
        at=at,
        actor=actor.user,
        rule=actor.rule[:120],
        note=note[:500],
    )


# Starting and stopping clocks -------------------------------------------------------------


def _stop_open_clocks(contact_id: int, *, at: datetime, reason: str, actor: Actor) -> None:
    """Stop the contact's running clocks: running commitments are cancelled, not breached."""
    clocks = list(SlaClock.objects.open().select_for_update().filter(contact_id=contact_id))
    for clock in clocks:
        for c in COMMITMENTS:
            if clock.state_of(c) in RUNNING:
                setattr(clock, f"{c}_state", State.CANCELLED)
        clock.is_open, clock.closed_at, clock.close_reason = False, at, reason[:120]
        clock.save()
        _event(clock, EventKind.STOPPED, at, actor, note=reason).save()


def start_clock(assignment: Assignment, *, actor: Actor) -> SlaClock | None:
    """Start the SLA clock of a lead just assigned to a rep, under the terms in force."""
    at = assignment.assigned_at
    _stop_open_clocks(
        assignment.contact_id,
        at=at,
        reason=f"reassigned ({assignment.get_method_display()})",
        actor=actor,
    )
    if assignment.rep_id is None:
        return None
    spec, team = calendar_spec_for(assignment.rep_id)
    contact = Contact.objects.select_related("company").get(pk=assignment.contact_id)
    terms = terms_for(contact, team, active_version("sla"))
    if terms is None:
        return None
    calendar = calendar_of(spec)
    sales = terms.sales
    clock = SlaClock(
        contact_id=assignment.contact_id,
        assignment=assignment,
        rep_id=assignment.rep_id,
        team=team,
        terms=terms.version,
        agreement=terms.agreement,
        pilot_name=terms.pilot_name[:120],
        calendar=spec,
        started_at=at,
        reassign_on_breach=sales.reassign_on_breach,
    )
    windows = {
        Commitment.FIRST_TOUCH: sales.first_touch_hours
        and timedelta(hours=sales.first_touch_hours),
        Commitment.ATTEMPTS: sales.attempts
        and sales.attempts_within_days
        and average_day(calendar) * sales.attempts_within_days,
        Commitment.DECISION: sales.decision_hours and timedelta(hours=sales.decision_hours),
    }
    for commitment, window in windows.items():
        if not window:
            setattr(clock, f"{commitment}_state", State.CANCELLED)
            continue
        due = calendar.add(at, window)
        soon = max(at, calendar.subtract(due, sales.soon_before(window)))
        setattr(clock, f"{commitment}_due_at", due)
        setattr(clock, f"{commitment}_soon_at", soon)
        setattr(
            clock,
            f"{commitment}_escalate_at",
            calendar.add(due, timedelta(hours=sales.escalate_after_hours)),
        )
    clock.attempts_required = sales.attempts or 0
    if all(clock.state_of(c) == State.CANCELLED for c in COMMITMENTS):
        return None
    clock.save()
    agreement = terms.agreement + (f": {terms.pilot_name}" if terms.pilot_name else "")
    _event(clock, EventKind.STARTED, at, actor, note=f"{terms.version.label} ({agreement})").save()
    return clock


def on_assigned(assignment: Assignment, actor: Actor) -> None:
    """Follow an assignment: start the clock and tell the rep (queue: nobody to tell)."""
    clock = start_clock(assignment, actor=actor)
    if assignment.rep_id is None:
        return
    contact = assignment.contact
    rep = assignment.rep
    fields = {
        "Rule": assignment.rule_name or assignment.get_method_display(),
        "Why": assignment.reason,
    }
    if clock is not None and clock.first_touch_due_at:
        fields["First touch due"] = timezone.localtime(clock.first_touch_due_at).strftime(
            "%Y-%m-%d %H:%M %Z"
        )
    _emit_many(
        [
            (
                "mql.assigned",
                {
                    "title": f"New MQL for {rep.get_full_name() or rep.email}: {contact}",
                    "text": f"{contact} was routed to {rep.email} ({assignment.rule_name or assignment.method}).",
                    "url": _link(contact.pk),
                    "fields": fields,
                    "recipients": [rep.email],
                    "contact_id": contact.pk,
                },
                f"assignment:{assignment.pk}",
            )
        ]
    )


# Following the rep's work -----------------------------------------------------------------


def _settle(clock: SlaClock, commitment: str, at: datetime) -> str | None:
    """Mark a running commitment met (on time) or breached (late); returns the event kind."""
    state = clock.state_of(commitment)
    if state not in RUNNING:
        return None
    due = clock.due_of(commitment)
    new = State.MET if due is None or at <= due else State.BREACHED
    setattr(clock, f"{commitment}_state", new)
    setattr(clock, DONE_FIELD[commitment], at)
    return EventKind.MET if new == State.MET else EventKind.BREACHED


def _close_if_settled(clock: SlaClock, at: datetime, reason: str) -> None:
    if clock.is_open and all(clock.state_of(c) not in RUNNING for c in COMMITMENTS):
        clock.is_open, clock.closed_at, clock.close_reason = False, at, reason[:120]


def on_activities(activities: Iterable[Activity], actor: Actor) -> None:
    """Count logged calls, emails, LinkedIn messages and meetings against open clocks."""
    by_contact: dict[int, list[Activity]] = defaultdict(list)
    for activity in activities:
        if activity.kind in TOUCH_KINDS:
            by_contact[activity.contact_id].append(activity)
    if not by_contact:
        return
    touched = []
    for clock in (
        SlaClock.objects.open().select_for_update().filter(contact_id__in=list(by_contact))
    ):
        found = sorted(
            (a for a in by_contact[clock.contact_id] if a.occurred_at >= clock.started_at),
            key=lambda a: a.occurred_at,
        )
        if not found:
            continue
        events = []
        first = found[0].occurred_at
        if clock.first_touch_at is None or first < clock.first_touch_at:
            kind = _settle(clock, Commitment.FIRST_TOUCH, first)
            if clock.first_touch_at is None or first < clock.first_touch_at:
                clock.first_touch_at = first
            clock.speed_to_lead_seconds = (
                calendar_of(clock.calendar)
                .between(clock.started_at, clock.first_touch_at)
                .total_seconds()
            )
            if kind:
                events.append((kind, Commitment.FIRST_TOUCH, first))
        clock.attempts_made += len(found)
        if clock.attempts_required and clock.attempts_made >= clock.attempts_required:
            kind = _settle(clock, Commitment.ATTEMPTS, found[-1].occurred_at)
            if kind:
                events.append((kind, Commitment.ATTEMPTS, found[-1].occurred_at))
        _close_if_settled(clock, found[-1].occurred_at, "all commitments settled")
        clock.save()
        SlaEvent.objects.bulk_create(
            _event(clock, k, at, actor, commitment=c) for k, c, at in events
        )
        touched.append(clock.pk)
    if touched:
        sweep(now=timezone.now(), clock_ids=touched)


def on_review(review: LeadReview, actor: Actor) -> None:
    """A decision settles the decision commitment; attempts are no longer owed.

    Accepting leaves a missing first touch running (the rep still owes the call);
    rejecting ends the clock.
    """
    at = review.decided_at
    for clock in SlaClock.objects.open().select_for_update().filter(contact_id=review.contact_id):
        events = []
        kind = _settle(clock, Commitment.DECISION, at)
        if kind:
            events.append((kind, Commitment.DECISION, at, ""))
        if clock.attempts_state in RUNNING:
            clock.attempts_state, clock.attempts_done_at = State.MET, at
            events.append(
                (EventKind.MET, Commitment.ATTEMPTS, at, "decided before the attempts fell due")
            )
        if review.decision == Decision.REJECTED and clock.first_touch_state in RUNNING:
            clock.first_touch_state = State.CANCELLED
            events.append(
                (EventKind.STOPPED, Commitment.FIRST_TOUCH, at, "rejected before a first touch")
            )
        _close_if_settled(clock, at, f"lead {review.decision}")
        clock.save()
        SlaEvent.objects.bulk_create(
            _event(clock, k, when, actor, commitment=c, note=note) for k, c, when, note in events
        )
    if review.decision == Decision.REJECTED:
        contact = review.contact
        reason = review.reason.label if review.reason else ""
        _emit_many(
            [
                (
                    "lead.rejected",
                    {
                        "title": f"Lead rejected: {contact}",
                        "text": f"{review.rep.email if review.rep else 'A rep'} rejected {contact}: {reason}"
                        + (f" — {review.note}" if review.note else ""),
                        "url": _link(contact.pk),
                        "fields": {
                            "Reason": reason,
                            "Outcome": review.get_outcome_display(),
                            "Source": contact.get_original_source_display() or "-",
                        },
                        "recipients": [],
                        "contact_id": contact.pk,
                    },
                    f"review:{review.pk}",
                )
            ]
        )


# The sweep ------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    due_soon: dict[str, int] = field(default_factory=dict)
    breached: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    reassigned: int = 0
    closed: int = 0

    @property
    def total(self) -> int:
        return sum(self.due_soon.values()) + sum(self.breached.values()) + self.escalated


DETAILS = (
    "id",
    "contact_id",
    "contact__first_name",
    "contact__last_name",
    "contact__email",
    "rep_id",
    "rep__email",
)


def _insert_events(found, kind: str, at, commitment: str = "", note=None) -> None:
    """One INSERT … SELECT: an event row of `kind` for each clock `found` (no Python loop).

    `at` is the field (or expression) giving the event's time; `note` an expression or None.
    """
    columns = found.order_by().values_list("id", at, note if note is not None else Value(""))
    sql, params = columns.query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(SlaEvent._meta.db_table)
    names = ", ".join(quote(c) for c in ("clock_id", "at", "note", "kind", "commitment", "rule"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT marked.*, %s, %s, %s FROM ({sql}) marked",
            (kind, commitment, "sla sweep", *params),  # the outer placeholders come first
        )


def _mark(
    found, commitment: str, kind: str, at_field: str, *, details: bool
) -> tuple[int, list[dict[str, Any]]]:
    """Lock the clocks `found` for `commitment` and record `kind` on each at the moment in
    `at_field` (the caller updates the state). With `details`, also read what a
    notification needs about each."""
    marked = len(found.select_for_update(of=("self",)).values_list("id", flat=True))
    if not marked:
        return 0, []
    _insert_events(found, kind, F(at_field), commitment)
    if not details:
        return marked, []
    rows = list(found.values(*DETAILS, due=F(f"{commitment}_due_at")))
    for r in rows:
        r["who"] = _who(r)
    return marked, rows


def _who(row: dict[str, Any]) -> str:
    name = f"{row['contact__first_name']} {row['contact__last_name']}".strip()
    return name or row["contact__email"] or f"contact {row['contact_id']}"


def _subscribed(event: str) -> bool:
    """Whether any active endpoint takes `event` (else there is no notification to build)."""
    from smarketing.integrations.models import Subscription

    return Subscription.objects.filter(event=event, endpoint__is_active=True).exists()


def _notice(
    event: str, row: dict[str, Any], *, title: str, text: str, fields: dict, key: str
) -> tuple[str, dict, str]:
    """A notification about one clock, for its rep."""
    return (
        event,
        {
            "title": title,
            "text": text,
            "url": _link(row["contact_id"]),
            "fields": fields,
            "recipients": [row["rep__email"]] if row["rep__email"] else [],
            "contact_id": row["contact_id"],
        },
        key,
    )


def sweep(*, now: datetime | None = None, clock_ids: Iterable[int] | None = None) -> SweepResult:
    """Mark what fell due: due soon, breached (notify the rep), escalated (notify the manager,
    reassign when the terms say so). Set-based: one read and one update per commitment."""
    now = now or timezone.now()
    result = SweepResult()
    base = SlaClock.objects.open()
    if clock_ids is not None:
        base = base.filter(pk__in=list(clock_ids))
    notifications: list[tuple[str, dict, str]] = []
    tell_soon, tell_breach = _subscribed("sla.due_soon"), _subscribed("sla.breached")
    with transaction.atomic():
        for c in COMMITMENTS:
            label = str(Commitment(c).label)
            soon = base.filter(
                **{f"{c}_state": State.OPEN, f"{c}_soon_at__lte": now, f"{c}_due_at__gt": now}
            )
            count, rows = _mark(soon, c, EventKind.DUE_SOON, f"{c}_soon_at", details=tell_soon)
            if count:
                soon.update(**{f"{c}_state": State.DUE_SOON})
            notifications += [
                _notice(
                    "sla.due_soon",
                    r,
                    title=f"{label} due soon: {r['who']}",
                    text=f"{label} for {r['who']} is due at {r['due']:%Y-%m-%d %H:%M} UTC.",
                    fields={"Commitment": label, "Due": f"{r['due']:%Y-%m-%d %H:%M} UTC"},
                    key=f"clock:{r['id']}:{c}:due_soon",
                )
                for r in rows
            ]
            result.due_soon[c] = count

            late = base.due_by(c, now)
            count, rows = _mark(late, c, EventKind.BREACHED, f"{c}_due_at", details=tell_breach)
            if count:
                # The rows read are locked (or the whole database is, on SQLite), so the
                # same filter updates exactly them. The first breach of a clock sets when it
                # escalates (computed at its start; right away when unknown).
                late.filter(escalate_at__isnull=True).update(
                    escalate_at=Coalesce(f"{c}_escalate_at", f"{c}_due_at")
                )
                late.update(**{f"{c}_state": State.BREACHED})
            notifications += [
                _notice(
                    "sla.breached",
                    r,
                    title=f"SLA breached: {label}, {r['who']}",
                    text=f"{label} for {r['who']} was due at {r['due']:%Y-%m-%d %H:%M} UTC "
                    "and is not done.",
                    fields={"Commitment": label, "Rep": r["rep__email"] or "-"},
                    key=f"clock:{r['id']}:{c}:breached",
                )
                for r in rows
            ]
            result.breached[c] = count
        _emit_many(notifications)
    _escalate(base, now, result)
    return result


def _escalate(base, now: datetime, result: SweepResult) -> None:
    """Breaches still unresolved at their escalation time go to the manager; optionally reassigned."""
    with transaction.atomic():
        due = base.filter(escalate_at__lte=now, escalated_at__isnull=True)
        count = len(due.select_for_update(of=("self",)).values_list("id", flat=True))
        if not count:
            return
        note = Case(
            When(
                team__manager__isnull=False,
                then=Concat(Value("to "), F("team__manager__email")),
            ),
            default=Value("no team manager: escalated to the SLA board"),
            output_field=CharField(),
        )
        _insert_events(
            due, EventKind.ESCALATED, Value(now, output_field=DateTimeField()), note=note
        )
        notifications = []
        if _subscribed("sla.escalated"):
            states = [f"{c}_state" for c in COMMITMENTS]
            for r in due.values(*DETAILS, "team__manager__email", *states):
                breached = ", ".join(
                    str(Commitment(c).label)
                    for c in COMMITMENTS
                    if r[f"{c}_state"] == State.BREACHED
                )
                who = _who(r)
                notifications.append(
                    (
                        "sla.escalated",
                        {
                            "title": f"SLA breach escalated: {who}",
                            "text": f"{breached} breached by {r['rep__email'] or 'nobody'}; escalated.",
                            "url": _link(r["contact_id"]),
                            "fields": {"Rep": r["rep__email"] or "-", "Breached": breached},
                            "recipients": [
                                e for e in (r["rep__email"], r["team__manager__email"]) if e
                            ],
                            "contact_id": r["contact_id"],
                        },
                        f"clock:{r['id']}:escalated",
                    )
                )
        reassign = list(
            due.filter(reassign_on_breach=True, first_touch_state=State.BREACHED).values_list(
                "id", "contact_id", "rep_id"
            )
        )
        due.update(escalated_at=now)
        result.escalated = count
        _emit_many(notifications)
        for clock_id, contact_id, rep_id in reassign:
            _reassign_after_breach(clock_id, contact_id, rep_id, now)
            result.reassigned += 1


def _reassign_after_breach(clock_id: int, contact_id: int, rep_id: int | None, now: datetime):
    from smarketing.handoff.actions import do_route

    assignment = do_route(
        Contact(pk=contact_id),
        actor=Actor(rule="sla: reassign on breach"),
        at=now,
        exclude={rep_id} if rep_id else set(),
        method=Method.SLA_BREACH,
    )
    SlaEvent.objects.create(
        clock_id=clock_id,
        kind=EventKind.REASSIGNED,
        at=now,
        rule="sla: reassign on breach",
        note=f"to {assignment.rep.email if assignment.rep else 'the queue'}",
    )


# Managers' actions ---------------------------------------------------------------------------


def do_waive(
    clock: SlaClock, commitment: str, *, reason: str, actor: Actor | User | None
) -> SlaClock:
    """A manager waives one commitment (e.g. the lead asked to be called next week)."""
    actor = as_actor(actor)
    check_can(actor, Capability.WAIVE_SLA)
    if commitment not in COMMITMENTS:
        raise fail("Unknown commitment.", commitment=f"must be one of {', '.join(COMMITMENTS)}")
    if not (reason or "").strip():
        raise fail("Say why the commitment is waived.", reason="is required")
    now = timezone.now()
    with transaction.atomic():
        clock = SlaClock.objects.select_for_update().get(pk=clock.pk)
        state = clock.state_of(commitment)
        if state not in (*RUNNING, State.BREACHED):
            raise IllegalTransition(
                f"This commitment is {State(state).label.lower()}; only open or breached ones can be waived."
            )
        setattr(clock, f"{commitment}_state", State.WAIVED)
        _close_if_settled(clock, now, "waived")
        clock.save()
        _event(
            clock, EventKind.WAIVED, now, actor, commitment=commitment, note=reason.strip()
        ).save()
        record_audit(actor, "sla.waived", clock, f"{commitment}: {reason.strip()}")
    return clock


def do_record_remedy(clock: SlaClock, *, note: str, actor: Actor | User | None) -> SlaEvent:
    """Record the remedy applied for a breach (what the SLA's remedies section says was done)."""
    actor = as_actor(actor)
    check_can(actor, Capability.WAIVE_SLA)
    if not (note or "").strip():
        raise fail("Describe the remedy.", note="is required")
    with transaction.atomic():
        event = _event(clock, EventKind.REMEDY, timezone.now(), actor, note=note.strip())
        event.save()
        record_audit(actor, "sla.remedy", clock, note.strip())
    return event
