"""Keeping stored scores current as touches arrive and profiles change.

Each new touch is scored from the contact's stored state (decayed engagement at a
reference moment, once-only and cap memory), never by re-reading its history. A touch
older than the newest one already scored is the exception: that contact is replayed
exactly from its touches.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, models
from django.utils import timezone

from smarketing.scoring.engine import SECONDS_PER_DAY, Award, CapState, award, fit_hits
from smarketing.scoring.models import ContactScore
from smarketing.scoring.profiles import profiles_for, touch_facts, touches_of
from smarketing.scoring.rules import RuleSet

STATE_FIELDS = [
    "version",
    "fit",
    "grade",
    "fit_hits",
    "eng_ref",
    "eng_ref_at",
    "recent",
    "cap_state",
    "last_touch_at",
    "total_at_update",
    "updated_at",
]
# What a new touch changes for a contact already scored (its fit stays as it was).
ENGAGEMENT_FIELDS = [f for f in STATE_FIELDS if f not in ("fit", "grade", "fit_hits")]


def _carry(rule_set: RuleSet, score: ContactScore, awards: Sequence[Award]) -> None:
    """Fold new awards (in time order) into the stored engagement."""
    if rule_set.window_days is not None:
        recent = list(score.recent) + [[a.at.timestamp(), a.awarded] for a in awards]
        newest = max((ts for ts, _ in recent), default=0.0)
        horizon = newest - rule_set.window_days * SECONDS_PER_DAY
        score.recent = [[ts, pts] for ts, pts in recent if ts > horizon]
        if awards:
            score.eng_ref_at = awards[-1].at
        return
    value, ref = score.eng_ref, score.eng_ref_at
    for a in awards:
        if ref is not None and rule_set.half_life_days is not None:
            value *= math.pow(
                2.0,
                -max((a.at - ref).total_seconds(), 0.0) / SECONDS_PER_DAY / rule_set.half_life_days,
            )
        value += a.awarded
        ref = a.at
    score.eng_ref, score.eng_ref_at = value, ref


def _reset_engagement(score: ContactScore) -> None:
    score.eng_ref, score.eng_ref_at, score.recent, score.cap_state, score.last_touch_at = (
        0.0,
        None,
        [],
        {},
        None,
    )


def replay(rule_set: RuleSet, score: ContactScore) -> None:
    """Recompute a contact's engagement state exactly from all its touches."""
    touches = touches_of(score.contact_id)
    _reset_engagement(score)
    awards, state = award(rule_set, touches)
    _carry(rule_set, score, awards)
    score.cap_state = state.to_json()
    score.last_touch_at = max((t.occurred_at for t in touches), default=None)


def set_fit(rule_set: RuleSet, score: ContactScore, profile: dict) -> None:
    hits = fit_hits(rule_set, profile)
    score.fit = float(sum(h.points for h in hits))
    score.grade = rule_set.grade(score.fit)
    score.fit_hits = [[h.rule_id, h.points] for h in hits]


def _finish(rule_set: RuleSet, score: ContactScore, now: datetime) -> None:
    score.version_id = rule_set.version_id
    score.total_at_update = score.fit + score.engagement(rule_set, now)
    score.updated_at = now


def apply_touches(
    rule_set: RuleSet, touches: Iterable, now: datetime | None = None
) -> dict[int, ContactScore]:
    """Score newly stored touches; return the updated score of every contact they belong to.

    Must run inside the transaction that stored the touches: the score rows are locked
    so concurrent ingestion for the same contact is serialised and loses no points.
    """
    now = now or timezone.now()
    by_contact: dict[int, list] = defaultdict(list)
    for touch in touches:
        by_contact[touch.contact_id].append(touch_facts(touch))
    if not by_contact:
        return {}
    scores = _locked_scores(rule_set, by_contact.keys(), now)
    for contact_id, facts in by_contact.items():
        score = scores[contact_id]
        facts.sort(key=lambda t: (t.occurred_at, t.id))
        stale = score.version_id != rule_set.version_id
        out_of_order = (
            score.last_touch_at is not None and facts[0].occurred_at < score.last_touch_at
        )
        if stale or out_of_order:
            replay(rule_set, score)
        else:
            awards, state = award(rule_set, facts, CapState.from_json(score.cap_state))
            _carry(rule_set, score, awards)
            score.cap_state = state.to_json()
            score.last_touch_at = max(
                facts[-1].occurred_at, score.last_touch_at or facts[-1].occurred_at
            )
        _finish(rule_set, score, now)
    _save(scores.values(), changed=ENGAGEMENT_FIELDS)
    return scores


def apply_profiles(
    rule_set: RuleSet, contact_ids: Iterable[int], now: datetime | None = None
) -> dict[int, ContactScore]:
    """Re-evaluate fit for contacts whose profile changed."""
    now = now or timezone.now()
    scores = _locked_scores(rule_set, contact_ids, now, fresh_fit=False)
    profiles = profiles_for(scores.keys())
    for contact_id, score in scores.items():
        if score.version_id != rule_set.version_id and score.pk_exists:
            replay(rule_set, score)
        set_fit(rule_set, score, profiles.get(contact_id, {}))
        _finish(rule_set, score, now)
    _save(scores.values())
    return scores


