"""Issue 9: a kickoff costs per mail, not per mail and pair, nor a key lookup per link."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from mentorflow.engagement import links, run
from tests.engagement_support import Person, settings, setup_program

BERLIN = "Europe/Berlin"
KICKOFF_TICK = datetime(2027, 3, 1, 8, tzinfo=UTC)  # 09:00 in Berlin on the first day
PAIRS = [
    (Person(f"m_mentor{i}", "mentor", BERLIN), Person(f"m_mentee{i}", "mentee", BERLIN))
    for i in range(40)
]


class CountingPairs(tuple):  # type: ignore[type-arg]
    """The state's pairs, counting how often something walks through all of them."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        CountingPairs.walks += 1
        return super().__iter__()


@pytest.fixture
def program(tmp_path):
    engine, spec, _ = setup_program(f"sqlite:///{tmp_path / 's.db'}", "walk.yaml", PAIRS)
    return engine, spec, settings(spec, tmp_path)


def test_building_the_kickoff_mails_does_not_walk_every_pair_per_mail(program):
    engine, spec, mail = program
    prepared = run.prepare(engine, spec, KICKOFF_TICK)
    assert prepared is not None and len(prepared.plan.send) == 80
    state = dataclasses.replace(prepared.state, pairs=CountingPairs(prepared.state.pairs))
    CountingPairs.walks = 0
    summary = run.queue_plan(engine, spec, mail, dataclasses.replace(prepared, state=state))
    assert summary.queued["milestone"] == 80
    assert CountingPairs.walks <= 5  # a few walks per tick, not one per mail (80)


def test_signing_the_pause_and_leave_links_looks_up_the_key_once_per_tick(program, monkeypatch):
    engine, spec, mail = program
    calls = []
    real = links.home
    monkeypatch.setattr(links, "home", lambda: calls.append(1) or real())
    summary = run.run_tick(engine, spec, mail, KICKOFF_TICK)
    assert summary.queued["milestone"] == 80
    assert len(calls) <= 2  # was two per mail: a resolved path and a mkdir for every link
