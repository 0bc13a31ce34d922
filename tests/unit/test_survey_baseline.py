"""Issue 10: the baseline ("before") survey is mailed on enrolment, in the welcome, keyed by the
member's enrolment rather than a pair; the tick nudges non-responders once they are paired."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from mentorflow.clock import FixedClock
from mentorflow.engagement import run
from mentorflow.intake import mails
from mentorflow.store.tables import outbox, survey_responses
from mentorflow.surveys.schedule import pair_occurrences
from mentorflow.surveys.tokens import read_survey_token
from tests.engagement_support import settings
from tests.survey_support import KEY, client, survey_site

WELCOMED = datetime(2027, 2, 10, 9, tzinfo=UTC)
SURVEY = re.compile(r"http://127\.0\.0\.1:8000(/survey/([A-Za-z0-9_.\-]+))")


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", KEY)
    app, engine, spec, _ = survey_site(f"sqlite:///{tmp_path / 's.db'}")
    baseline = replace(spec.surveys["baseline"], nudge_after=timedelta(days=25))
    spec = replace(spec, surveys={**spec.surveys, "baseline": baseline})
    mail = settings(spec, tmp_path)
    mails.queue_intake_mails(engine, spec, mail, FixedClock(WELCOMED))
    return app, engine, spec, mail


def _welcome(engine, member_id: str):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            select(outbox).where(outbox.c.purpose == "welcome", outbox.c.member_id == member_id)
        ).one()


def test_the_welcome_carries_the_baseline_link_for_the_enrolment(site):
    app, engine, _, _ = site
    german, english = _welcome(engine, "m_mentor1"), _welcome(engine, "m_mentee1")
    assert "Bevor es losgeht" in german.text_body and "Before we start" in english.text_body
    for row in (german, english):
        (text_path, token), (html_path, _) = (
            SURVEY.findall(row.text_body)[0],
            SURVEY.findall(row.html_body)[0],
        )
        assert text_path == html_path
        claim = read_survey_token(token, WELCOMED, KEY)
        assert (claim.survey_id, claim.occurrence, claim.match_id) == ("baseline", "baseline-1", "")
    web = client(app)
    path = SURVEY.findall(english.text_body)[0][0]
    assert "How much do you know about contributing?" in web.get(path).text
    web.post(path, data={"q_growth": "2"})
    with engine.connect() as conn:
        stored = conn.execute(select(survey_responses)).one()
    assert (stored.member_id, stored.occurrence, stored.answers) == (
        "m_mentee1",
        "baseline-1",
        {"growth": 2},
    )


def test_the_pair_start_sends_no_second_baseline_and_the_tick_nudges_non_responders(site):
    app, engine, spec, _ = site
    assert "baseline" not in {o.survey_id for o in pair_occurrences(spec, "p_1", date(2027, 3, 1))}
    kickoff = run.prepare(engine, spec, datetime(2027, 3, 1, 10, tzinfo=UTC))
    assert not any(i.survey_id == "baseline" for i in kickoff.plan.send)
    client(app).post(
        SURVEY.findall(_welcome(engine, "m_mentee1").text_body)[0][0], data={"q_growth": "2"}
    )
    nudge_day = datetime(2027, 3, 8, 10, tzinfo=UTC)  # 25 days after the welcome, a Monday
    due = run.prepare(engine, spec, nudge_day).plan.send
    nudged = {i.member_id for i in due if i.survey_id == "baseline"}
    assert nudged == {"m_mentor1", "m_mentor2", "m_mentee2"}  # m_mentee1 answered
    item = next(i for i in due if i.survey_id == "baseline")
    assert (item.kind, item.survey_occurrence, item.match_ids) == ("survey_nudge", "baseline-1", ())
