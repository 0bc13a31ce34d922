"""Issue 9: a 90-day cycle walked hour by hour with a fake clock; exactly which mail, and when.

Members live in Europe/Berlin, America/New_York and Asia/Kolkata; both daylight-saving switches of
spring 2027 (14 March in New York, 28 March in Berlin) fall inside the cycle. The send window is
09:00-18:00 in each member's own zone, Sundays are quiet.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from mentorflow.engagement.run import run_tick
from mentorflow.store.tables import checkins, engagement_skips, outbox, ticks
from tests.engagement_support import Person, settings, setup_program

BERLIN, NEW_YORK, KOLKATA = "Europe/Berlin", "America/New_York", "Asia/Kolkata"
PAIRS = [
    (Person("m_berlinmentor", "mentor", BERLIN), Person("m_newyorkmentee", "mentee", NEW_YORK)),
    (Person("m_kolkatamentor", "mentor", KOLKATA), Person("m_berlinmentee", "mentee", BERLIN)),
    (Person("m_newyorkmentor", "mentor", NEW_YORK), Person("m_kolkatamentee", "mentee", KOLKATA)),
]
ZONE = {p.id: p.timezone for pair in PAIRS for p in pair}
MATCH = {p.id: f"p_{n:03d}" for n, pair in enumerate(PAIRS, 1) for p in pair}
START = datetime(2027, 2, 28, 0, 0, tzinfo=UTC)  # a day early: nothing may go out before the start
# issue 11: the cycle ends Sunday 30 May (quiet), so the tick closes it on Monday 31 May when the
# program's window opens (09:00 Berlin); every member's closure mail is queued then and held
# back (`not_before`) until their own window opens
CLOSED = datetime(2027, 5, 31, 7, 0, tzinfo=UTC)
HOURS = 93 * 24


def expected_for(member: str, role: str) -> dict[str, date]:
    """Purpose:occurrence -> the local day the mail must go out (09:00, or the first tick after)."""
    match = MATCH[member]
    days = {
        "milestone:kickoff": date(2027, 3, 1),
        "milestone:weekend-note": date(2027, 3, 8),  # due Sunday 7 March: quiet, so Monday
        f"check_in:checkin-1.{match}": date(2027, 3, 15),
        "survey:midpoint": date(2027, 4, 12),
        "survey_nudge:midpoint": date(2027, 4, 16),
        f"check_in:checkin-2.{match}": date(2027, 4, 26),
    }
    if role == "mentee":
        days["milestone:reminder"] = date(2027, 4, 5)
    if match != "p_001":  # pair 1 answers "met" on 16 March: no nudge for it
        days[f"nudge:no_meeting.{match}"] = date(2027, 3, 22)
    return days


def first_tick_at_or_after(day: date, zone: str) -> datetime:
    """The first whole-hour UTC tick at or after 09:00 local on `day`."""
    local = datetime.combine(day, time(9), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return local if local.minute == 0 else local.replace(minute=0) + timedelta(hours=1)


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("walk")
    engine, spec, cycle_id = setup_program(f"sqlite:///{tmp / 'walk.db'}", "walk.yaml", PAIRS)
    mail = settings(spec, tmp)
    for hour in range(HOURS):
        as_of = START + timedelta(hours=hour)
        if as_of == datetime(2027, 3, 16, 12, tzinfo=UTC):
            with engine.begin() as conn:
                conn.execute(
                    insert(checkins).values(
                        cycle_id=cycle_id,
                        match_id="p_001",
                        member_id="m_newyorkmentee",
                        occurrence="checkin-1",
                        answer="met",
                        answered_at=as_of,
                    )
                )
        run_tick(engine, spec, mail, as_of)
    with engine.connect() as conn:
        rows = conn.execute(select(outbox)).all()
        skips = conn.execute(select(engagement_skips)).all()
        tick_count = len(conn.execute(select(ticks.c.id)).all())
    return rows, skips, tick_count


def _got(rows, member: str) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for row in rows:
        if row.member_id != member:
            continue
        purpose_occurrence = row.key.split(":", 3)[3]
        assert purpose_occurrence not in found, f"{member} got {purpose_occurrence} twice"
        moment = row.created_at
        found[purpose_occurrence] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if row.purpose in ("closure", "alumni_invitation"):  # sent in the member's window
            sendable = row.not_before or moment
            local = sendable.replace(tzinfo=UTC).astimezone(ZoneInfo(ZONE[member]))
            assert 9 <= local.hour < 18, (member, local)
    return found


@pytest.mark.parametrize("person", [p for pair in PAIRS for p in pair], ids=lambda p: p.id)
def test_each_member_gets_exactly_the_schedule_in_their_own_morning(walked, person):
    rows, _, _ = walked
    got = _got(rows, person.id)
    expected = {
        key: first_tick_at_or_after(day, person.timezone)
        for key, day in expected_for(person.id, person.role).items()
    }
    expected["closure:cycle"] = CLOSED
    if person.role == "mentee":
        expected["alumni_invitation:cycle"] = CLOSED
    assert got == expected


def test_the_same_local_hour_on_both_sides_of_each_daylight_saving_switch(walked):
    rows, _, _ = walked
    berlin = _got(rows, "m_berlinmentor")
    new_york = _got(rows, "m_newyorkmentee")
    kolkata = _got(rows, "m_kolkatamentor")
    # Berlin: 09:00 CET = 08:00 UTC before 28 March, 09:00 CEST = 07:00 UTC after.
    assert berlin["milestone:kickoff"] == datetime(2027, 3, 1, 8, tzinfo=UTC)
    assert berlin["survey:midpoint"] == datetime(2027, 4, 12, 7, tzinfo=UTC)
    # New York: 09:00 EST = 14:00 UTC before 14 March, 09:00 EDT = 13:00 UTC after.
    assert new_york["milestone:kickoff"] == datetime(2027, 3, 1, 14, tzinfo=UTC)
    assert new_york["check_in:checkin-1.p_001"] == datetime(2027, 3, 15, 13, tzinfo=UTC)
    # Kolkata (+05:30, no DST): the first hourly tick in the window is 09:30 local, 04:00 UTC.
    assert kolkata["milestone:kickoff"] == datetime(2027, 3, 1, 4, tzinfo=UTC)
    assert kolkata["check_in:checkin-2.p_002"] == datetime(2027, 4, 26, 4, tzinfo=UTC)


def test_organizers_get_weekly_digests_and_the_wrap_up(walked):
    rows, _, _ = walked
    organizer = sorted(r.key.split(":", 4)[4] for r in rows if r.member_id is None)
    mondays = [f"digest:{date(2027, 3, 8) + timedelta(weeks=w)}" for w in range(13)]
    assert organizer == sorted([*mondays, "milestone:wrap-up"])


def test_nothing_was_skipped_and_every_tick_was_recorded(walked):
    _, skips, tick_count = walked
    assert skips == []
    assert tick_count == HOURS


def test_first_check_in_carries_an_invitation_only_when_a_slot_exists(walked):
    rows, _, _ = walked
    # nobody in this walk gave availability: no slot, no .ics, and the mail says nothing of one
    first = [r for r in rows if ":check_in:checkin-1." in r.key]
    assert len(first) == 6
    assert all(r.ics is None for r in first)
    assert all("Yes, we met" in r.text_body for r in first)
