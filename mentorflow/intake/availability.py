"""Weekly availability slots (`Mo 18-20`, `Tue 09:00-11:00`) to canonical text and UTC hour-bits.

A week has 168 hours; hour `h` of the week in UTC is bit `h` (Monday 00:00 UTC is 0). A slot sets
the hours it covers completely, so `Mo 18:30-20:00` sets only 19:00-20:00. Slots are taken in the
member's time zone as it is in the week the cycle starts (a later DST change moves them an hour).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cached_property, lru_cache

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAYS = {
    **{name.lower(): i for i, name in enumerate(DAY_NAMES)},
    **dict.fromkeys(("mo", "montag", "monday"), 0),
    **dict.fromkeys(("di", "die", "dienstag", "tu", "tues", "tuesday"), 1),
    **dict.fromkeys(("mi", "mittwoch", "we", "wednesday"), 2),
    **dict.fromkeys(("do", "don", "donnerstag", "th", "thur", "thurs", "thursday"), 3),
    **dict.fromkeys(("fr", "frei", "freitag", "friday"), 4),
    **dict.fromkeys(("sa", "sam", "samstag", "sonnabend", "saturday"), 5),
    **dict.fromkeys(("so", "son", "sonntag", "su", "sunday"), 6),
}
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?"
_SLOT = re.compile(
    rf"^(?P<d1>[^\W\d_]+)\.?(?:\s*[-–]\s*(?P<d2>[^\W\d_]+)\.?)?,?\s+"
    rf"{_TIME}\s*(?:uhr|h)?\s*[-–]\s*{_TIME}\s*(?:uhr|h)?$",
    re.IGNORECASE,
)
WEEK_MINUTES = 7 * 24 * 60


class SlotError(ValueError):
    """An availability answer that is not a weekly slot; the message says why (no personal data)."""


@dataclass(frozen=True)
class Slot:
    """One weekly slot in local time: day 0-6 (Monday 0), minutes since midnight, end > start."""

    day: int
    start: int
    end: int  # may exceed 24:00 when the slot runs past midnight

    @cached_property
    def canonical(self) -> str:
        return f"{DAY_NAMES[self.day]} {_hhmm(self.start)}-{_hhmm(self.end % 1440)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@lru_cache(maxsize=4096)
def parse_slots(answer: str) -> tuple[Slot, ...]:
    """All slots one answer names (`Mo-Fr 18-20` gives five); raises SlotError when it is none."""
    match = _SLOT.match(" ".join(answer.strip().split()))
    if match is None:
        raise SlotError("not a weekly slot like 'Mo 18-20' or 'Tue 09:00-11:00'")
    first, last = _day(match["d1"]), _day(match["d2"] or match["d1"])
    start = _minutes(match[3], match[4])
    end = _minutes(match[5], match[6])
    if end <= start:
        end += 1440  # runs past midnight: `Fr 22-01`
    if end - start > 1440:
        raise SlotError("a slot cannot be longer than a day")
    days = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
    return tuple(Slot(day, start, end) for day in days)


def _day(text: str) -> int:
    key = text.lower().rstrip(".")
    if key not in _DAYS:
        raise SlotError("unknown day name (use Mo Di Mi Do Fr Sa So or Mon Tue Wed ...)")
    return _DAYS[key]


def _minutes(hours: str, minutes: str | None) -> int:
    h, m = int(hours), int(minutes or 0)
    if h > 24 or m >= 60 or (h == 24 and m):
        raise SlotError("not a time of day")
    return h * 60 + m


@lru_cache(maxsize=8192)
def utc_hours(slots: tuple[Slot, ...], tz: tzinfo, week_of: date) -> list[int]:
    """Hours of the week (0-167, UTC) that the slots cover completely, sorted (do not mutate)."""
    monday = week_of - timedelta(days=week_of.weekday())
    hours: set[int] = set()
    for slot in slots:
        start = _utc_minute_of_week(monday, slot.day, slot.start, tz)
        first = -(-start // 60)  # ceil: only whole hours count
        last = (start + slot.end - slot.start) // 60
        hours.update(h % 168 for h in range(first, last))
    return sorted(hours)


def _utc_minute_of_week(monday: date, day: int, minute: int, tz: tzinfo) -> int:
    local = datetime.combine(monday + timedelta(days=day), time(0), tzinfo=tz)
    local += timedelta(minutes=minute)
    offset = local.utcoffset() or timedelta(0)
    return (day * 1440 + minute - int(offset.total_seconds()) // 60) % WEEK_MINUTES


def hours_to_bits(hours: list[int]) -> int:
    """The 168-bit mask matching uses: bit `h` set when UTC hour-of-week `h` is available."""
    bits = 0
    for hour in hours:
        bits |= 1 << hour
    return bits
