"""Issue 9: in a rotational program the tick ends a round and matches the next one."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from sqlalchemy import insert, select

from mentorflow.engagement.run import run_tick
from mentorflow.store.tables import match_members, matches, outbox
from tests.engagement_support import DATA, Person, settings, setup_program

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


def _organizer_rotation(tmp_path):  # type: ignore[no-untyped-def]
    text = (DATA / "rotation.yaml").read_text(encoding="utf-8")
    (tmp_path / "rotation.yaml").write_text(
        text.replace("approval: automatic", "approval: organizer"), encoding="utf-8"
    )
    shutil.copyfile(DATA / "walk.csv", tmp_path / "walk.csv")
    pairs = [
        (_p("m_mentor1", "mentor"), _p("m_mentee1", "mentee")),
        (_p("m_mentor2", "mentor"), _p("m_mentee2", "mentee")),
    ]
    return setup_program(f"sqlite:///{tmp_path / 's.db'}", str(tmp_path / "rotation.yaml"), pairs)


def _digest(engine, occurrence: str):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            select(outbox).where(outbox.c.key.endswith(f":org:0:digest:{occurrence}"))
        ).one()


def test_a_round_waiting_for_the_organizer_shows_in_the_digest_and_the_artifact(tmp_path):
    engine, spec, cycle_id = _organizer_rotation(tmp_path)
    mail = settings(spec, tmp_path)
    summary = run_tick(engine, spec, mail, datetime(2027, 3, 15, 9, tzinfo=UTC))
    digest = _digest(engine, "2027-03-15")
    assert "Round 2 began on 2027-03-15 and has no pairs yet" in digest.text_body
    assert "mentorflow match SPEC --round 2" in digest.text_body
    assert "round 2: not matched yet" in summary.markdown()
    # the organizer matched round 2 (proposed, not approved): next week's digest names the ids
    with engine.begin() as conn:
        conn.execute(
            insert(matches).values(
                id="p_r2a",
                cycle_id=cycle_id,
                round=2,
                status="proposed",
                score=1.0,
                explanation=[],
                created_at=datetime(2027, 3, 16, tzinfo=UTC),
            )
        )
    later = run_tick(engine, spec, mail, datetime(2027, 3, 22, 9, tzinfo=UTC))
    text = _digest(engine, "2027-03-22").text_body
    assert (
        "Round 2: 1 proposed match(es) wait for your approval (mentorflow approve): p_r2a" in text
    )
    assert "round 2: proposed p_r2a" in later.markdown()
