"""XML Schema ``xs:dateTime`` and ``xs:duration`` read strictly (XSD 1.0 part 2, 3.2.7 and 3.2.6).

Only the canonical-safe lexical space is accepted: no surrounding whitespace (the schema would collapse it, but
a SPEKE v2.1 answer echoes the value exactly as sent, and a value that needs collapsing cannot be compared by
the encryptor), ASCII digits only. Values are read into plain Python numbers for the ordering checks of
CPIX 2.4 key periods; the text itself is never rewritten.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

_DATETIME = re.compile(
    r"(?P<year>-?[0-9]{4,})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?P<fraction>\.[0-9]+)?"
    r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})?",
    re.ASCII,
)
_DURATION = re.compile(
    r"(?P<sign>-)?P(?=[0-9T])(?:(?P<years>[0-9]+)Y)?(?:(?P<months>[0-9]+)M)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+(?:\.[0-9]+)?)S)?)?",
    re.ASCII,
)
_MAX_DIGITS = 18  # no component longer than this: bounded arithmetic whatever the request carries


class LexicalError(ValueError):
    """The text is not in the type's lexical space (the message says which type)."""


@dataclass(frozen=True, slots=True)
class DateTime:
    """An ``xs:dateTime``: ``value`` is timezone-aware when the text has a timezone, naive otherwise."""

    value: dt.datetime
    fraction: Decimal  # the fractional seconds (0 <= fraction < 1), kept apart: datetime has microseconds only

    @property
    def has_timezone(self) -> bool:
        return self.value.tzinfo is not None

    def utc_seconds_text(self) -> str:
        """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, fractional seconds dropped (needs a timezone)."""
        if self.value.tzinfo is None:
            raise ValueError("no timezone")
        return self.value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def sort_key(self) -> tuple[dt.datetime, Decimal]:
        """For ordering two values that both have, or both lack, a timezone."""
        value = self.value.astimezone(dt.UTC) if self.value.tzinfo else self.value
        return value.replace(tzinfo=None), self.fraction


@dataclass(frozen=True, slots=True)
class Duration:
    """An ``xs:duration`` as (months, seconds): the two parts XSD orders independently."""

    months: int
    seconds: Decimal
    negative: bool

    @property
    def positive(self) -> bool:
        return not self.negative and (self.months > 0 or self.seconds > 0)


def parse_datetime(text: str) -> DateTime:
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise LexicalError("xs:dateTime expected (YYYY-MM-DDThh:mm:ss[.s][Z|(+|-)hh:mm])")
    if len(match["year"]) != 4 or (match["fraction"] and len(match["fraction"]) > _MAX_DIGITS):
        raise LexicalError("xs:dateTime outside 0001..9999, or fractional seconds too long")
    year = int(match["year"])
    if not 1 <= year <= 9999:
        raise LexicalError("xs:dateTime year outside 0001..9999")
    month, day = int(match["month"]), int(match["day"])
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    fraction = Decimal("0" + match["fraction"]) if match["fraction"] else Decimal(0)
    end_of_day = hour == 24
    if end_of_day and (minute or second or fraction):
        raise LexicalError("xs:dateTime 24:00:00 is the only time with hour 24")
    tz = _timezone(match["tz"])
    try:
        value = dt.datetime(year, month, day, 0 if end_of_day else hour, minute, second, tzinfo=tz)
    except ValueError:
        raise LexicalError("xs:dateTime names a date or time that does not exist") from None
    if end_of_day:
        try:
            value += dt.timedelta(days=1)
        except OverflowError:
            raise LexicalError("xs:dateTime outside 0001..9999") from None
    return DateTime(value=value, fraction=fraction)


def _timezone(text: str | None) -> dt.timezone | None:
    if text is None:
        return None
    if text == "Z":
        return dt.UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes > 59 or hours > 14 or (hours == 14 and minutes):
        raise LexicalError("xs:dateTime timezone outside -14:00..+14:00")
    offset = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-offset if text[0] == "-" else offset)


def parse_duration(text: str) -> Duration:
    match = _DURATION.fullmatch(text)
    if match is None or text.endswith("T"):
        raise LexicalError("xs:duration expected (PnYnMnDTnHnMnS)")
    parts = {name: match[name] for name in ("years", "months", "days", "hours", "minutes", "seconds")}
    if any(value is not None and len(value) > _MAX_DIGITS for value in parts.values()):
        raise LexicalError("xs:duration component too long")
    number = {name: Decimal(value) if value else Decimal(0) for name, value in parts.items()}
    months = int(number["years"]) * 12 + int(number["months"])
    seconds = ((number["days"] * 24 + number["hours"]) * 60 + number["minutes"]) * 60 + number["seconds"]
    return Duration(months=months, seconds=seconds, negative=match["sign"] is not None)


def duration_less(a: Duration, b: Duration) -> bool:
    """``a < b`` when XSD's partial order says so for sure; ``False`` when it is not (or cannot be) decided."""
    if a.negative or b.negative:
        raise ValueError("negative durations are not ordered here")
    return a.months <= b.months and a.seconds <= b.seconds and (a.months, a.seconds) != (b.months, b.seconds)
