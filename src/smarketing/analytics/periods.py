"""Periods, segments and breakdowns: the typed inputs every report runner shares.

A `Period` is a half-open span of local dates `[start, end)` in one time zone; its
`start_at`/`end_at` are the matching aware instants, so "2026-10" in Europe/Madrid starts
at 2026-09-30 22:00 UTC. Text forms: "2026-10" (month), "2026-Q3" (quarter), "2026-W41"
(ISO week), "2026" (year), "2026-10-05" (day), "2026-10-01..2026-10-31" (inclusive
range), "last-30-days" (the 30 days ending today, today included).

A `Segment` narrows the contacts a report reads (source, campaign, owner, team, country,
fit grade, custom properties) and yields a `Q` on `crm.Contact`, or on any model that
reaches a contact through a prefix (`Segment.q("contact__")`).

A `Breakdown` names the contact attribute a report groups by and resolves the labels of
its values (campaign names, owner names, team names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from django.db.models import F, Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.translation import gettext as _

from smarketing.core.errors import FieldProblem, ValidationFailed
from smarketing.crm.choices import Channel

PeriodKind = Literal["day", "week", "month", "quarter", "year", "range", "last_days"]
Grain = Literal["week", "month"]

MAX_PERIOD_DAYS = 3660
MAX_LAST_DAYS = 3660

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_WEEK = re.compile(r"^(\d{4})-[Ww](\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_LAST = re.compile(r"^last-(\d+)-days?$")

PERIOD_HELP = (
    '2026-10, 2026-Q3, 2026-W41, 2026, 2026-10-05, 2026-10-01..2026-10-31 or "last-30-days"'
)


def _zone(name: str, path: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationFailed(
            _("Unknown time zone."),
            [FieldProblem(path, _("%(tz)s is not a known time zone.") % {"tz": name}, name)],
        ) from None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _bad_period(text: str, path: str, message: str | None = None) -> ValidationFailed:
    return ValidationFailed(
        _("The period is not valid."),
        [
            FieldProblem(
                path,
                message
                or _("%(text)s is not a period; use %(forms)s.")
                % {"text": text or '""', "forms": PERIOD_HELP},
                text,
            )
        ],
    )


@dataclass(frozen=True)
class Period:
    """A half-open span of local dates `[start, end)` in the time zone `tz`."""

    start: date
    end: date
    kind: PeriodKind = "range"
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValidationFailed(
                _("The period is not valid."),
                [FieldProblem("period", _("The period ends before it starts."), str(self))],
            )
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise ValidationFailed(
                _("The period is not valid."),
                [
                    FieldProblem(
                        "period",
                        _("A period spans at most %(days)d days.") % {"days": MAX_PERIOD_DAYS},
                        str(self),
                    )
                ],
            )
        _zone(self.tz, "tz")

    # ---- parsing -------------------------------------------------------------------
    @classmethod
    def parse(
        cls,
        text: str,
        *,
        tz: str = "UTC",
        today: date | None = None,
        path: str = "period",
    ) -> Period:
        """Read a period from its text form; raise ValidationFailed naming `path` if it isn't one."""
        zone = _zone(tz, "tz")
        raw = (text or "").strip()
        try:
            if m := _MONTH.match(raw):
                start = date(int(m[1]), int(m[2]), 1)
                return cls(start, _add_months(start, 1), "month", tz)
            if m := _QUARTER.match(raw):
                start = date(int(m[1]), (int(m[2]) - 1) * 3 + 1, 1)
                return cls(start, _add_months(start, 3), "quarter", tz)
            if m := _WEEK.match(raw):
                start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
                return cls(start, start + timedelta(days=7), "week", tz)
            if m := _YEAR.match(raw):
                return cls(date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1), "year", tz)
            if _DAY.match(raw):
                start = date.fromisoformat(raw)
                return cls(start, start + timedelta(days=1), "day", tz)
            if ".." in raw:
                first, _sep, last = raw.partition("..")
                start, stop = date.fromisoformat(first.strip()), date.fromisoformat(last.strip())
                if stop < start:
                    raise _bad_period(
                        raw, path, _("The range %(text)s ends before it starts.") % {"text": raw}
                    )
                return cls(start, stop + timedelta(days=1), "range", tz)
            if m := _LAST.match(raw.lower()):
                days = int(m[1])
                if not 1 <= days <= MAX_LAST_DAYS:
                    raise _bad_period(
                        raw,
                        path,
                        _("The number of days must be between 1 and %(max)d.")
                        % {"max": MAX_LAST_DAYS},
                    )
                local_today = today or timezone.now().astimezone(zone).date()
                end = local_today + timedelta(days=1)
                return cls(end - timedelta(days=days), end, "last_days", tz)
        except ValidationFailed as error:
            if error.problems and error.problems[0].field == "period" and path != "period":
                raise ValidationFailed(
                    error.message, [replace(p, field=path) for p in error.problems]
                ) from None
            raise
        except ValueError:
            raise _bad_period(raw, path) from None
        raise _bad_period(raw, path)

    @classmethod
    def containing(cls, moment: date | datetime, kind: Grain | Literal["quarter"], tz: str = "UTC"):
        """The month, ISO week or quarter that holds a date (or an instant, read in `tz`)."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(_zone(tz, "tz")).date()
        if kind == "month":
            start = moment.replace(day=1)
            return cls(start, _add_months(start, 1), "month", tz)
        if kind == "quarter":
            start = date(moment.year, (moment.month - 1) // 3 * 3 + 1, 1)
            return cls(start, _add_months(start, 3), "quarter", tz)
        start = moment - timedelta(days=moment.weekday())
        return cls(start, start + timedelta(days=7), "week", tz)

    # ---- naming --------------------------------------------------------------------
    def __str__(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "week":
            year, week, _day = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "day":
            return self.start.isoformat()
        return f"{self.start.isoformat()}..{(self.end - timedelta(days=1)).isoformat()}"

    @property
    def label(self) -> str:
        return str(self)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    # ---- instants ------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def start_at(self) -> datetime:
        """The first instant of the period (aware, in UTC)."""
        return datetime.combine(self.start, time.min, self.zone).astimezone(UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (aware, in UTC)."""
        return datetime.combine(self.end, time.min, self.zone).astimezone(UTC)

    def contains(self, moment: datetime) -> bool:
        return self.start_at <= moment < self.end_at

    def q(self, field_name: str) -> Q:
        """`field_name` falls inside the period: `start_at <= field < end_at`."""
        return Q(**{f"{field_name}__gte": self.start_at, f"{field_name}__lt": self.end_at})

    # ---- comparisons ---------------------------------------------------------------
    def shifted(self, steps: int) -> Period:
        """The period `steps` periods later (negative: earlier), of the same kind and length."""
        if self.kind in ("month", "quarter", "year"):
            months = {"month": 1, "quarter": 3, "year": 12}[self.kind] * steps
            return replace(
                self, start=_add_months(self.start, months), end=_add_months(self.end, months)
            )
        span = timedelta(days=self.days * steps)
        kind: PeriodKind = self.kind if self.kind in ("day", "week") else "range"
        return replace(self, start=self.start + span, end=self.end + span, kind=kind)

    def previous(self, count: int = 1) -> list[Period]:
        """The `count` periods just before this one, oldest first."""
        if count < 0:
            raise ValidationFailed(
                _("The comparison is not valid."),
                [FieldProblem("previous", _("The number of periods cannot be negative."), count)],
            )
        return [self.shifted(-step) for step in range(count, 0, -1)]

    def same_period_last_year(self) -> Period:
        if self.kind == "week":
            year, week, _day = self.start.isocalendar()
            try:
                start = date.fromisocalendar(year - 1, week, 1)
            except ValueError:
                start = date.fromisocalendar(year - 1, 52, 1)
            return replace(self, start=start, end=start + timedelta(days=7))
        if self.kind in ("month", "quarter", "year"):
            return self.shifted(-{"month": 12, "quarter": 4, "year": 1}[self.kind])
        try:
            start = self.start.replace(year=self.start.year - 1)
        except ValueError:  # 29 February
            start = self.start.replace(year=self.start.year - 1, day=28)
        return replace(self, start=start, end=start + timedelta(days=self.days))

    # ---- buckets -------------------------------------------------------------------
    def buckets(self, grain: Grain) -> list[Period]:
        """The months or ISO weeks that overlap the period, in order (edges may stick out)."""
        if grain not in ("month", "week"):
            raise ValidationFailed(
                _("The grain is not valid."),
                [FieldProblem("grain", _("Use month or week."), grain)],
            )
        first = Period.containing(self.start, grain, self.tz)
        out = [first]
        while out[-1].end < self.end:
            out.append(out[-1].shifted(1))
        return out

    def bucket_edges(self, grain: Grain) -> np.ndarray:
        """The buckets' edges as UTC datetime64[us] (len(buckets) + 1), for `np.searchsorted`."""
        buckets = self.buckets(grain)
        edges = [b.start_at for b in buckets] + [buckets[-1].end_at]
        return np.array([e.replace(tzinfo=None) for e in edges], dtype="datetime64[us]")

    def bucket_index(self, grain: Grain, instants: np.ndarray) -> np.ndarray:
        """For UTC datetime64[us] instants: the index of the bucket each falls in, -1 outside."""
        edges = self.bucket_edges(grain)
        index = np.searchsorted(edges, instants, side="right") - 1
        index[(index < 0) | (index >= len(edges) - 1)] = -1
        return index


