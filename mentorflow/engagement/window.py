"""Send windows in each member's own time zone: when a mail that fell due may go out."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from mentorflow.spec.model import Engagement


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo:
    """The member's zone; UTC when none was given or it is unknown (erased members have none)."""
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def release_at(day: date, tz: ZoneInfo, rules: Engagement) -> datetime:
    """The first moment (UTC) on `day` or later, on a day that is not quiet, when the window opens.

    The window start is local wall-clock time: 09:00 stays 09:00 across a daylight-saving change
    (a start inside a spring-forward gap resolves to the first valid moment after it).
    """
    for _ in range(7):
        if day.weekday() not in rules.quiet_days:
            break
        day += timedelta(days=1)
    local = datetime.combine(day, time(rules.send_window.from_hour), tzinfo=tz)
    return local.astimezone(UTC)


def in_window(moment: datetime, tz: ZoneInfo, rules: Engagement) -> bool:
    """Whether `moment` lies inside the member's local send window on a day that is not quiet."""
    local = moment.astimezone(tz)
    window = rules.send_window
    return local.weekday() not in rules.quiet_days and window.from_hour <= local.hour < (
        window.to_hour
    )
