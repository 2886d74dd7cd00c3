"""Importing sales activities (calls, emails, meetings, LinkedIn messages, notes).

Rows are validated with the same rules as `do_log_activity` (`check_activity`: kinds,
outcomes allowed per kind, no future calls), linked to a contact by email or external
id, and attributed to a rep found by email or name (by default the person importing).
Like a logged activity, a contact attempt moves the contact's lead status along (never
back). Activities with an external id are matched on it: a known one gets the mapped
fields updated and does not count as a new attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from smarketing.core.errors import DomainError
from smarketing.core.models import User
from smarketing.crm.actions.sales import check_activity, lead_status_after
from smarketing.crm.choices import ActivityKind, Direction, Outcome
from smarketing.crm.importing.base import (
    CREATED,
    UNCHANGED,
    UPDATED,
    ContactLookup,
    Importer,
    Plan,
    Problems,
    Row,
    RowFailed,
)
from smarketing.crm.importing.bulk import insert_rows, update_objects
from smarketing.crm.importing.fields import ACTIVITY, normalise_choice
from smarketing.crm.importing.report import ImportFileError
from smarketing.crm.models import Activity, Contact

UPDATABLE = ("kind", "direction", "outcome", "subject", "note", "occurred_at", "duration_seconds")


@dataclass
class ActivityPlan(Plan):
    activity: Activity | None = None
    new: dict[str, Any] | None = None
    rep: User | None = None
    contact: Contact | None = None
    changed: set[str] = field(default_factory=set)
    status_from: str | None = None  # the contact's lead status before, when this row moves it


class ActivityImporter(Importer):
    kind = "activities"
    builtin_names = set(ACTIVITY)

    def check_columns(self) -> None:
        fields = self.ctx.resolved.fields
        if not {"contact_email", "contact_external_id"} & fields:
            raise ImportFileError(
                _(
                    "No column names the contact of each activity; map one to contact_email or contact_external_id."
                )
            )
        if "kind" not in fields:
            raise ImportFileError(
                _(
                    "No column gives the activity kind (call, email, meeting, linkedin, note); map one to kind."
                )
            )

    def scan_targets(self) -> set[str]:
        return {"rep"}

    def prepare(self, distinct: dict[str, set[str]]) -> None:
        self.ctx.owners.load(distinct.get("rep", ()))
        self.contacts = ContactLookup(lock=self.ctx.writing)
        self.activities: dict[str, Activity] = {}
        self.seen: dict[str, int] = {}

    def plan_chunk(self, rows: list[Row]) -> list[ActivityPlan]:
        self.contacts.load(
            [
                r.values["contact_email"].strip().lower()
                for r in rows
                if r.values.get("contact_email")
            ],
            [
                r.values["contact_external_id"].strip()
                for r in rows
                if r.values.get("contact_external_id")
            ],
        )
        ids = [r.values["external_id"].strip() for r in rows if r.values.get("external_id")]
        if ids:
            queryset = (
                Activity.objects.select_for_update() if self.ctx.writing else Activity.objects.all()
            )
            self.activities.update({a.external_id: a for a in queryset.filter(external_id__in=ids)})
        plans = []
        for row in rows:
            try:
                plans.append(self.count(self.plan_row(row)))
            except RowFailed as exc:
                self.fail(row, exc.problems)
        return plans

    def plan_row(self, row: Row) -> ActivityPlan:
        ctx = self.ctx
        problems = Problems()
        external_id = (row.values.get("external_id") or "").strip()[:120] or None
        if external_id:
            first = self.seen.setdefault(external_id, row.line)
            if first != row.line:
                problems.add(
                    "external_id",
                    external_id,
                    _("is also on line %(line)s; each record may appear once per file")
                    % {"line": first},
                )
        existing = self.activities.get(external_id) if external_id else None
        if existing is None:
            ctx.extractor.apply_defaults(row, new=True)
        values = row.values
        contacts = self.contacts.find(
            problems,
            email_text=values.get("contact_email"),
            external_text=values.get("contact_external_id"),
            email_target="contact_email",
            external_target="contact_external_id",
            many=False,
        )
        if len(contacts) > 1:
            problems.add(
                "contact_email",
                values.get("contact_email"),
                _("the email and the external id name different contacts"),
            )
        rep = ctx.owners.get(problems, "rep", values.get("rep"))
        data: dict[str, Any] = {}
        for name, choices in (
            ("kind", ActivityKind),
            ("direction", Direction),
            ("outcome", Outcome),
        ):
            if name in values:
                data[name] = normalise_choice(choices, values[name])
        for name, limit in (("subject", 200), ("note", 20000)):
            if name in values:
                if len(values[name]) > limit:
                    problems.add(
                        name,
                        values[name][:40] + "…",
                        _("is longer than %(n)s characters") % {"n": limit},
                    )
                data[name] = values[name]
        if "occurred_at" in values:
            data["occurred_at"] = ctx.when(problems, "occurred_at", values["occurred_at"])
        if "duration_seconds" in values:
            try:
                duration = int(Decimal(values["duration_seconds"].replace(",", "")))
                if duration < 0:
                    raise ValueError
                data["duration_seconds"] = duration
            except (InvalidOperation, ValueError):
                problems.add(
                    "duration_seconds",
                    values["duration_seconds"],
                    _("is not a whole number of seconds ≥ 0"),
                )
        problems.raise_if_any()
        kind = data.get("kind", existing.kind if existing else "")
        direction = data.get("direction", existing.direction if existing else Direction.OUTBOUND)
        outcome = data.get("outcome", existing.outcome if existing else "")
        occurred_at = data.get("occurred_at") or (existing.occurred_at if existing else ctx.now)
        try:
            check_activity(kind, direction, outcome, occurred_at)
        except DomainError as exc:
            problems.extend_from(exc)
        problems.raise_if_any()
        contact = contacts[0]
        if existing is not None:
            changed = {
                k: v for k, v in data.items() if k in UPDATABLE and getattr(existing, k) != v
            }
            if rep is not None and (rep.pk is None or rep.pk != existing.rep_id):
                changed["rep"] = rep
            if contact.pk != existing.contact_id:
                changed["contact"] = contact
            if not changed:
                return ActivityPlan(row.line, UNCHANGED, activity=existing)
            for key, value in changed.items():
                setattr(existing, key, value)
            return ActivityPlan(row.line, UPDATED, activity=existing, rep=rep, changed=set(changed))
        rep = rep or ctx.actor.user
        plan = ActivityPlan(
            row.line,
            CREATED,
            new={
                "contact_id": contact.pk,
                "kind": kind,
                "direction": direction,
                "outcome": outcome,
                "subject": data.get("subject", ""),
                "note": data.get("note", ""),
                "occurred_at": occurred_at,
                "duration_seconds": data.get("duration_seconds"),
                "external_id": external_id,
                "created_at": ctx.now,
            },
            rep=rep,
            contact=contact,
        )
        status = lead_status_after(contact.lead_status, kind, outcome)
        if status != contact.lead_status:
            plan.status_from, contact.lead_status = contact.lead_status, status
        return plan

    def write_chunk(self, plans: list[ActivityPlan]) -> None:
        ctx = self.ctx
        new = [p for p in plans if p.action == CREATED]
        for plan in new:
            plan.new["rep_id"] = ctx.owners.saved(plan.rep).pk if plan.rep else None
        insert_rows(Activity, [p.new for p in new])
        updated = [p for p in plans if p.action == UPDATED]
        for plan in updated:
            if "rep" in plan.changed:
                plan.activity.rep = ctx.owners.saved(plan.rep)
        if updated:
            update_objects(
                [p.activity for p in updated], sorted(set().union(*(p.changed for p in updated)))
            )
        moved = {p.contact.pk: p.contact for p in new if p.status_from is not None}
        for contact in moved.values():
            contact.updated_at = ctx.now
        update_objects(list(moved.values()), ["lead_status", "updated_at"])

    def forget(self) -> None:
        self.contacts.clear()
        self.activities.clear()