def to_utc64(values: Iterable[datetime | None]) -> np.ndarray:
    """Aware datetimes (None allowed) as naive UTC datetime64[us]; None becomes NaT."""
    return np.array(
        [v.astimezone(UTC).replace(tzinfo=None) if v is not None else None for v in values],
        dtype="datetime64[us]",
    )


# ---- segments --------------------------------------------------------------------------

SEGMENT_KEYS = (
    "original_source",
    "campaign",
    "owner",
    "team",
    "country",
    "fit_grade",
)
FIT_GRADES = ("A", "B", "C", "D")
_PROPERTY_KEY = re.compile(r"^(?!.*__)[A-Za-z0-9_][A-Za-z0-9_\-]{0,63}$")
NONE_VALUE = "none"


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _ids(values: Sequence[str], path: str, problems: list[FieldProblem]) -> tuple[int | None, ...]:
    out: list[int | None] = []
    for value in values:
        text = str(value).strip()
        if text.lower() == NONE_VALUE:
            out.append(None)
            continue
        if not text.isdigit() or int(text) <= 0:
            problems.append(FieldProblem(path, _("%(v)s is not an id.") % {"v": text}, value))
            continue
        out.append(int(text))
    return tuple(out)


def _in_or_null(path: str, values: Sequence[object], null_like: object = None) -> Q:
    """`path IN values`, with None meaning "not set" (NULL, or blank for text fields)."""
    present = [v for v in values if v is not None]
    q = Q(**{f"{path}__in": present}) if present else Q(pk__in=[])
    if len(present) < len(values):
        q |= Q(**{f"{path}__isnull": True})
        if null_like is not None:
            q |= Q(**{path: null_like})
    return q


