"""Issue 9: "we can't make it work" leads to a no-fault rematch from the current pool."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from starlette.testclient import TestClient

from mentorflow.clock import FixedClock
from mentorflow.engagement import links
from mentorflow.engagement.run import run_tick
from mentorflow.store.tables import match_members, matches, outbox, rematch_requests
from mentorflow.web.app import create_app
from tests.engagement_support import Person, add_person, settings, setup_program

SLOTS = ("Tue 18:00-20:00",)
BITS = (42, 43)  # Tue 18-20 UTC
NOW = datetime(2027, 3, 16, 10, tzinfo=UTC)


def _person(member_id: str, role: str) -> Person:
    return Person(member_id, role, "UTC", "en", SLOTS, BITS)


def test_cannot_make_it_work_rematches_both_never_with_each_other(tmp_path):
    pair = (_person("m_mentor_a", "mentor"), _person("m_mentee_b", "mentee"))
    engine, spec, cycle_id = setup_program(f"sqlite:///{tmp_path / 's.db'}", "walk.yaml", [pair])
    with engine.begin() as conn:  # the waitlist: one mentor and one mentee still unmatched
        add_person(conn, spec.program.id, cycle_id, _person("m_mentor_c", "mentor"))
        add_person(conn, spec.program.id, cycle_id, _person("m_mentee_d", "mentee"))
    client = TestClient(create_app(engine, secret_key=None, clock=FixedClock(NOW)))
    url = links.check_in_url("", "m_mentee_b", "p_001", "checkin-1", "cannot")
    assert client.post(url, data={"confirm": "yes"}).status_code == 200

    run_tick(engine, spec, settings(spec, tmp_path), NOW)

    with engine.connect() as conn:
        live = conn.execute(
            select(match_members.c.match_id, match_members.c.member_id)
            .join(matches, matches.c.id == match_members.c.match_id)
            .where(matches.c.status == "approved")
        ).all()
        requests = {r.member_id: r.status for r in conn.execute(select(rematch_requests))}
        intros = sorted(
            r.member_id
            for r in conn.execute(select(outbox).where(outbox.c.purpose == "introduction"))
        )
    groups: dict[str, set[str]] = {}
    for match_id, member_id in live:
        groups.setdefault(match_id, set()).add(member_id)
    assert sorted(map(sorted, groups.values())) == [
        ["m_mentee_b", "m_mentor_c"],
        ["m_mentee_d", "m_mentor_a"],
    ]
    assert requests == {"m_mentor_a": "matched", "m_mentee_b": "matched"}
    assert intros == ["m_mentee_b", "m_mentee_d", "m_mentor_a", "m_mentor_c"]
