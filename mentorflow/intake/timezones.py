"""Time zone answers (IANA names, `UTC+2`, `+05:30`) to a canonical name and an offset in hours."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, available_timezones

_OFFSET = re.compile(
    r"^(?:(?:UTC|GMT|Z)\s*)?(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?(?:\s*h)?$",
    re.IGNORECASE,
)
# A few answers people type that are not IANA names; kept short on purpose.
_ALIASES = {
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "mez": "Europe/Berlin",
    "mesz": "Europe/Berlin",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "berlin": "Europe/Berlin",
    "deutschland": "Europe/Berlin",
    "germany": "Europe/Berlin",
    "wien": "Europe/Vienna",
    "zürich": "Europe/Zurich",
    "zurich": "Europe/Zurich",
    "london": "Europe/London",
    "ist": "Asia/Kolkata",
}


@dataclass(frozen=True)
class ZoneAnswer:
    """A recognised time zone: canonical text, the tzinfo, and its UTC offset at the cycle start."""

    canonical: str
    tz: tzinfo
    utc_offset: float


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


@lru_cache(maxsize=4096)
def parse_timezone(answer: str, at: datetime) -> ZoneAnswer | None:
    """The zone an answer names, or None; `at` (aware) fixes the offset of zones with DST."""
    text = " ".join(answer.strip().split())
    if not text:
        return None
    offset = _parse_offset(text)
    if offset is not None:
        return _fixed(offset)
    name = _ALIASES.get(text.lower()) or _zones_by_lower_name().get(text.lower().replace(" ", "_"))
    if name is None:
        return None
    zone = ZoneInfo(name)
    delta = at.astimezone(zone).utcoffset() or timedelta(0)
    return ZoneAnswer(name, zone, delta.total_seconds() / 3600)


def _parse_offset(text: str) -> timedelta | None:
    match = _OFFSET.match(text)
    if match is None:
        return None
    hours, minutes = int(match["h"]), int(match["m"] or 0)
    if hours > 14 or minutes >= 60:
        return None
    sign = -1 if match["sign"] in "-−" else 1
    return sign * timedelta(hours=hours, minutes=minutes)


def _fixed(offset: timedelta) -> ZoneAnswer | None:
    if not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        return None
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return ZoneAnswer(f"UTC{sign}{hours:02d}:{minutes:02d}", timezone(offset), total / 60)


def tzinfo_for(canonical: str) -> tzinfo:
    """The tzinfo for a canonical text that `parse_timezone` produced."""
    found = parse_timezone(canonical, datetime(2000, 1, 1, tzinfo=UTC))
    if found is None:
        raise ValueError(f"not a canonical time zone: {canonical!r}")
    return found.tz
