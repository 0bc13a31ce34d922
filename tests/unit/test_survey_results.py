"""Issue 10: before/after pairing per member, results per question, only shared stories, CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import update

from mentorflow.store.tables import enrolments
from mentorflow.surveys import results
from tests.survey_support import client, link, survey_site


@pytest.fixture
def site(tmp_path):
    app, engine, spec, cycle_id = survey_site(f"sqlite:///{tmp_path / 's.db'}")
    return client(app), engine, spec, cycle_id


def test_each_member_keeps_one_before_after_pair_per_compare_question(site):
    web, engine, spec, cycle_id = site
    with engine.begin() as conn:  # confidence came with the sign-up form (intake_field)
        for member_id, value in (("m_mentee1", 2), ("m_mentor1", 4)):
            conn.execute(
                update(enrolments)
                .where(enrolments.c.member_id == member_id)
                .values(answers={"confidence": value, "timezone": "UTC"})
            )
    web.post(link(spec, "m_mentee1", "baseline"), data={"q_growth": "1"})  # growth: baseline survey
    web.post(
        link(spec, "m_mentee1", "exit", "exit"),
        data={"q_confidence": "4", "q_growth": "3", "q_again": "0"},
    )
    web.post(link(spec, "m_mentor1", "exit", "exit"), data={"q_confidence": "5", "q_again": "1"})
    web.post(
        link(spec, "m_mentee2", "exit", "exit"), data={"q_confidence": "3"}
    )  # no before answer
    with engine.connect() as conn:
        pairs = {
            (p.member_id, p.question_id, p.before, p.after)
            for p in results.before_after(conn, spec, cycle_id)
        }
        summary = {
            q.question_id: q for q in results.question_results(conn, spec.surveys["exit"], cycle_id)
        }
        out = io.StringIO()
        lines = results.write_csv(conn, spec, cycle_id, out, "exit")
    assert pairs == {
        ("m_mentee1", "confidence", 2, 4),
        ("m_mentor1", "confidence", 4, 5),
        ("m_mentee1", "growth", 1, 3),
    }
    assert summary["confidence"].mean == 4.0 and summary["confidence"].answers == 3
    assert summary["again"].counts == {"Yes": 1, "No": 1}
    exported = list(csv.reader(io.StringIO(out.getvalue())))
    assert exported[0][:3] == ["survey", "occurrence", "member_id"] and lines == 9
    assert not any("@" in cell for line in exported for cell in line)


def test_only_shared_stories_reach_the_results(site):
    web, engine, spec, cycle_id = site
    for member_id, share in (("m_mentee1", "yes"), ("m_mentor1", "")):
        url = link(spec, member_id, "pulse")
        web.post(url, data={"q_quality": "10"})
        web.post(url + "/story", data={"story": f"story of {member_id}", "share": share})
    with engine.connect() as conn:
        assert results.shared_stories(conn, cycle_id) == [
            ("m_mentee1", "pulse", "story of m_mentee1")
        ]
