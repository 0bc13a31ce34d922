"""Issue 10: in the demo some simulated members answer promptly, inside the walk, through the
real page, so the tick nudges only those who have not answered (realistic nudge counts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mentorflow.engagement import run, simulate
from mentorflow.store.tables import outbox, survey_responses
from mentorflow.surveys.demo import PromptMembers
from tests.engagement_support import settings
from tests.survey_support import KEY, survey_site


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", KEY)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    _, engine, spec, _ = survey_site(f"sqlite:///{tmp_path / 's.db'}")
    return engine, spec, settings(spec, tmp_path)


def _keys(engine, purpose: str) -> set[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.member_id).where(outbox.c.purpose == purpose))
        return {r.member_id for r in rows}


def test_members_who_answer_inside_the_walk_are_not_nudged(site):
    engine, spec, mail = site
    moment, end = datetime(2027, 3, 15, 0, tzinfo=UTC), datetime(2027, 3, 20, 0, tzinfo=UTC)
    with PromptMembers(engine, spec, seed=3) as members:
        while moment < end:  # the fit check (15 March) and its first nudge (18 March)
            members.hour(moment)
            run.run_tick(engine, spec, mail, moment)
            moment += timedelta(hours=1)
    with engine.connect() as conn:
        answered = {r.member_id for r in conn.execute(select(survey_responses))}
    invited, nudged = _keys(engine, "survey"), _keys(engine, "survey_nudge")
    assert members.counts["answered"] == len(answered) > 0
    assert answered <= invited and nudged and not nudged & answered
    assert nudged | answered == invited


def test_the_walk_calls_the_members_every_hour_before_the_tick(site):
    engine, spec, mail = site
    hours: list[datetime] = []
    simulate.walk(engine, spec, mail, before_tick=hours.append)
    start, end = simulate.cycle_hours(spec)
    assert hours[0] == start and hours[-1] == end - timedelta(hours=1)
    assert len(hours) == (end - start) // timedelta(hours=1)
