"""Parsing of the loose text users type or export: dates, booleans, money."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime

from django.utils import timezone

_TRUE = {"true", "yes", "y", "1", "si", "sí", "t", "x"}
_FALSE = {"false", "no", "n", "0", "f"}

_DATE_FORMATS = [
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%y",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%y",
    "%d-%m-%Y",
    "%d-%m-%Y %H:%M",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d %b %Y %H:%M",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%B %d, %Y",
]


def parse_bool_text(text: str) -> bool | None:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def parse_date_text(text: str, *, day_first: bool = True) -> datetime | None:
    """Parse a date or date-time in a common format into an aware datetime (UTC when naive).

    ISO 8601 (with offset) is tried first. For ambiguous `03/04/2026`, `day_first`
    decides; an impossible reading (month 13) falls back to the other.
    """
    value = (text or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        formats = _DATE_FORMATS
        if not day_first:
            formats = sorted(formats, key=lambda f: not f.startswith("%m/"))
        for fmt in formats:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        # E-mail style dates (RFC 2822), as some exports and web forms write them.
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def as_aware(value: datetime | date | str | None) -> datetime | None:
    """An aware datetime from text, a date or a datetime (naive ones are UTC); ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parsed = parse_date_text(value)
        if parsed is None:
            raise ValueError("is not a date or date-time")
    elif isinstance(value, datetime):
        parsed = value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        parsed = datetime.combine(value, time.min, tzinfo=UTC)
    else:
        # Numbers, lists… from JSON input are not dates.
        raise ValueError("is not a date or date-time")
    try:
        # Databases store UTC: a moment that has no UTC reading (year 1 at +14:00) is unusable.
        parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of the supported date range") from None
    return parsed


def parse_money(text: str | float | int | Decimal | None) -> Decimal | None:
    if text is None:
        return None
    if isinstance(text, Decimal):
        return text
    if isinstance(text, int | float):
        return Decimal(str(text))
    value = text.strip().replace(" ", "")
    for symbol in ("$", "€", "£", "R$"):
        value = value.replace(symbol, "")
    if not value:
        return None
    if "," in value and "." in value:
        # 1,234.56 or 1.234,56: the later separator is the decimal one.
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        head, _, tail = value.rpartition(",")
        value = value.replace(",", "") if len(tail) == 3 and head else value.replace(",", ".")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError("is not an amount") from None
    if not number.is_finite():
        raise ValueError("is not a finite amount")
    return number
