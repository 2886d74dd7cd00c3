"""Proposing, approving, rejecting and activating versions of the shared definitions.

A change is proposed as a new version with a reason; it takes effect only once a
marketing manager AND a sales manager have approved it, at its effective time. Either
head can reject it with a comment. Activation replaces the previous active version in
the same transaction as everything that depends on it (e.g. the bulk rescore), so a
version is either fully in force or not at all.
"""

from __future__ import annotations

import difflib
import json
from datetime import datetime
from typing import Any

import yaml
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from smarketing.core.actions import record_audit
from smarketing.core.actors import SYSTEM, Actor, as_actor
from smarketing.core.choices import Role
from smarketing.core.errors import (
    Conflict,
    FieldProblem,
    IllegalTransition,
    NotAllowed,
    ValidationFailed,
    fail,
)
from smarketing.core.models import User
from smarketing.definitions import events
from smarketing.definitions.choices import OPEN_STATUSES, Kind, Status
from smarketing.definitions.models import DefinitionVersion
from smarketing.definitions.validation import validate_body

PROPOSER_ROLES = {Role.MARKETING, Role.MARKETING_MANAGER, Role.SALES_MANAGER, Role.ADMIN}


def _context_for(
    kind: str, body: dict[str, Any], overrides: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What a definition of `kind` is validated against: the others in force (or given)."""
    from smarketing.scoring.rules import compile_rule_set

    bodies = {v.kind: v.body for v in DefinitionVersion.objects.active()}
    bodies.update(overrides or {})
    bodies[kind] = body
    context: dict[str, Any] = {"icp": bodies.get(Kind.ICP)}
    # The ICP feeds the scoring rules and the stage criteria read their ceiling; the SLA
    # needs neither (and its own problems must not hide behind theirs).
    if Kind.SCORING in bodies and kind in (Kind.ICP, Kind.STAGES):
        try:
            context["rule_set"] = compile_rule_set(bodies[Kind.SCORING], icp=bodies.get(Kind.ICP))
        except ValidationFailed as exc:
            raise ValidationFailed(
                "This change would break the active scoring rules.",
                [FieldProblem(f"scoring.{p.field}", p.message, p.value) for p in exc.problems],
            ) from None
    return context


def check_body(
    kind: str, body: Any, overrides: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Validate `body` and its fit with the other definitions in force."""
    if kind not in Kind.values:
        raise fail("Unknown definition kind.", kind=f"must be one of {', '.join(Kind.values)}")
    context = _context_for(kind, body, overrides)
    validate_body(kind, body, context=context)
    if kind == Kind.SCORING:
        # The stage criteria in force must stay reachable under the new rules.
        stages = (overrides or {}).get(Kind.STAGES) or _active_body(Kind.STAGES)
        if stages is not None:
            from smarketing.scoring.rules import compile_rule_set

            try:
                validate_body(
                    Kind.STAGES,
                    stages,
                    context={"rule_set": compile_rule_set(body, icp=context["icp"])},
                )
            except ValidationFailed as exc:
                raise ValidationFailed(
                    "These scoring rules would make the stage criteria in force unreachable.",
                    [FieldProblem(f"stages.{p.field}", p.message, p.value) for p in exc.problems],
                ) from None
    return body


def _active_body(kind: str) -> dict[str, Any] | None:
    version = DefinitionVersion.objects.active().of(kind).first()
    return version.body if version else None


def do_propose(
    kind: str,
    body: Any,
    *,
    reason: str,
    actor: Actor | User | None,
    effective_at: datetime | None = None,
    together_with: dict[str, dict[str, Any]] | None = None,
) -> DefinitionVersion:
    """Record a proposed change as the next version of `kind`, awaiting both approvals.

    `together_with` holds other definitions proposed at the same time, which this one
    is validated with (e.g. scoring rules that use a list from a new ICP).
    """
    actor = as_actor(actor)
    if actor.user is not None and actor.user.role not in PROPOSER_ROLES:
        raise NotAllowed(
            "Only marketing, the two heads and admins may propose changes to shared definitions."
        )
    if not (reason or "").strip():
        raise fail("Say why the definition changes.", reason="is required")
    if effective_at is not None and timezone.is_naive(effective_at):
        raise fail("The effective time needs a time zone.", effective_at=str(effective_at))
    check_body(kind, body, overrides=together_with)
    with transaction.atomic():
        number = (
            DefinitionVersion.objects.select_for_update()
            .filter(kind=kind)
            .aggregate(n=Max("number"))["n"]
            or 0
        ) + 1
        base = DefinitionVersion.objects.active().of(kind).first()
        version = DefinitionVersion.objects.create(
            kind=kind,
            number=number,
            body=body,
            reason=reason.strip(),
            author=actor.user,
            author_label=actor.label[:120],
            effective_at=effective_at,
            based_on=base,
        )
        record_audit(
            actor,
            "definition.proposed",
            version,
            f"{version.label}: {reason.strip()}"[:300],
            object_type="definition",
        )
        events.definition_proposed.send(sender=DefinitionVersion, version=version, actor=actor)
    return version


def _side(user: User | None) -> str:
    if user is None:
        raise NotAllowed("Approvals are given by people, not by rules.")
    if user.role == Role.MARKETING_MANAGER:
        return "marketing"
    if user.role == Role.SALES_MANAGER:
        return "sales"
    raise NotAllowed(
        "Only a marketing manager or a sales manager can approve or reject a definition change."
    )


def do_approve(
    version: DefinitionVersion, *, actor: Actor | User | None, now: datetime | None = None
) -> DefinitionVersion:
    """One head's approval; with both, the version becomes active at its effective time."""
    actor = as_actor(actor)
    side = _side(actor.user)
    now = now or timezone.now()
    with transaction.atomic():
        version = DefinitionVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != Status.PENDING:
            raise IllegalTransition(
                f"{version.label} is {version.get_status_display().lower()}; only pending changes can be approved."
            )
        if getattr(version, f"{side}_approved_at") is not None:
            raise Conflict(f"{version.label} already has the {side} approval.")
        setattr(version, f"{side}_approved_by", actor.user)
        setattr(version, f"{side}_approved_at", now)
        if version.fully_approved:
            version.status = Status.APPROVED
        version.save()
        record_audit(
            actor, f"definition.approved.{side}", version, version.label, object_type="definition"
        )
        if version.status == Status.APPROVED and (
            version.effective_at is None or version.effective_at <= now
        ):
            version = do_activate(version, actor=actor, now=now)
    return version


def do_reject(
    version: DefinitionVersion, *, comment: str, actor: Actor | User | None
) -> DefinitionVersion:
    actor = as_actor(actor)
    side = _side(actor.user)
    if not (comment or "").strip():
        raise fail("Say why the change is rejected.", comment="is required")
    with transaction.atomic():
        version = DefinitionVersion.objects.select_for_update().get(pk=version.pk)
        if version.status not in OPEN_STATUSES:
            raise IllegalTransition(
                f"{version.label} is {version.get_status_display().lower()}; it cannot be rejected."
            )
        version.status = Status.REJECTED
        version.rejected_by = actor.user
        version.rejected_at = timezone.now()
        version.rejection_comment = comment.strip()
        version.save()
        record_audit(
            actor,
            f"definition.rejected.{side}",
            version,
            f"{version.label}: {comment.strip()}"[:300],
            object_type="definition",
        )
    return version


def do_withdraw(version: DefinitionVersion, *, actor: Actor | User | None) -> DefinitionVersion:
    actor = as_actor(actor)
    if actor.user is not None and actor.user != version.author and actor.user.role != Role.ADMIN:
        raise NotAllowed("Only the author or an admin can withdraw a proposed change.")
    with transaction.atomic():
        version = DefinitionVersion.objects.select_for_update().get(pk=version.pk)
        if version.status not in OPEN_STATUSES:
            raise IllegalTransition(
                f"{version.label} is {version.get_status_display().lower()}; it cannot be withdrawn."
            )
        version.status = Status.WITHDRAWN
        version.save(update_fields=["status"])
        record_audit(
            actor, "definition.withdrawn", version, version.label, object_type="definition"
        )
    return version


def do_activate(
    version: DefinitionVersion, *, actor: Actor | User | None = None, now: datetime | None = None
) -> DefinitionVersion:
    """Put an approved version in force: supersede the previous one and run what depends on it, atomically."""
    actor = as_actor(actor, "definitions")
    now = now or timezone.now()
    with transaction.atomic():
        version = DefinitionVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != Status.APPROVED:
            raise IllegalTransition(
                f"{version.label} is {version.get_status_display().lower()}; only approved changes can take effect."
            )
        if version.effective_at is not None and version.effective_at > now:
            raise IllegalTransition(
                f"{version.label} takes effect at {version.effective_at.isoformat()}."
            )
        # The rest of the definitions may have changed since this one was proposed.
        check_body(version.kind, version.body)
        previous = DefinitionVersion.objects.select_for_update().active().of(version.kind).first()
        if previous is not None:
            previous.status = Status.SUPERSEDED
            previous.superseded_at = now
            previous.save(update_fields=["status", "superseded_at"])
        version.status = Status.ACTIVE
        version.activated_at = now
        version.save(update_fields=["status", "activated_at"])
        summary: dict[str, Any] = {}
        for _receiver, result in events.definition_activated.send(
            sender=DefinitionVersion, version=version, previous=previous, now=now
        ):
            if isinstance(result, dict):
                summary.update(result)
        version.activation_summary = summary
        version.save(update_fields=["activation_summary"])
        record_audit(
            actor, "definition.activated", version, version.label, summary, object_type="definition"
        )
    return version


def activate_due(now: datetime | None = None) -> list[DefinitionVersion]:
    """Activate every approved version whose effective time has come (run by the worker)."""
    now = now or timezone.now()
    done = []
    for version in DefinitionVersion.objects.due(now).order_by("effective_at", "id"):
        done.append(do_activate(version, actor=Actor(rule="definitions:effective"), now=now))
    return done


def install_defaults(actor: Actor = SYSTEM, now: datetime | None = None) -> list[DefinitionVersion]:
    """Version 1 of each definition from the shipped defaults, for kinds that have none yet.

    The defaults are the starting playbook of a new install; every later change needs
    both heads' approval.
    """
    from smarketing.definitions.defaults import default_bodies

    now = now or timezone.now()
    installed = []
    with transaction.atomic():
        bodies = default_bodies()
        for kind in (Kind.ICP, Kind.SCORING, Kind.STAGES, Kind.SLA):
            if DefinitionVersion.objects.filter(kind=kind).exists():
                continue
            check_body(kind, bodies[kind])
            version = DefinitionVersion.objects.create(
                kind=kind,
                number=1,
                body=bodies[kind],
                reason="Starting playbook shipped with Smarketing",
                author_label="install defaults",
                status=Status.APPROVED,
                created_at=now,
            )
            installed.append(do_activate(version, actor=actor, now=now))
    return installed


# --- readable diffs and YAML ----------------------------------------------------------


def to_yaml(body: dict[str, Any], *, sort_keys: bool = False) -> str:
    return yaml.safe_dump(body, sort_keys=sort_keys, allow_unicode=True, default_flow_style=False)


def text_diff(old: DefinitionVersion | None, new: DefinitionVersion) -> list[str]:
    """A unified diff of the two versions as YAML (keys sorted, so only real changes show)."""
    before = to_yaml(old.body, sort_keys=True).splitlines() if old else []
    after = to_yaml(new.body, sort_keys=True).splitlines()
    return list(
        difflib.unified_diff(
            before,
            after,
            fromfile=old.label if old else "(none)",
            tofile=new.label,
            lineterm="",
            n=2,
        )
    )


def rule_changes(old: DefinitionVersion | None, new: DefinitionVersion) -> list[dict[str, Any]]:
    """For scoring versions: which rules were added, removed or changed (by rule id)."""
    if new.kind != Kind.SCORING:
        return []

    def rules(version: DefinitionVersion | None) -> dict[str, dict[str, Any]]:
        if version is None:
            return {}
        out = {}
        for section in ("fit", "engagement"):
            for i, rule in enumerate((version.body.get(section) or {}).get("rules") or []):
                out[str(rule.get("id") or f"{section}_{i + 1}")] = {"section": section, **rule}
        return out

    before, after = rules(old), rules(new)
    changes = []
    for rid in sorted(set(before) | set(after)):
        if rid not in before:
            changes.append({"rule": rid, "change": "added", "after": after[rid]})
        elif rid not in after:
            changes.append({"rule": rid, "change": "removed", "before": before[rid]})
        elif before[rid] != after[rid]:
            changes.append(
                {"rule": rid, "change": "changed", "before": before[rid], "after": after[rid]}
            )
    return changes


def export_yaml(kinds: list[str] | None = None) -> str:
    """The definitions in force as one YAML document (what `definitions import` reads)."""
    active = {v.kind: v for v in DefinitionVersion.objects.active()}
    doc = {}
    for kind in kinds or Kind.values:
        if kind in active:
            doc[kind] = active[kind].body
    header = (
        "# Smarketing shared definitions: "
        + ", ".join(f"{k} v{active[k].number}" for k in doc)
        + "\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


class _DefinitionLoader(yaml.SafeLoader):
    """Safe YAML where dates stay text: definitions are stored as JSON."""


_DefinitionLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def load_yaml(text: str) -> Any:
    """YAML text as data that can be stored; a syntax error says where it is."""
    try:
        doc = yaml.load(text, Loader=_DefinitionLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        raise fail(
            "The file is not valid YAML.", yaml=f"{getattr(exc, 'problem', exc)} at {where}"
        ) from None
    try:
        # As stored: mapping keys become text (`levels: {1: 60}` is kept as {"1": 60}).
        return json.loads(json.dumps(doc, allow_nan=False))
    except (TypeError, ValueError):
        raise fail(
            "The file holds values that cannot be stored.",
            yaml="use plain text, numbers, lists and mappings (no .nan, .inf, sets or binary)",
        ) from None


def parse_body_yaml(text: str, kind: str) -> Any:
    """One definition's content from YAML: the bare content, or a document whose only key is `kind`."""
    doc = load_yaml(text)
    if isinstance(doc, dict) and set(doc) == {kind}:
        return doc[kind]
    return doc


def parse_yaml(text: str) -> dict[str, Any]:
    doc = load_yaml(text)
    if not isinstance(doc, dict) or not doc:
        raise fail(
            "The file must map definition kinds to their content.",
            yaml=f"use keys among {', '.join(Kind.values)}",
        )
    unknown = [k for k in doc if k not in Kind.values]
    if unknown:
        raise fail(
            "Unknown definition kinds in the file.",
            kinds=f"{unknown}; use {', '.join(Kind.values)}",
        )
    return doc


def do_import_yaml(
    text: str, *, reason: str, actor: Actor | User | None, effective_at: datetime | None = None
) -> list[DefinitionVersion]:
    """Propose every definition in the YAML document whose content differs from the one in force.

    All are validated together first (a new ICP with new scoring rules that use it), so
    nothing is proposed when any of them is invalid.
    """
    doc = parse_yaml(text)
    problems: list[FieldProblem] = []
    for kind, body in doc.items():
        try:
            check_body(kind, body, overrides=doc)
        except ValidationFailed as exc:
            problems.extend(
                FieldProblem(f"{kind}.{p.field}", p.message, p.value) for p in exc.problems
            )
    if problems:
        raise ValidationFailed("The definitions file is not valid.", problems)
    proposed = []
    with transaction.atomic():
        for kind, body in doc.items():
            if _active_body(kind) == body:
                continue
            proposed.append(
                do_propose(
                    kind,
                    body,
                    reason=reason,
                    actor=actor,
                    effective_at=effective_at,
                    together_with=doc,
                )
            )
    return proposed
