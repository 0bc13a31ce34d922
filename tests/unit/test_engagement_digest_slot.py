"""Issue 9: the organizer digest's content, and the first check-in's .ics slot (icalendar)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import insert, select, update

from mentorflow.engagement.run import run_tick
from mentorflow.intake.availability import parse_slots, utc_hours
from mentorflow.store.tables import checkins, member_pauses, members, outbox
from tests.engagement_support import DATA, Person, settings, setup_program

START = date(2027, 3, 1)


def person(member_id: str, role: str, zone: str, *slots: str) -> Person:
    """A member with weekly slots, stored like the intake stores them (start-week UTC bits too)."""
    parsed = tuple(s for text in slots for s in parse_slots(text))
    bits = tuple(utc_hours(parsed, ZoneInfo(zone), START))
    return Person(member_id, role, zone, "en", tuple(s.canonical for s in parsed), bits)


def test_first_check_in_proposes_a_slot_inside_both_availabilities_in_each_zone(tmp_path):
    # Tuesdays: Berlin 17-19 local, New York 12-13 local. New York moved to EDT on 14 March,
    # Berlin stays on CET until 28 March: on 16 March the only common hour is 16:00 UTC,
    # 17:00 in Berlin and 12:00 in New York (the start-week bits alone would say 17:00 UTC).
    pair = (
        person("m_berlin", "mentor", "Europe/Berlin", "Tue 17-19"),
        person("m_newyork", "mentee", "America/New_York", "Tue 12-13"),
    )
    engine, spec, _ = setup_program(f"sqlite:///{tmp_path / 's.db'}", "walk.yaml", [pair])
    run_tick(engine, spec, settings(spec, tmp_path), datetime(2027, 3, 15, 13, tzinfo=UTC))
    with engine.connect() as conn:
        rows = {
            r.member_id: r
            for r in conn.execute(select(outbox).where(outbox.c.purpose == "check_in"))
        }
    assert set(rows) == {"m_berlin", "m_newyork"}
    events = {}
    for member_id, row in rows.items():
        cal = icalendar.Calendar.from_ical(row.ics)
        assert str(cal["METHOD"]) == "REQUEST"
        (event,) = cal.walk("VEVENT")
        events[member_id] = event
        zones = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
        assert zones == [{"m_berlin": "Europe/Berlin", "m_newyork": "America/New_York"}[member_id]]
        attendees = sorted(str(a).removeprefix("mailto:") for a in event.get("ATTENDEE"))
        assert attendees == ["m_berlin@example.org", "m_newyork@example.org"]
    berlin, new_york = events["m_berlin"]["DTSTART"].dt, events["m_newyork"]["DTSTART"].dt
    assert (
        berlin.astimezone(UTC) == new_york.astimezone(UTC) == datetime(2027, 3, 16, 16, tzinfo=UTC)
    )
    assert (berlin.hour, str(berlin.tzinfo)) == (17, "Europe/Berlin")
    assert (new_york.hour, str(new_york.tzinfo)) == (12, "America/New_York")
    assert events["m_berlin"]["DTEND"].dt - berlin == timedelta(hours=1)
    assert str(events["m_berlin"]["UID"]) == str(events["m_newyork"]["UID"])  # one event
    assert "16 March 2027, 12:00 (EDT)" in rows["m_newyork"].text_body


def test_no_common_hour_means_no_invitation(tmp_path):
    pair = (
        person("m_a", "mentor", "Europe/Berlin", "Mon 08-09"),
        person("m_b", "mentee", "Europe/Berlin", "Fri 20-21"),
    )
    engine, spec, _ = setup_program(f"sqlite:///{tmp_path / 's.db'}", "walk.yaml", [pair])
    run_tick(engine, spec, settings(spec, tmp_path), datetime(2027, 3, 15, 9, tzinfo=UTC))
    with engine.connect() as conn:
        found = conn.execute(select(outbox.c.ics).where(outbox.c.purpose == "check_in")).all()
    assert len(found) == 2 and all(r.ics is None for r in found)


def test_weekly_digest_names_inactive_left_bounced_and_who_to_thank(tmp_path):
    pairs = [
        (Person("m_mentor1", "mentor", "UTC"), Person("m_mentee1", "mentee", "UTC")),
        (Person("m_mentor2", "mentor", "UTC"), Person("m_mentee2", "mentee", "UTC")),
        (Person("m_mentor3", "mentor", "UTC"), Person("m_mentee3", "mentee", "UTC")),
    ]
    engine, spec, cycle_id = setup_program(f"sqlite:///{tmp_path / 's.db'}", "walk.yaml", pairs)
    monday = datetime(2027, 4, 12, 9, tzinfo=UTC)  # six weeks in: 2 x the 21-day nudge rule
    with engine.begin() as conn:
        conn.execute(
            insert(checkins).values(
                cycle_id=cycle_id,
                match_id="p_001",
                member_id="m_mentee1",
                occurrence="checkin-1",
                answer="met",
                answered_at=monday - timedelta(days=20),
            )
        )
        conn.execute(
            insert(member_pauses).values(
                cycle_id=cycle_id,
                member_id="m_mentee3",
                kind="leave",
                starts_at=monday - timedelta(days=2),
                reason="no_time",
                created_at=monday - timedelta(days=2),
            )
        )
        conn.execute(
            update(members)
            .where(members.c.id == "m_mentor2")
            .values(bounced_at=monday - timedelta(days=1), bounce_reason="550")
        )
    summary = run_tick(engine, spec, settings(spec, tmp_path), monday)
    with engine.connect() as conn:
        (digest,) = conn.execute(select(outbox).where(outbox.c.purpose == "digest")).all()
    assert digest.key == "walk-2027:2027-03-01:org:0:digest:2027-04-12"
    text = digest.text_body
    assert "Pairs without a meeting for long: Name m_mentee2+Name m_mentor2" in text
    assert "Left the program: Name m_mentee3" in text
    assert "Mail bounced: Name m_mentor2" in text
    assert "Mentors to thank (their pairs met): Name m_mentor1" in text
    markdown = summary.markdown()
    assert "m_mentor2" in markdown and "Name " not in markdown and "@" not in markdown


def test_per_tick_digest_follows_a_tick_that_did_something_and_only_then(tmp_path):
    text = (DATA / "walk.yaml").read_text(encoding="utf-8")
    text = text.replace("digest: weekly", "digest: per_tick")
    shutil.copyfile(DATA / "walk.csv", tmp_path / "walk.csv")  # data files sit beside the spec
    (tmp_path / "per_tick.yaml").write_text(text, encoding="utf-8")
    pair = (Person("m_a", "mentor", "Europe/Berlin"), Person("m_b", "mentee", "Europe/Berlin"))
    engine, spec, _ = setup_program(
        f"sqlite:///{tmp_path / 's.db'}", str(tmp_path / "per_tick.yaml"), [pair]
    )
    mail = settings(spec, tmp_path)
    busy = run_tick(engine, spec, mail, datetime(2027, 3, 1, 8, tzinfo=UTC))
    quiet = run_tick(engine, spec, mail, datetime(2027, 3, 1, 9, tzinfo=UTC))
    assert busy.digest and not quiet.digest
    with engine.connect() as conn:
        (digest,) = conn.execute(select(outbox).where(outbox.c.purpose == "digest")).all()
    assert digest.key.endswith(":org:0:digest:2027-03-01T08")
    assert "Mails queued: 2" in digest.text_body