def _locked_scores(
    rule_set: RuleSet, contact_ids: Iterable[int], now: datetime, fresh_fit: bool = True
) -> dict[int, ContactScore]:
    ids = sorted(set(contact_ids))
    # The stored list of fit rules is only rewritten, never read, here.
    scores = ContactScore.objects.select_for_update().defer("fit_hits").in_bulk(ids)
    for score in scores.values():
        score.pk_exists = True
    missing = [i for i in ids if i not in scores]
    if missing:
        profiles = profiles_for(missing) if fresh_fit else {}
        for contact_id in missing:
            score = ContactScore(
                contact_id=contact_id, version_id=rule_set.version_id, updated_at=now
            )
            score.pk_exists = False
            if fresh_fit:
                set_fit(rule_set, score, profiles.get(contact_id, {}))
            scores[contact_id] = score
    return scores


def _sqlite_datetime(value: datetime | None) -> str | None:
    """What Django's SQLite backend stores for an aware datetime: naive text in its time zone."""
    if value is None:
        return None
    return str(value.astimezone(connection.timezone).replace(tzinfo=None))


def _converters(names: list[str]) -> list:
    """How each field's Python value is sent to this database (as Django would store it)."""
    postgres = connection.vendor == "postgresql"
    out = []
    for name in names:
        field = ContactScore._meta.get_field(name)
        if isinstance(field, models.JSONField):
            out.append(json.dumps)  # sent as text; PostgreSQL casts it (see the SQL)
        elif isinstance(field, models.DateTimeField) and not postgres:
            out.append(_sqlite_datetime)
        else:
            out.append(None)  # numbers, text and (on PostgreSQL) datetimes go as they are
    return out


def _save(scores: Iterable[ContactScore], changed: list[str] = STATE_FIELDS) -> None:
    """Store the states: one INSERT for new rows, one UPDATE of the `changed` fields per old row.

    `bulk_update` builds a CASE expression per field over every row, which costs far more
    than the database's work for a batch of a thousand contacts. A new row still goes
    through a plain INSERT, so a concurrent first score of the same contact fails with an
    integrity error (and the ingestion retries) instead of silently overwriting it.
    """
    scores = list(scores)
    new = [s for s in scores if not s.pk_exists]
    old = [s for s in scores if s.pk_exists]
    quote = connection.ops.quote_name
    table = quote(ContactScore._meta.db_table)
    key = quote("contact_id")
    json_cast = "::jsonb" if connection.vendor == "postgresql" else ""

    def statement_parts(names: list[str]):
        fields = [ContactScore._meta.get_field(name) for name in names]
        columns = [quote(f.column) for f in fields]
        marks = [f"%s{json_cast}" if isinstance(f, models.JSONField) else "%s" for f in fields]
        pairs = list(zip([f.attname for f in fields], _converters(names), strict=True))

        def values(score: ContactScore) -> list:
            row = []
            for attname, convert in pairs:
                value = getattr(score, attname)
                row.append(convert(value) if convert is not None else value)
            return row

        return columns, marks, values

    if connection.vendor == "postgresql":
        _save_postgres(new, old, changed)
        return
    with connection.cursor() as cursor:
        if new:
            columns, marks, values = statement_parts(STATE_FIELDS)
            cursor.executemany(
                f"INSERT INTO {table} ({key}, {', '.join(columns)}) "
                f"VALUES (%s, {', '.join(marks)})",
                [[s.contact_id, *values(s)] for s in new],
            )
            for s in new:
                s.pk_exists = True
        if old:
            columns, marks, values = statement_parts(changed)
            assignments = ", ".join(f"{c} = {m}" for c, m in zip(columns, marks, strict=True))
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {key} = %s",
                [[*values(s), s.contact_id] for s in old],
            )


_PG_TYPES = {
    "ForeignKey": "int8",
    "OneToOneField": "int8",
    "FloatField": "float8",
    "CharField": "text",
    "JSONField": "jsonb",
    "DateTimeField": "timestamptz",
}


def _save_postgres(new: list[ContactScore], old: list[ContactScore], changed: list[str]) -> None:
    """PostgreSQL: the rows travel as one JSON document, one INSERT and one UPDATE per batch.

    A statement per row costs a round of parsing and planning each; `jsonb_to_recordset`
    turns the whole batch into rows on the server (numbers and times cross as exact text).
    """
    quote = connection.ops.quote_name
    table = quote(ContactScore._meta.db_table)

    def document(scores: list[ContactScore], names: list[str]) -> tuple[str, str]:
        fields = [ContactScore._meta.get_field(name) for name in ["contact", *names]]
        rows = []
        for score in scores:
            row = {}
            for f in fields:
                value = getattr(score, f.attname)
                if isinstance(value, datetime):
                    value = value.isoformat()
                elif isinstance(value, int) and f.get_internal_type() == "FloatField":
                    value = float(value)
                row[f.column] = value
            rows.append(row)
        shape = ", ".join(f"{quote(f.column)} {_PG_TYPES[f.get_internal_type()]}" for f in fields)
        return json.dumps(rows), shape

    with connection.cursor() as cursor:
        if new:
            names = [ContactScore._meta.get_field(n).column for n in ["contact", *STATE_FIELDS]]
            columns = ", ".join(quote(c) for c in names)
            payload, shape = document(new, STATE_FIELDS)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} "
                f"FROM jsonb_to_recordset(%s::jsonb) AS v({shape})",
                [payload],
            )
            for s in new:
                s.pk_exists = True
        if old:
            names = [ContactScore._meta.get_field(n).column for n in changed]
            assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in names)
            payload, shape = document(old, changed)
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} "
                f"FROM jsonb_to_recordset(%s::jsonb) AS v({shape}) "
                f"WHERE t.contact_id = v.contact_id",
                [payload],
            )
