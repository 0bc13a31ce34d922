"""Issue 9: in a rotational program the tick ends a round and matches the next one."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from mentorflow.engagement.run import run_tick
from mentorflow.store.tables import match_members, matches, outbox
from tests.engagement_support import Person, settings, setup_program

SLOTS, BITS = ("Tue 18:00-20:00",), (42, 43)


def _p(member_id: str, role: str) -> Person:
    return Person(member_id, role, "UTC", "en", SLOTS, BITS)


def test_round_two_starts_with_new_partners_and_its_milestone_reaches_them(tmp_path):
    pairs = [
        (_p("m_mentor1", "mentor"), _p("m_mentee1", "mentee")),
        (_p("m_mentor2", "mentor"), _p("m_mentee2", "mentee")),
    ]
    engine, spec, _ = setup_program(f"sqlite:///{tmp_path / 's.db'}", "rotation.yaml", pairs)
    mail = settings(spec, tmp_path)
    summary = run_tick(engine, spec, mail, datetime(2027, 3, 15, 9, tzinfo=UTC))
    again = run_tick(engine, spec, mail, datetime(2027, 3, 15, 10, tzinfo=UTC))
    with engine.connect() as conn:
        rows = conn.execute(
            select(matches.c.id, matches.c.round, matches.c.status, match_members.c.member_id).join(
                match_members, match_members.c.match_id == matches.c.id
            )
        ).all()
        keys = sorted(r.key.split(":", 3)[3] for r in conn.execute(select(outbox)))
    by_match: dict[str, set[str]] = {}
    for row in rows:
        by_match.setdefault(f"{row.round}:{row.status}:{row.id}", set()).add(row.member_id)
    round_two = sorted(sorted(m) for k, m in by_match.items() if k.startswith("2:approved"))
    assert round_two == [["m_mentee1", "m_mentor2"], ["m_mentee2", "m_mentor1"]]
    assert all(k.split(":")[1] == "ended" for k in by_match if k.startswith("1:"))
    assert summary.queued["milestone"] == 4 and sum(again.queued.values()) == 0
    assert keys.count("milestone:round-2") == 4
    assert sum(k.startswith("introduction:") for k in keys) == 4
    assert "milestone:round-1" not in keys  # stale by then: skipped
