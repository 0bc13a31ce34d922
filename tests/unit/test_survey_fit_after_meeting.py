"""Issue 10: the early fit check goes out after a pair's first meeting (the first `met` answer of
its check-ins), and at week 2 for a pair that has not reported one by then."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert

from mentorflow.engagement import run
from mentorflow.store.tables import checkins
from mentorflow.surveys.schedule import pair_occurrences
from tests.survey_support import KEY, survey_site


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", KEY)
    return survey_site(f"sqlite:///{tmp_path / 's.db'}")


def _met(engine, cycle_id: int, match_id: str, member_id: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            insert(checkins).values(
                cycle_id=cycle_id,
                match_id=match_id,
                member_id=member_id,
                occurrence="checkin-1",
                answer="met",
                answered_at=at,
            )
        )


def _fit_due(engine, spec, moment: datetime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    plan = run.prepare(engine, spec, moment).plan
    return {i.member_id: i.kind for i in plan.send if i.survey_id == "fit"}


def test_a_pair_that_met_gets_the_fit_check_the_day_after_the_others_at_week_two(site):
    _, engine, spec, cycle_id = site
    _met(engine, cycle_id, "p_001", "m_mentee1", datetime(2027, 3, 4, 19, tzinfo=UTC))
    _met(engine, cycle_id, "p_001", "m_mentor1", datetime(2027, 3, 6, 8, tzinfo=UTC))  # later
    assert _fit_due(engine, spec, datetime(2027, 3, 4, 12, tzinfo=UTC)) == {}
    # Friday 5 March, the day after the first "met": both members of p_001, nobody of p_002
    assert _fit_due(engine, spec, datetime(2027, 3, 5, 10, tzinfo=UTC)) == {
        "m_mentor1": "survey",
        "m_mentee1": "survey",
    }
    week_two = _fit_due(engine, spec, datetime(2027, 3, 15, 10, tzinfo=UTC))
    assert {"m_mentor2", "m_mentee2"} <= set(week_two)  # no meeting reported: week 2
    assert week_two.get("m_mentor1") != "survey"  # p_001 was invited already (nudges apart)


def test_the_met_date_moves_the_occurrence_never_past_week_two(site):
    _, _, spec, _ = site
    start = date(2027, 3, 1)

    def fit(met_on: date | None) -> date:
        found = pair_occurrences(spec, "p_001", start, met_on)
        return next(o.due_on for o in found if o.survey_id == "fit")

    assert fit(None) == date(2027, 3, 15)
    assert fit(date(2027, 3, 4)) == date(2027, 3, 5)
    assert fit(date(2027, 3, 20)) == date(2027, 3, 15)  # met late: week 2 came first
    assert fit(date(2027, 2, 25)) == date(2027, 3, 1)  # met before the cycle: at its start