def _property_values(raw: str) -> list[object]:
    """A property filter's text matches the stored text and, when it reads as one, the number/bool."""
    values: list[object] = [raw]
    lowered = raw.lower()
    if lowered in ("true", "false"):
        values.append(lowered == "true")
    else:
        try:
            number = float(raw)
        except ValueError:
            number = None
        if number is not None and np.isfinite(number):
            values.append(int(number) if number.is_integer() else number)
    return values


@dataclass(frozen=True)
class Segment:
    """Filters on contacts; empty fields don't filter. Values inside one field are OR-ed."""

    original_source: tuple[str, ...] = ()
    campaign: tuple[int | None, ...] = ()
    owner: tuple[int | None, ...] = ()
    team: tuple[int | None, ...] = ()
    country: tuple[str, ...] = ()
    fit_grade: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.original_source,
                self.campaign,
                self.owner,
                self.team,
                self.country,
                self.fit_grade,
                self.properties,
            )
        )

    # ---- parsing -------------------------------------------------------------------
    @classmethod
    def from_params(cls, params: Mapping[str, object], *, prefix: str = "segment") -> Segment:
        """Read filters from a mapping of key → value or list of values (a QueryDict works).

        Keys: original_source, campaign, owner, team, country, fit_grade and
        `properties.<key>` (or `property:<key>`). "none" selects contacts without a value.
        Comma-separated values are OR-ed.
        """
        problems: list[FieldProblem] = []
        values: dict[str, list[str]] = {}
        properties: list[tuple[str, str]] = []

        def listed(key: str) -> list[str]:
            getlist = getattr(params, "getlist", None)
            raw = getlist(key) if getlist else params.get(key)
            if raw is None:
                return []
            if isinstance(raw, str | int):
                raw = [raw]
            out: list[str] = []
            for item in raw:  # type: ignore[union-attr]
                out.extend(part.strip() for part in str(item).split(",") if part.strip())
            return out

        for key in params:
            path = _path(prefix, key)
            if key in SEGMENT_KEYS:
                values[key] = listed(key)
            elif key.startswith(("properties.", "property:")):
                name = key.split(".", 1)[1] if key.startswith("properties.") else key[9:]
                if not _PROPERTY_KEY.match(name):
                    problems.append(
                        FieldProblem(
                            path,
                            _("%(name)s is not a property name.") % {"name": name or '""'},
                            key,
                        )
                    )
                    continue
                properties.extend((name, v) for v in listed(key))
            else:
                problems.append(
                    FieldProblem(
                        path,
                        _("Unknown filter %(key)s; use %(keys)s or properties.<name>.")
                        % {"key": key, "keys": ", ".join(SEGMENT_KEYS)},
                        key,
                    )
                )
        segment = cls(
            original_source=tuple(
                "" if v.lower() == NONE_VALUE else v for v in values.get("original_source", [])
            ),
            campaign=_ids(values.get("campaign", []), _path(prefix, "campaign"), problems),
            owner=_ids(values.get("owner", []), _path(prefix, "owner"), problems),
            team=_ids(values.get("team", []), _path(prefix, "team"), problems),
            country=tuple("" if v.lower() == NONE_VALUE else v for v in values.get("country", [])),
            fit_grade=tuple(v.upper() for v in values.get("fit_grade", [])),
            properties=tuple(properties),
        )
        problems.extend(segment.problems(prefix))
        if problems:
            raise ValidationFailed(_("The segment is not valid."), problems)
        return segment

    @classmethod
    def parse(cls, text: str, *, prefix: str = "segment") -> Segment:
        """Read "original_source=social;campaign=3,4;properties.plan=pro" (`;` or `&` between)."""
        params: dict[str, list[str]] = {}
        for part in re.split(r"[;&]", text or ""):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise ValidationFailed(
                    _("The segment is not valid."),
                    [FieldProblem(prefix, _("%(part)s is not key=value.") % {"part": part}, part)],
                )
            params.setdefault(key.strip(), []).append(value.strip())
        return cls.from_params(params, prefix=prefix)

    def problems(self, prefix: str = "segment") -> list[FieldProblem]:
        """What is wrong with the values themselves (no database look-ups)."""
        problems: list[FieldProblem] = []
        channels = set(Channel.values) | {""}
        for value in self.original_source:
            if value not in channels:
                problems.append(
                    FieldProblem(
                        _path(prefix, "original_source"),
                        _("%(v)s is not a channel; use one of %(channels)s or none.")
                        % {"v": value, "channels": ", ".join(Channel.values)},
                        value,
                    )
                )
        for value in self.country:
            if len(value) > 64 or not value.isprintable():
                problems.append(
                    FieldProblem(
                        _path(prefix, "country"),
                        _("A country is at most 64 printable characters."),
                        value,
                    )
                )
        for key, value in self.properties:
            if len(value) > 500 or not value.isprintable():
                problems.append(
                    FieldProblem(
                        _path(prefix, f"properties.{key}"),
                        _("A property value is at most 500 printable characters."),
                        value,
                    )
                )
        for value in self.fit_grade:
            if value not in FIT_GRADES:
                problems.append(
                    FieldProblem(
                        _path(prefix, "fit_grade"),
                        _("%(v)s is not a fit grade; use A, B, C or D.") % {"v": value},
                        value,
                    )
                )
        return problems

    @classmethod
    def of(cls, value: Segment | Mapping[str, object] | str | None) -> Segment:
        """A segment from what a caller passed (a Segment, filters, or the text form), its
        campaign, owner and team ids checked to exist."""
        if isinstance(value, Segment):
            segment = value
        elif isinstance(value, Mapping):
            segment = cls.from_params(value)
        elif value:
            segment = cls.parse(value)
        else:
            segment = cls()
        segment.check_exists()
        return segment

    def check_exists(self, prefix: str = "segment") -> None:
        """Raise ValidationFailed naming every campaign, owner or team id that doesn't exist."""
        from django.contrib.auth import get_user_model

        from smarketing.crm.models import Campaign
        from smarketing.handoff.models import Team

        problems: list[FieldProblem] = []
        for key, model in (
            ("campaign", Campaign),
            ("owner", get_user_model()),
            ("team", Team),
        ):
            wanted = {i for i in getattr(self, key) if i is not None}
            if not wanted:
                continue
            found = set(model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
            for missing in sorted(wanted - found):
                problems.append(
                    FieldProblem(
                        _path(prefix, key),
                        _("There is no %(what)s with id %(id)d.") % {"what": key, "id": missing},
                        missing,
                    )
                )
        if problems:
            raise ValidationFailed(_("The segment is not valid."), problems)

    # ---- filtering -----------------------------------------------------------------
    def q(self, prefix: str = "") -> Q:
        """The filter on contacts, or on a model that reaches one through `prefix` ("contact__")."""
        q = Q()
        if self.original_source:
            q &= Q(**{f"{prefix}original_source__in": list(self.original_source)})
        if self.campaign:
            q &= _in_or_null(f"{prefix}first_campaign_id", self.campaign)
        if self.owner:
            q &= _in_or_null(f"{prefix}owner_id", self.owner)
        if self.team:
            q &= _in_or_null(f"{prefix}owner__rep_profile__team_id", self.team)
        if self.country:
            q &= Q(**{f"{prefix}country__in": list(self.country)})
        if self.fit_grade:
            q &= Q(**{f"{prefix}score__grade__in": list(self.fit_grade)})
        by_key: dict[str, list[str]] = {}
        for key, value in self.properties:
            by_key.setdefault(key, []).append(value)
        for key, raw_values in by_key.items():
            any_of = Q()
            # The lookup is spelled out, so a key named like one ("in", "contains") stays a key.
            path = f"{prefix}properties__{key}"
            for raw in raw_values:
                if raw.lower() == NONE_VALUE:
                    any_of |= Q(**{f"{path}__isnull": True})
                    continue
                for value in _property_values(raw):
                    any_of |= Q(**{f"{path}__exact": value})
            q &= any_of
        return q

    def apply(self, queryset, prefix: str = ""):
        """`queryset` narrowed to the segment (distinct is never needed: every join is to-one)."""
        return queryset if self.is_empty else queryset.filter(self.q(prefix))

    def to_params(self) -> dict[str, str]:
        """The segment as query-string parameters (the inverse of `from_params`)."""
        out: dict[str, str] = {}
        for key in SEGMENT_KEYS:
            values = getattr(self, key)
            if values:
                out[key] = ",".join(NONE_VALUE if v is None or v == "" else str(v) for v in values)
        for key, value in self.properties:
            name = f"properties.{key}"
            out[name] = f"{out[name]},{value}" if name in out else value
        return out

    def __str__(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.to_params().items()) or _("all contacts")


# ---- breakdowns -----------------------------------------------------------------------

BREAKDOWN_KEYS = ("original_source", "campaign", "owner", "team", "country", "fit_grade")
BREAKDOWN_HELP = "original_source, campaign, owner, team, country, fit_grade or property:KEY"


@dataclass(frozen=True)
class Breakdown:
    """One contact attribute to group a report by: a key in BREAKDOWN_KEYS or `property:<name>`."""

    key: str
    property_name: str = ""

    @classmethod
    def parse(cls, text: str | None, *, path: str = "by") -> Breakdown | None:
        raw = (text or "").strip()
        if not raw or raw == "none":
            return None
        if raw in BREAKDOWN_KEYS:
            return cls(raw)
        for lead in ("property:", "properties."):
            if raw.startswith(lead):
                name = raw[len(lead) :]
                if _PROPERTY_KEY.match(name):
                    return cls("property", name)
        raise ValidationFailed(
            _("The breakdown is not valid."),
            [
                FieldProblem(
                    path,
                    _("%(text)s is not a breakdown; use %(keys)s.")
                    % {"text": raw, "keys": BREAKDOWN_HELP},
                    raw,
                )
            ],
        )

    def __str__(self) -> str:
        return f"property:{self.property_name}" if self.key == "property" else self.key

    @property
    def title(self) -> str:
        titles = {
            "original_source": _("Original source"),
            "campaign": _("Campaign"),
            "owner": _("Owner"),
            "team": _("Team"),
            "country": _("Country"),
            "fit_grade": _("Fit grade"),
        }
        return titles.get(self.key) or self.property_name

    def expression(self, prefix: str = ""):
        """The grouped value as an expression to annotate (custom properties by JSON key)."""
        if self.key == "property":
            return KeyTransform(self.property_name, f"{prefix}properties")
        return F(self.path(prefix))

    def path(self, prefix: str = "") -> str:
        """The ORM path of the grouped value, from a contact (or through `prefix`)."""
        paths = {
            "original_source": "original_source",
            "campaign": "first_campaign_id",
            "owner": "owner_id",
            "team": "owner__rep_profile__team_id",
            "country": "country",
            "fit_grade": "score__grade",
            "property": f"properties__{self.property_name}",
        }
        return prefix + paths[self.key]

    def normalise(self, values: Sequence[object]) -> list[str]:
        """Grouping keys as text; unset (None or blank) becomes "" so both databases agree."""
        out: list[str] = []
        for value in values:
            if value is None or value == "":
                out.append("")
            elif isinstance(value, bool):
                out.append("true" if value else "false")
            elif isinstance(value, float) and value.is_integer():
                out.append(str(int(value)))
            else:
                out.append(str(value))
        return out

    def labels(self, keys: Iterable[str]) -> dict[str, str]:
        """A readable label per grouping key (campaign/owner/team names looked up in one query)."""
        keys = list(keys)
        named: dict[str, str] = {}
        ids = [int(k) for k in keys if k.isdigit()]
        if self.key == "campaign" and ids:
            from smarketing.crm.models import Campaign

            named = {
                str(pk): name
                for pk, name in Campaign.objects.filter(pk__in=ids).values_list("pk", "name")
            }
        elif self.key == "team" and ids:
            from smarketing.handoff.models import Team

            named = {
                str(pk): name
                for pk, name in Team.objects.filter(pk__in=ids).values_list("pk", "name")
            }
        elif self.key == "owner" and ids:
            from django.contrib.auth import get_user_model

            rows = get_user_model().objects.filter(pk__in=ids)
            named = {
                str(pk): (f"{first} {last}".strip() or email)
                for pk, first, last, email in rows.values_list(
                    "pk", "first_name", "last_name", "email"
                )
            }
        elif self.key == "original_source":
            named = {str(value): str(label) for value, label in Channel.choices}
        return {k: named.get(k, k) if k else _("(none)") for k in keys}


# ---- one report's scope ---------------------------------------------------------------

# Query-string keys that are not segment filters (read by the surfaces, not by `Segment`).
SURFACE_KEYS = frozenset({"format", "csrfmiddlewaretoken", "page", "page_size", "limit"})


@dataclass(frozen=True)
class Scope:
    """What a report covers: a period, a segment, an optional breakdown and a view."""

    period: Period
    segment: Segment = Segment()
    by: Breakdown | None = None
    view: str = ""

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, object],
        *,
        views: Sequence[str] = (),
        default_period: str = "last-30-days",
        today: date | None = None,
        extra_keys: Iterable[str] = (),
    ) -> Scope:
        """Read `period`, `tz`, `view`, `by` and the segment filters; every problem at once.

        Keys in `extra_keys` (a report's own options) and SURFACE_KEYS are left alone.
        """

        def one(key: str, default: str = "") -> str:
            getlist = getattr(params, "getlist", None)
            raw = getlist(key) if getlist else params.get(key)
            if isinstance(raw, list | tuple):
                raw = raw[-1] if raw else None
            return default if raw in (None, "") else str(raw).strip()

        problems: list[FieldProblem] = []
        period = by = None
        tz = one("tz", "UTC")
        try:
            period = Period.parse(one("period", default_period), tz=tz, today=today)
        except ValidationFailed as error:
            problems.extend(error.problems)
        try:
            by = Breakdown.parse(one("by"))
        except ValidationFailed as error:
            problems.extend(error.problems)
        view = one("view", views[0] if views else "")
        if views and view not in views:
            problems.append(
                FieldProblem(
                    "view",
                    _("%(view)s is not a view; use %(views)s.")
                    % {"view": view, "views": ", ".join(views)},
                    view,
                )
            )
        reserved = {"period", "tz", "view", "by", *SURFACE_KEYS, *extra_keys}
        filters = {k: _all(params, k) for k in params if k not in reserved}
        segment = Segment()
        try:
            segment = Segment.from_params(filters, prefix="")
        except ValidationFailed as error:
            problems.extend(error.problems)
        if problems:
            raise ValidationFailed(_("The report's filters are not valid."), problems)
        assert period is not None
        return cls(period=period, segment=segment, by=by, view=view)

    def to_params(self) -> dict[str, str]:
        out = {"period": str(self.period)}
        if self.period.tz != "UTC":
            out["tz"] = self.period.tz
        if self.view:
            out["view"] = self.view
        if self.by:
            out["by"] = str(self.by)
        out.update(self.segment.to_params())
        return out


def _all(params: Mapping[str, object], key: str) -> list[str]:
    getlist = getattr(params, "getlist", None)
    raw = getlist(key) if getlist else params.get(key)
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return [str(v) for v in raw]
    return [str(raw)]
