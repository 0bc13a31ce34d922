"""Calendar invites for check-ins: one VEVENT, METHOD:REQUEST, in the member's time zone."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar


def stable_uid(key: str, domain: str) -> str:
    """The same UID for the same check-in, so a re-sent invite updates instead of duplicating."""
    return f"{hashlib.sha256(key.encode()).hexdigest()[:24]}@{domain}"


def checkin_invite(
    *,
    uid: str,
    summary: str,
    description: str,
    start: datetime,
    duration: timedelta,
    timezone: str,
    organizer: str,
    attendees: list[str],
    stamp: datetime,
    sequence: int = 0,
) -> str:
    """An iCalendar REQUEST whose times are in `timezone` (with its VTIMEZONE)."""
    zone = ZoneInfo(timezone)
    local_start = start.astimezone(zone) if start.tzinfo else start.replace(tzinfo=zone)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//mentorflow//check-in//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", local_start)
    event.add("dtend", local_start + duration)
    event.add("summary", summary)
    event.add("description", description)
    event.add("sequence", sequence)
    event.add("organizer", f"mailto:{organizer}")
    for attendee in attendees:
        event.add("attendee", f"mailto:{attendee}", parameters={"ROLE": "REQ-PARTICIPANT"})
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical().decode()
