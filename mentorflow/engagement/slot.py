"""A concrete first-meeting slot inside both members' weekly availability, as an .ics request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from mentorflow.engagement.state import Person
from mentorflow.engagement.window import zone
from mentorflow.intake.availability import SlotError, parse_slots, utc_hours
from mentorflow.mail.ics import checkin_invite, stable_uid

MEETING = timedelta(hours=1)
SEARCH_DAYS = 14


def _hours(person: Person, week_of: datetime) -> set[int]:
    """UTC hours of the week the person is free in the week of `week_of`.

    From the canonical local slots when the sign-up kept them, so a daylight-saving change since
    the cycle started is honoured; else the stored UTC bits of the start week.
    """
    if person.availability:
        tz = zone(person.timezone)
        try:
            slots = tuple(s for text in person.availability for s in parse_slots(text))
        except SlotError:
            return set(person.availability_utc)
        return set(utc_hours(slots, tz, week_of.astimezone(tz).date()))
    return set(person.availability_utc)


def first_meeting_slot(people: Sequence[Person], after: datetime) -> datetime | None:
    """The first whole UTC hour from the day after `after` when everybody is free, or None."""
    start = (after + timedelta(days=1)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    cache: dict[tuple[str, int], set[int]] = {}
    for step in range(SEARCH_DAYS * 24):
        moment = start + timedelta(hours=step)
        week = moment.isocalendar()[1]
        hour = moment.weekday() * 24 + moment.hour
        if all(hour in _free(cache, p, week, moment) for p in people):
            return moment
    return None


def _free(
    cache: dict[tuple[str, int], set[int]], person: Person, week: int, at: datetime
) -> set[int]:
    key = (person.id, week)
    if key not in cache:
        cache[key] = _hours(person, at)
    return cache[key]


def slot_invite(
    *,
    key: str,
    domain: str,
    start: datetime,
    timezone: str | None,
    summary: str,
    description: str,
    organizer: str,
    attendees: list[str],
    stamp: datetime,
) -> str:
    """METHOD:REQUEST for the slot, in the recipient's own time zone (with its VTIMEZONE)."""
    return checkin_invite(
        uid=stable_uid(key, domain),
        summary=summary,
        description=description,
        start=start,
        duration=MEETING,
        timezone=zone(timezone).key,
        organizer=organizer,
        attendees=attendees,
        stamp=stamp,
    )
