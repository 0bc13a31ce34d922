"""Issue 9: the tick is exactly-once and catch-up safe; skips say why; a crash resumes cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from mentorflow.engagement import run
from mentorflow.engagement.run import run_tick
from mentorflow.store.tables import engagement_skips, member_pauses, members, outbox
from tests.engagement_support import Person, settings, setup_program

BERLIN = "Europe/Berlin"
PAIRS = [
    (Person("m_mentor1", "mentor", BERLIN), Person("m_mentee1", "mentee", BERLIN)),
    (Person("m_mentor2", "mentor", "America/New_York"), Person("m_mentee2", "mentee", BERLIN)),
]
KICKOFF_TICK = datetime(2027, 3, 1, 8, tzinfo=UTC)  # 09:00 in Berlin on the first day


@pytest.fixture
def program(tmp_path):
    engine, spec, cycle_id = setup_program(f"sqlite:///{tmp_path / 's.db'}", "walk.yaml", PAIRS)
    return engine, spec, settings(spec, tmp_path), cycle_id


def _keys(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r.key for r in conn.execute(select(outbox.c.key)))


def test_two_ticks_for_the_same_moment_send_nothing_new(program):
    engine, spec, mail, _ = program
    first = run_tick(engine, spec, mail, KICKOFF_TICK)
    before = _keys(engine)
    second = run_tick(engine, spec, mail, KICKOFF_TICK)
    assert first.queued["milestone"] == 3  # the Berlin members; New York is still asleep
    assert sum(second.queued.values()) == 0 and _keys(engine) == before


def test_the_next_hour_sends_only_the_members_whose_window_opened(program):
    engine, spec, mail, _ = program
    run_tick(engine, spec, mail, KICKOFF_TICK)
    later = run_tick(engine, spec, mail, datetime(2027, 3, 1, 14, tzinfo=UTC))  # 09:00 New York
    assert later.queued["milestone"] == 1
    assert any(":m_mentor2:milestone:kickoff" in k for k in _keys(engine))


def test_after_three_missed_days_what_is_still_meaningful_goes_out(program):
    engine, spec, mail, _ = program
    late = run_tick(engine, spec, mail, datetime(2027, 3, 4, 10, tzinfo=UTC))  # Thursday
    assert late.queued["milestone"] == 3  # kickoff three days late: within the 7-day rule
    assert sum(late.skipped.values()) == 0


def test_a_kickoff_more_than_a_week_late_is_skipped_and_reported(program):
    engine, spec, mail, _ = program
    late = run_tick(engine, spec, mail, datetime(2027, 3, 9, 10, tzinfo=UTC))  # Tuesday after
    assert late.skipped == {"stale": 4}
    assert {(m, k) for m, k, _ in late.skipped_items} == {
        ("m_mentor1", "milestone"),
        ("m_mentor2", "milestone"),
        ("m_mentee1", "milestone"),
        ("m_mentee2", "milestone"),
    }
    # the weekend note of Monday 8 March is one day late: Berlin now, New York in its morning
    assert late.queued["milestone"] == 3
    assert "skipped: stale | 4" in late.markdown()
    again = run_tick(engine, spec, mail, datetime(2027, 3, 9, 11, tzinfo=UTC))
    assert sum(again.skipped.values()) == 0  # skipped once, never reconsidered
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(engagement_skips)).scalar() == 4


def test_paused_and_left_members_get_nothing_and_unsubscribed_get_nothing_optional(program):
    engine, spec, mail, cycle_id = program
    with engine.begin() as conn:
        for member, kind, ends in (
            ("m_mentor1", "pause", KICKOFF_TICK + timedelta(days=10)),
            ("m_mentee1", "leave", None),
        ):
            conn.execute(
                insert(member_pauses).values(
                    cycle_id=cycle_id,
                    member_id=member,
                    kind=kind,
                    starts_at=KICKOFF_TICK - timedelta(days=1),
                    ends_at=ends,
                    created_at=KICKOFF_TICK,
                )
            )
        conn.execute(
            update(members).where(members.c.id == "m_mentee2").values(unsubscribed_at=KICKOFF_TICK)
        )
    summary = run_tick(engine, spec, mail, KICKOFF_TICK)
    assert summary.skipped == {"paused": 1, "left": 1, "unsubscribed": 1}
    assert _keys(engine) == []


def test_a_tick_that_stops_halfway_resumes_without_sending_anything_twice(program, monkeypatch):
    engine, spec, mail, _ = program
    prepared = run.prepare(engine, spec, KICKOFF_TICK)
    with pytest.raises(RuntimeError):
        run.queue_plan(engine, spec, mail, prepared, batch=1, stop_after=2)
    assert len(_keys(engine)) == 2  # two committed batches survived the stop
    resumed = run_tick(engine, spec, mail, KICKOFF_TICK)
    assert resumed.queued["milestone"] == 1
    keys = _keys(engine)
    assert len(keys) == len(set(keys)) == 3


def test_dry_run_renders_and_lists_but_writes_nothing(program):
    engine, spec, mail, _ = program
    preview = run_tick(engine, spec, mail, KICKOFF_TICK, dry=True)
    assert preview.dry_run and preview.queued["milestone"] == 3
    assert {p[0] for p in preview.previews} == {"m_mentor1", "m_mentee1", "m_mentee2"}
    assert _keys(engine) == []
    assert run_tick(engine, spec, mail, KICKOFF_TICK).queued["milestone"] == 3


def test_mentors_get_the_guide_at_kickoff_and_every_mail_can_pause_or_leave(program):
    engine, spec, mail, _ = program
    run_tick(engine, spec, mail, KICKOFF_TICK)
    with engine.connect() as conn:
        rows = {r.member_id: r for r in conn.execute(select(outbox))}
    assert "conversation prompts" in rows["m_mentor1"].text_body
    assert "conversation prompts" not in rows["m_mentee1"].text_body
    for row in rows.values():
        assert "/pause/" in row.text_body and "/leave/" in row.text_body
        token = row.text_body.split("/pause/")[1].split()[0]
        assert row.member_id not in token  # opaque: the id is not readable in the link


def test_a_pair_whose_member_was_erased_ends_and_the_partner_is_offered_a_rematch(program):
    from mentorflow.store.erasure import erase_member
    from mentorflow.store.tables import matches

    engine, spec, mail, _ = program
    with engine.begin() as conn:
        erase_member(conn, spec.program.id, "m_mentee1", KICKOFF_TICK, "request")
    summary = run_tick(engine, spec, mail, KICKOFF_TICK)
    with engine.connect() as conn:
        status = {r.id: (r.status, r.end_reason) for r in conn.execute(select(matches))}
    assert status["p_001"][0] == "ended"
    assert summary.queued == {"milestone": 1, "rematch_offer": 1}  # p_002 in Berlin + the offer
    assert any(k.endswith(":m_mentor1:rematch_offer:p_001") for k in _keys(engine))
    assert not any(":m_mentee1:" in k for k in _keys(engine))
