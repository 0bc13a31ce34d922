"""Issue 10: when surveys fall due and nudge, and the tick's survey mails carry working links."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from mentorflow.engagement import run
from mentorflow.store.tables import outbox
from mentorflow.surveys.schedule import nudge_days, pair_occurrences
from tests.engagement_support import settings
from tests.survey_support import KEY, client, survey_site


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", KEY)
    return survey_site(f"sqlite:///{tmp_path / 's.db'}")


def test_kind_defaults_pulse_day_30_then_every_60_fit_check_week_2(site):
    _, _, spec, _ = site
    due = {(o.survey_id, o.due_on) for o in pair_occurrences(spec, "p_001", date(2027, 3, 1))}
    # exit is sent by a milestone, the Google Form survey is custom: neither is kind-scheduled;
    # the baseline went with the welcome (test_survey_baseline)
    assert due == {
        ("fit", date(2027, 3, 15)),
        ("pulse", date(2027, 3, 31)),
    }
    long = replace(spec, cycle=replace(spec.cycle, duration=timedelta(days=200)))
    pulses = [
        o.due_on
        for o in pair_occurrences(long, "p_001", date(2027, 3, 1))
        if o.survey_id == "pulse"
    ]
    assert pulses == [date(2027, 3, 31), date(2027, 5, 30), date(2027, 7, 29)]


def test_nudges_come_nudge_after_apart_at_most_max_nudges_and_never_after_closing(site):
    _, _, spec, _ = site
    fit = spec.surveys["fit"]
    assert nudge_days(fit, date(2027, 3, 15)) == [date(2027, 3, 18), date(2027, 3, 21)]
    short = replace(fit, closes_after=timedelta(days=5), max_nudges=3)
    assert nudge_days(short, date(2027, 3, 15)) == [date(2027, 3, 18)]
    assert nudge_days(replace(fit, nudge_after=None), date(2027, 3, 15)) == []


def _due(engine, spec, moment):
    prepared = run.prepare(engine, spec, moment)
    return prepared, {(i.kind, i.member_id, i.survey_id) for i in prepared.plan.send}


def test_the_tick_invites_nudges_non_responders_only_and_links_open_the_page(site, tmp_path):
    app, engine, spec, _ = site
    invite = datetime(2027, 3, 15, 10, tzinfo=UTC)  # a Monday, inside everyone's window
    prepared, due = _due(engine, spec, invite)
    assert ("survey", "m_mentee1", "fit") in due and ("survey", "m_mentor2", "fit") in due
    run.queue_plan(engine, spec, settings(spec, tmp_path), prepared)
    with engine.connect() as conn:
        body = conn.execute(
            select(outbox.c.text_body).where(outbox.c.key.like("%:m_mentee1:survey:fit-1.p_001"))
        ).scalar_one()
    path = re.search(r"/survey/[A-Za-z0-9_.\-]+", body).group(0)
    web = client(app)
    assert "How well does your match fit you?" in web.get(path).text
    web.post(path, data={"q_fit": "4"})
    nudge = datetime(2027, 3, 18, 10, tzinfo=UTC)
    _, due = _due(engine, spec, nudge)
    nudged = {m for kind, m, s in due if kind == "survey_nudge" and s == "fit"}
    assert nudged == {"m_mentor1", "m_mentor2", "m_mentee2"}  # m_mentee1 answered
    closed = datetime(2027, 4, 6, 10, tzinfo=UTC)  # fit closes 21 days after 15 March
    assert not any(s == "fit" for _, _, s in _due(engine, spec, closed)[1])


def test_a_pair_that_ends_early_gets_why_did_it_end_the_next_day(site):
    from sqlalchemy import update

    from mentorflow.store.tables import matches

    _, engine, spec, _ = site
    with engine.begin() as conn:
        conn.execute(
            update(matches)
            .where(matches.c.id == "p_002")
            .values(status="ended", ended_at=datetime(2027, 3, 22, 15, tzinfo=UTC))
        )
    _, due = _due(engine, spec, datetime(2027, 3, 23, 10, tzinfo=UTC))
    assert {m for kind, m, s in due if s == "why" and kind == "survey"} == {
        "m_mentor2",
        "m_mentee2",
    }
    _, before = _due(engine, spec, datetime(2027, 3, 22, 10, tzinfo=UTC))
    assert not any(s == "why" for _, _, s in before)
    assert not any(s == "why" and m in ("m_mentor1", "m_mentee1") for _, m, s in due)
    with engine.begin() as conn:  # a rotational round change is not an early end
        conn.execute(
            update(matches).where(matches.c.id == "p_002").values(end_reason="round 1 ended")
        )
    _, rotated = _due(engine, spec, datetime(2027, 3, 23, 10, tzinfo=UTC))
    assert not any(s == "why" for _, _, s in rotated)
