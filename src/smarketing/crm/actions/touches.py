"""Idempotent ingestion of marketing touches, one or a batch, set-based.

A touch names its person by email and/or external id. Unknown people are created
(`lead` for a conversion such as a form submission, `subscriber` otherwise) with their
original source taken from that first touch; a known subscriber who converts becomes a
`lead`. A touch with an `external_id` that was already stored is a replay: it returns
the original result and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from smarketing.core.actors import Actor, as_actor
from smarketing.core.errors import FieldProblem
from smarketing.core.models import User
from smarketing.crm import events
from smarketing.crm.actions.records import normalise_email
from smarketing.crm.choices import CONVERSION_TOUCHES, Channel, Stage, TouchType
from smarketing.crm.importing.bulk import (
    insert_objects,
    insert_rows,
    loaded,
    select_objects,
    update_objects,
)
from smarketing.crm.models import Campaign, Contact, LifecycleTransition, Touch
from smarketing.crm.parsing import as_aware

FUTURE_TOLERANCE_SECONDS = 300
PROFILE_FIELDS = {"first_name": 120, "last_name": 120, "job_title": 200, "phone": 40, "country": 64}
# Checked for every item of every batch: computed once (`.values` builds a new list).
TOUCH_TYPES = frozenset(TouchType.values)
CHANNELS = frozenset(Channel.values)
TOUCH_CONTACT = Touch._meta.get_field("contact")
TOUCH_CAMPAIGN = Touch._meta.get_field("campaign")
TOUCH_FIELDS = {
    "email",
    "contact_external_id",
    "type",
    "channel",
    "campaign_id",
    "utm_campaign",
    "url",
    "asset",
    "occurred_at",
    "properties",
    "external_id",
    "contact",
}
TEXT_FIELDS = (
    "email",
    "contact_external_id",
    "type",
    "channel",
    "utm_campaign",
    "url",
    "asset",
    "external_id",
)
DEFAULT_CHANNEL = {
    TouchType.EMAIL_OPEN: Channel.EMAIL,
    TouchType.EMAIL_CLICK: Channel.EMAIL,
    TouchType.UNSUBSCRIBE: Channel.EMAIL,
    TouchType.WEBINAR: Channel.EVENTS,
    TouchType.EVENT: Channel.EVENTS,
    TouchType.SOCIAL_ENGAGEMENT: Channel.SOCIAL,
}


@dataclass
class TouchInput:
    """One validated touch, ready to be written."""

    index: int
    type: str
    occurred_at: datetime
    email: str | None = None
    contact_external_id: str | None = None
    channel: str = ""
    campaign: Campaign | None = None
    url: str = ""
    asset: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    profile: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> tuple[str, str]:
        return (
            ("email", self.email) if self.email else ("external_id", self.contact_external_id or "")
        )


@dataclass
class IngestResult:
    """What happened to one touch of a request."""

    index: int
    status: str  # "created", "duplicate" or "error"
    touch_id: int | None = None
    contact_id: int | None = None
    contact_created: bool = False
    stage: str = ""
    errors: list[FieldProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "error"


def clean_touch(
    raw: Mapping[str, Any],
    index: int,
    campaigns: dict[int, Campaign],
    utm: dict[str, Campaign],
    now: datetime | None = None,
) -> TouchInput:
    """One item validated; `now` (the request's moment) stands for a missing `occurred_at`."""
    now = now or timezone.now()
    problems: list[FieldProblem] = []
    if not isinstance(raw, Mapping):
        raise _Invalid([FieldProblem("", "must be an object")])
    for key in sorted(set(raw) - TOUCH_FIELDS):
        problems.append(FieldProblem(key, "is not a touch field"))
    # Text fields take text: a list or a number where a URL or id belongs is a mistake.
    for key in TEXT_FIELDS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(FieldProblem(key, "must be text", value))
    email = None
    try:
        email = normalise_email(raw.get("email"))
    except DjangoValidationError:
        problems.append(FieldProblem("email", "is not a valid email address", raw.get("email")))
    contact_external_id = str(raw.get("contact_external_id") or "").strip()[:120] or None
    if not email and not contact_external_id and not any(p.field == "email" for p in problems):
        problems.append(FieldProblem("email", "an email or a contact_external_id is required"))
    kind = str(raw.get("type") or "").strip()
    if kind not in TOUCH_TYPES:
        problems.append(FieldProblem("type", f"must be one of {', '.join(TouchType.values)}", kind))
    channel = str(raw.get("channel") or "").strip()
    if channel and channel not in CHANNELS:
        problems.append(
            FieldProblem("channel", f"must be one of {', '.join(Channel.values)}", channel)
        )
    occurred_at = None
    try:
        occurred_at = as_aware(raw.get("occurred_at")) or now
        if (occurred_at - now).total_seconds() > FUTURE_TOLERANCE_SECONDS:
            problems.append(FieldProblem("occurred_at", "is in the future", raw.get("occurred_at")))
    except ValueError as exc:
        problems.append(FieldProblem("occurred_at", str(exc), raw.get("occurred_at")))
    campaign = None
    if raw.get("campaign_id") not in (None, ""):
        try:
            campaign = campaigns[int(raw["campaign_id"])]
        except (KeyError, ValueError, TypeError):
            problems.append(FieldProblem("campaign_id", "no such campaign", raw.get("campaign_id")))
    utm_campaign = str(raw.get("utm_campaign") or "").strip()
    if campaign is None and utm_campaign:
        campaign = utm.get(utm_campaign.lower())
    properties = raw.get("properties") or {}
    if not isinstance(properties, Mapping):
        problems.append(FieldProblem("properties", "must be an object"))
        properties = {}
    properties = dict(properties)
    if utm_campaign and campaign is None:
        properties.setdefault("utm_campaign", utm_campaign)
    profile_raw = raw.get("contact") or {}
    profile: dict[str, str] = {}
    if not isinstance(profile_raw, Mapping):
        problems.append(FieldProblem("contact", "must be an object"))
    else:
        for key, value in profile_raw.items():
            if key not in PROFILE_FIELDS:
                problems.append(
                    FieldProblem(f"contact.{key}", f"is not one of {', '.join(PROFILE_FIELDS)}")
                )
            elif value is not None and not isinstance(value, str):
                problems.append(FieldProblem(f"contact.{key}", "must be text", value))
            elif value not in (None, ""):
                profile[key] = value.strip()[: PROFILE_FIELDS[key]]
    external_id = str(raw.get("external_id") or "").strip()
    if len(external_id) > 120:
        problems.append(FieldProblem("external_id", "is longer than 120 characters"))
    url = str(raw.get("url") or "")
    if len(url) > 1000:
        problems.append(FieldProblem("url", "is longer than 1000 characters"))
    if problems:
        raise _Invalid(problems)
    assert occurred_at is not None
    return TouchInput(
        index=index,
        type=kind,
        occurred_at=occurred_at,
        email=email,
        contact_external_id=contact_external_id,
        channel=channel
        or (campaign.channel if campaign else "")
        or DEFAULT_CHANNEL.get(kind, Channel.DIRECT),
        campaign=campaign,
        url=url,
        asset=str(raw.get("asset") or "").strip()[:200],
        properties=properties,
        external_id=external_id or None,
        profile=profile,
    )


class _Invalid(Exception):
    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems


def ingest_touches(
    items: Sequence[Mapping[str, Any]], *, actor: Actor | User | None
) -> list[IngestResult]:
    """Validate and store a batch of touches; each item gets its own result.

    Bad items are reported and skipped; the good ones are written together in one
    transaction, so a failure part-way leaves nothing half-written.
    """
    actor = as_actor(actor, "api")
    campaign_ids = {
        int(i["campaign_id"])
        for i in items
        if isinstance(i, Mapping)
        # Ids beyond a 64-bit key cannot exist (and overflow the database driver).
        and str(i.get("campaign_id") or "").isdigit()
        and len(str(i["campaign_id"])) <= 18
    }
    campaigns = Campaign.objects.in_bulk(campaign_ids) if campaign_ids else {}
    utm_names = {
        str(i.get("utm_campaign")).strip().lower()
        for i in items
        if isinstance(i, Mapping) and i.get("utm_campaign")
    }
    utm: dict[str, Campaign] = {}
    if utm_names:
        # Campaigns are few; matching case-insensitively in Python is cheaper than per-name queries.
        for c in Campaign.objects.only("id", "name", "utm_campaign", "channel"):
            for key in (c.utm_campaign.lower(), c.name.lower()):
                if key in utm_names:
                    utm.setdefault(key, c)
    results: list[IngestResult | None] = [None] * len(items)
    valid: list[TouchInput] = []
    now = timezone.now()
    for index, raw in enumerate(items):
        try:
            valid.append(clean_touch(raw, index, campaigns, utm, now))
        except _Invalid as exc:
            results[index] = IngestResult(index=index, status="error", errors=exc.problems)
    if valid:
        for attempt in range(3):
            try:
                for result in _write(valid, actor):
                    results[result.index] = result
                break
            except IntegrityError:
                # A concurrent request created the same person or touch first: read again.
                if attempt == 2:
                    raise
    return [r for r in results if r is not None]


def ingest_touch(item: Mapping[str, Any], *, actor: Actor | User | None) -> IngestResult:
    return ingest_touches([item], actor=actor)[0]


def _write(valid: list[TouchInput], actor: Actor) -> list[IngestResult]:
    now = timezone.now()
    results: list[IngestResult] = []
    with transaction.atomic():
        # 1. Replays: touches whose external id is stored already, or repeated in this batch.
        ext_ids = [t.external_id for t in valid if t.external_id]
        stored = _stored_touches(ext_ids) if ext_ids else {}
        fresh: list[TouchInput] = []
        first_in_batch: dict[str, TouchInput] = {}
        replays_in_batch: list[tuple[TouchInput, TouchInput]] = []
        for t in valid:
            if t.external_id and t.external_id in stored:
                touch_id, contact_id, created_contact, stage = stored[t.external_id]
                results.append(
                    IngestResult(
                        index=t.index,
                        status="duplicate",
                        touch_id=touch_id,
                        contact_id=contact_id,
                        contact_created=created_contact,
                        stage=stage,
                    )
                )
            elif t.external_id and t.external_id in first_in_batch:
                replays_in_batch.append((t, first_in_batch[t.external_id]))
            else:
                if t.external_id:
                    first_in_batch[t.external_id] = t
                fresh.append(t)

        # 2. Who are these people? One query for both keys, the rows locked until commit.
        emails = {t.email for t in fresh if t.email}
        ext_contacts = {t.contact_external_id for t in fresh if t.contact_external_id}
        by_email: dict[str, Contact] = {}
        by_ext: dict[str, Contact] = {}
        known = select_objects(
            Contact, {"email": emails, "external_id": ext_contacts}, for_update=True
        )
        for c in known:
            if c.email:
                by_email[c.email] = c
            if c.external_id:
                by_ext[c.external_id] = c

        # 3. Create the unknown people, each from its earliest touch in the batch.
        contact_of: dict[int, Contact] = {}
        new_contacts: dict[tuple[str, str], Contact] = {}
        for t in sorted(fresh, key=lambda t: t.occurred_at):
            found = (by_email.get(t.email) if t.email else None) or (
                by_ext.get(t.contact_external_id) if t.contact_external_id else None
            )
            if found is None:
                found = new_contacts.get(t.identity)
            if found is None:
                created_at = min(t.occurred_at, now)
                found = Contact(
                    email=t.email,
                    external_id=t.contact_external_id,
                    lifecycle_stage=Stage.LEAD
                    if t.type in CONVERSION_TOUCHES
                    else Stage.SUBSCRIBER,
                    lifecycle_changed_at=created_at,
                    created_at=created_at,
                    original_source=t.channel,
                    source_detail=(t.url or t.asset)[:200],
                    first_campaign=t.campaign,
                    **t.profile,
                )
                found._created_by = t  # type: ignore[attr-defined]
                new_contacts[t.identity] = found
                if t.email:
                    by_email[t.email] = found
                if t.contact_external_id:
                    by_ext[t.contact_external_id] = found
            contact_of[t.index] = found
        created_list = list(new_contacts.values())
        if created_list:
            insert_objects(created_list)
            creations = insert_objects(
                [
                    LifecycleTransition(
                        contact=c,
                        from_stage="",
                        to_stage=c.lifecycle_stage,
                        at=c.created_at,
                        actor=actor.user,
                        rule=f"{actor.rule}:touch"[:120],
                        reason=f"first touch: {c._created_by.type}",  # type: ignore[attr-defined]
                    )
                    for c in created_list
                ]
            )
            for contact, creation in zip(created_list, creations, strict=True):
                contact._creation = creation  # type: ignore[attr-defined]

        # 4. Known people: fill blank profile fields, set a missing source, promote converting subscribers.
        transitions: list[LifecycleTransition] = []
        changed: dict[int, Contact] = {}
        for t in sorted(fresh, key=lambda t: t.occurred_at):
            contact = contact_of[t.index]
            if getattr(contact, "_created_by", None) is t:
                continue
            dirty = False
            for key, value in t.profile.items():
                if not getattr(contact, key):
                    setattr(contact, key, value)
                    dirty = True
            if not contact.original_source:
                contact.original_source = t.channel
                contact.first_campaign = contact.first_campaign or t.campaign
                dirty = True
            if contact.lifecycle_stage == Stage.SUBSCRIBER and t.type in CONVERSION_TOUCHES:
                at = max(t.occurred_at, contact.lifecycle_changed_at)
                transitions.append(
                    LifecycleTransition(
                        contact=contact,
                        from_stage=Stage.SUBSCRIBER,
                        to_stage=Stage.LEAD,
                        at=at,
                        actor=actor.user,
                        rule=f"{actor.rule}:touch"[:120],
                        reason=f"converted: {t.type}",
                    )
                )
                contact.lifecycle_stage = Stage.LEAD
                contact.lifecycle_changed_at = at
                dirty = True
            if dirty:
                changed[contact.pk] = contact
        if changed:
            update_objects(
                list(changed.values()),
                [
                    *PROFILE_FIELDS,
                    "original_source",
                    "first_campaign",
                    "lifecycle_stage",
                    "lifecycle_changed_at",
                ],
            )
        if transitions:
            insert_objects(transitions)

        # 5. The touches themselves: plain rows, then instances without `Model.__init__`.
        touch_rows = []
        for t in fresh:
            contact = contact_of[t.index]
            touch_rows.append(
                {
                    "contact_id": contact.pk,
                    "type": t.type,
                    "channel": t.channel,
                    "campaign_id": t.campaign.pk if t.campaign else None,
                    "url": t.url,
                    "asset": t.asset,
                    "occurred_at": t.occurred_at,
                    "properties": t.properties,
                    "external_id": t.external_id,
                    "created_contact": getattr(contact, "_created_by", None) is t,
                    "created_at": now,
                }
            )
        rows: list[Touch] = loaded(Touch, touch_rows, insert_rows(Touch, touch_rows))  # type: ignore[assignment]
        for t, row in zip(fresh, rows, strict=True):
            # As `Touch(contact=…, campaign=…)` would: the related objects are at hand.
            TOUCH_CONTACT.set_cached_value(row, contact_of[t.index])
            TOUCH_CAMPAIGN.set_cached_value(row, t.campaign)
        if transitions or created_list:
            events.stages_changed.send(
                sender=Touch,
                transitions=transitions + [c._creation for c in created_list],  # type: ignore[attr-defined]
            )
        if changed:
            events.profiles_changed.send(sender=Touch, contact_ids=list(changed))
        events.touches_recorded.send(sender=Touch, touches=rows, actor=actor)
        row_of = {t.index: row for t, row in zip(fresh, rows, strict=True)}
        for t, row in zip(fresh, rows, strict=True):
            contact = contact_of[t.index]
            results.append(
                IngestResult(
                    index=t.index,
                    status="created",
                    touch_id=row.pk,
                    contact_id=contact.pk,
                    contact_created=row.created_contact,
                    stage=contact.lifecycle_stage,
                )
            )
        for t, first in replays_in_batch:
            original = row_of[first.index]
            results.append(
                IngestResult(
                    index=t.index,
                    status="duplicate",
                    touch_id=original.pk,
                    contact_id=original.contact_id,
                    contact_created=original.created_contact,
                    stage=contact_of[first.index].lifecycle_stage,
                )
            )
    return results


def _stored_touches(external_ids: list[str]) -> dict[str, tuple[int, int, bool, str]]:
    """Touches already stored under these external ids: id, contact, created_contact, stage.

    One statement written directly: the queryset it replaces cost more to build and
    compile than to run, once per ingestion request.
    """
    quote = connection.ops.quote_name
    touch, contact = quote(Touch._meta.db_table), quote(Contact._meta.db_table)
    sql = (
        f"SELECT {touch}.{quote('external_id')}, {touch}.{quote('id')},"
        f" {touch}.{quote('contact_id')}, {touch}.{quote('created_contact')},"
        f" {contact}.{quote('lifecycle_stage')} FROM {touch}"
        f" INNER JOIN {contact} ON {contact}.{quote('id')} = {touch}.{quote('contact_id')}"
        f" WHERE {touch}.{quote('external_id')} IN ({', '.join(['%s'] * len(external_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, external_ids)
        return {
            ext: (pk, contact_id, bool(created), stage)
            for ext, pk, contact_id, created, stage in cursor.fetchall()
        }
