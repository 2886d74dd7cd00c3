"""Importing marketing touches through the same batch ingestion the REST API uses.

Every row becomes one touch item for `ingest_touches`, so an imported touch behaves
exactly like an ingested one: an unknown person is created (a subscriber, or a lead for
a converting touch) with the touch as original source, a known subscriber who converts
becomes a lead, and a touch whose external id is already stored is a replay that writes
nothing. Columns that are not touch fields go into the touch's free-form properties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from smarketing.crm.actions import ingest_touches
from smarketing.crm.actions.touches import _Invalid as InvalidTouch
from smarketing.crm.actions.touches import clean_touch
from smarketing.crm.choices import Channel, TouchType
from smarketing.crm.importing.base import (
    CREATED,
    UNCHANGED,
    Importer,
    Plan,
    Problems,
    Row,
    RowFailed,
)
from smarketing.crm.importing.fields import TOUCH, normalise_choice
from smarketing.crm.importing.report import ImportFileError, RowError
from smarketing.crm.models import Campaign, Touch

PROFILE = ("first_name", "last_name", "job_title", "phone", "country")
# Where `ingest_touches` problems come from, as import fields.
PROBLEM_FIELDS = {"utm_campaign": "campaign", **{f"contact.{name}": name for name in PROFILE}}


@dataclass
class TouchPlan(Plan):
    item: dict[str, Any]


class TouchImporter(Importer):
    kind = "touches"
    builtin_names = set(TOUCH)

    def check_columns(self) -> None:
        fields = self.ctx.resolved.fields
        if not {"email", "contact_external_id"} & fields:
            raise ImportFileError(
                _(
                    "No column names the person of each touch; map one to email or contact_external_id."
                )
            )
        if "type" not in fields:
            raise ImportFileError(
                _("No column gives the touch type; map one to type (or set defaults.type).")
            )
        if "external_id" not in fields:
            self.ctx.report.warnings.append(
                _(
                    "No column gives the touches an external id, so importing the file again would store them twice (set key_template)."
                )
            )

    def prepare(self, distinct: dict[str, set[str]]) -> None:
        self.utm: dict[str, Campaign] = {}
        for campaign in Campaign.objects.order_by("id"):
            for key in (campaign.utm_campaign.lower(), campaign.name.lower()):
                if key:
                    self.utm.setdefault(key, campaign)
        self.seen: dict[str, int] = {}
        self.properties = [t for t in self.ctx.resolved.fields if t.startswith("property:")]

    def plan_chunk(self, rows: list[Row]) -> list[TouchPlan]:
        ids = [r.values["external_id"].strip() for r in rows if r.values.get("external_id")]
        stored = (
            set(Touch.objects.filter(external_id__in=ids).values_list("external_id", flat=True))
            if ids
            else set()
        )
        plans = []
        for row in rows:
            try:
                plans.append(self.count(self.plan_row(row, stored)))
            except RowFailed as exc:
                self.fail(row, exc.problems)
        return plans

    def plan_row(self, row: Row, stored: set[str]) -> TouchPlan:
        ctx = self.ctx
        problems = Problems()
        ctx.extractor.apply_defaults(row, new=True)
        values = row.values
        external_id = (values.get("external_id") or "").strip()
        if external_id:
            first = self.seen.setdefault(external_id, row.line)
            if first != row.line:
                problems.add(
                    "external_id",
                    external_id,
                    _("is also on line %(line)s; each record may appear once per file")
                    % {"line": first},
                )
        occurred_at = ctx.when(problems, "occurred_at", values.get("occurred_at"))
        item: dict[str, Any] = {
            "email": values.get("email"),
            "contact_external_id": values.get("contact_external_id"),
            "type": normalise_choice(TouchType, values.get("type", "")),
            "channel": normalise_choice(Channel, values["channel"]) if "channel" in values else "",
            "utm_campaign": values.get("campaign"),
            "url": values.get("url", ""),
            "asset": values.get("asset", ""),
            "occurred_at": occurred_at or ctx.now,
            "external_id": external_id or None,
            "properties": {t.split(":", 1)[1]: values[t] for t in self.properties if t in values},
            "contact": {name: values[name] for name in PROFILE if name in values},
        }
        try:
            clean_touch(item, 0, {}, self.utm)
        except InvalidTouch as exc:
            for p in exc.problems:
                problems.add(PROBLEM_FIELDS.get(p.field, p.field), p.value, p.message)
        problems.raise_if_any()
        return TouchPlan(row.line, UNCHANGED if external_id in stored else CREATED, item)

    def write_chunk(self, plans: list[TouchPlan]) -> None:
        items = [p for p in plans]
        results = ingest_touches([p.item for p in items], actor=self.ctx.actor)
        report = self.ctx.report
        for result in results:
            plan = items[result.index]
            if result.status == "error":  # validated above, so only a race gets here
                self.unplan(plan)
                report.failed += 1
                for p in result.errors:
                    report.errors.append(
                        RowError(
                            plan.line,
                            self.ctx.resolved.source_column.get(p.field, p.field),
                            str(p.value or ""),
                            p.message,
                        )
                    )
            elif result.status == "duplicate" and plan.action == CREATED:
                report.created -= 1
                report.unchanged += 1
