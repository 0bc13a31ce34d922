"""Issue 10: the survey page. GET/HEAD show, POST records, a second POST updates; bad links refused.

Also what answers do: a low fit score offers both members a no-fault rematch; a top pulse score
asks for a story with its own consent to share.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mentorflow.store.tables import events, rematch_requests, survey_responses, survey_stories
from mentorflow.surveys.tokens import SurveyClaim, make_survey_token
from tests.survey_support import KEY, NOW, client, link, survey_site

CYCLE, OPEN = "2027-03-01", NOW + timedelta(days=5)


@pytest.fixture
def site(tmp_path):
    app, engine, spec, _ = survey_site(f"sqlite:///{tmp_path / 's.db'}")
    return client(app), engine, spec


def _rows(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(table)).all()


def test_get_and_head_show_the_form_in_the_members_language_and_change_nothing(site):
    web, engine, spec = site
    german = web.get(link(spec, "m_mentor1", "fit"))
    assert german.status_code == 200 and 'lang="de"' in german.text
    assert "Wie gut passt Dein Match zu Dir?" in german.text and "<script" not in german.text
    assert '<label for="q_note">' in german.text and 'id="q_note"' in german.text
    english = web.get(link(spec, "m_mentee1", "fit"))
    assert 'lang="en"' in english.text and "How well does your match fit you?" in english.text
    assert web.head(link(spec, "m_mentee1", "fit")).status_code == 200
    assert german.headers["cache-control"] == "no-store"
    assert german.headers["referrer-policy"] == "no-referrer"
    assert _rows(engine, survey_responses) == []


def test_post_records_and_a_second_post_updates_the_same_row(site):
    web, engine, spec = site
    url = link(spec, "m_mentee1", "pulse")
    first = web.post(url, data={"q_quality": "7", "q_topics": ["0", "2"]})
    assert first.status_code == 200 and "answers are saved" in first.text
    second = web.post(url, data={"q_quality": "8", "q_topics": "1"})
    assert "answers are updated" in second.text
    (row,) = _rows(engine, survey_responses)
    assert row.answers == {"quality": 8, "topics": ["Code"]} and row.channel == "web"
    assert row.updated_at is not None
    again = web.get(url)
    assert 'value="8" checked' in again.text  # the form shows what was answered


def test_a_missing_required_answer_is_announced_and_nothing_is_stored(site):
    web, engine, spec = site
    page = web.post(link(spec, "m_mentor1", "fit"), data={"q_note": "hallo"})
    assert page.status_code == 422
    assert 'role="alert"' in page.text and "Bitte beantworte diese Frage." in page.text
    assert 'aria-describedby="q_fit-hint q_fit-error"' in page.text
    assert "hallo</textarea>" in page.text  # what was typed stays
    assert _rows(engine, survey_responses) == []


@pytest.mark.parametrize(
    "data",
    [{"q_fit": "9"}, {"q_fit": "x"}, {"q_fit": ["1", "2"]}, {"q_fit": "3", "q_note": "a" * 2001}],
)
def test_invalid_answers_are_refused_with_a_message(site, data):
    web, engine, spec = site
    page = web.post(link(spec, "m_mentee1", "fit"), data=data)
    assert page.status_code == 422 and 'role="alert"' in page.text
    assert _rows(engine, survey_responses) == []


def test_bad_links_get_a_plain_page_and_change_nothing(site):
    web, engine, spec = site
    good = link(spec, "m_mentee1", "fit")
    bad = [
        good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb"),  # tampered
        "/survey/not-a-token",
        link(spec, "m_nobody", "fit"),  # unknown member
        "/survey/" + make_survey_token(SurveyClaim("m_mentee1", "nosuch", "1", CYCLE, OPEN), KEY),
        "/survey/" + make_survey_token(SurveyClaim("m_mentee1", "fit", "1", "1999", OPEN), KEY),
        link(spec, "m_mentee1", "fit", match_id="p_002"),  # another member's pair
        link(spec, "m_mentee1", "fit", due=NOW.date() - timedelta(days=30)),  # closed
    ]
    for url in bad:
        for response in (web.get(url), web.post(url, data={"q_fit": "4"})):
            assert response.status_code == 400, url
            assert "not valid or has expired" in response.text
            assert "Traceback" not in response.text
    assert _rows(engine, survey_responses) == []


def test_a_body_over_the_limit_is_refused(site):
    web, engine, spec = site
    page = web.post(link(spec, "m_mentee1", "fit"), data={"q_note": "a" * 70_000, "q_fit": "3"})
    assert page.status_code == 413
    assert _rows(engine, survey_responses) == []


def test_a_low_fit_score_offers_both_members_a_no_fault_rematch(site):
    web, engine, spec = site
    web.post(link(spec, "m_mentee1", "fit", match_id="p_001"), data={"q_fit": "2"})
    offers = {
        (r.member_id, r.from_match_id, r.cause, r.status) for r in _rows(engine, rematch_requests)
    }
    assert offers == {
        ("m_mentor1", "p_001", "fit_check", "offered"),
        ("m_mentee1", "p_001", "fit_check", "offered"),
    }
    web.post(link(spec, "m_mentee2", "fit"), data={"q_fit": "4"})  # a good fit: nothing
    assert len(_rows(engine, rematch_requests)) == 2


def test_a_top_pulse_score_asks_for_a_story_and_only_a_shared_one_has_consent(site):
    web, engine, spec = site
    url = link(spec, "m_mentee1", "pulse")
    middling = web.post(url, data={"q_quality": "6"})
    assert 'id="story"' not in middling.text
    assert web.post(url + "/story", data={"story": "x"}).status_code == 400  # not asked
    top = web.post(url, data={"q_quality": "10"})
    assert 'id="story"' in top.text and 'id="share"' in top.text
    web.post(url + "/story", data={"story": "It changed how I work.", "share": "yes"})
    other = link(spec, "m_mentor2", "pulse")
    web.post(other, data={"q_quality": "10"})
    web.post(other + "/story", data={"story": "Private, please."})
    stories = {r.member_id: r for r in _rows(engine, survey_stories)}
    assert stories["m_mentee1"].share and stories["m_mentee1"].consent_at is not None
    assert not stories["m_mentor2"].share and stories["m_mentor2"].consent_at is None


def test_events_name_ids_only(site):
    web, engine, spec = site
    web.post(link(spec, "m_mentee1", "fit"), data={"q_fit": "4"})
    (event,) = [e for e in _rows(engine, events) if e.kind.startswith("survey_")]
    assert event.member_id == "m_mentee1" and "@" not in str(event.data)


def test_saying_yes_to_the_fit_check_offer_ends_the_pair_and_opens_both_requests(site):
    from mentorflow.engagement import links as engagement_links
    from mentorflow.store.tables import matches

    web, engine, spec = site
    web.post(link(spec, "m_mentee1", "fit", match_id="p_001"), data={"q_fit": "1"})
    # the partner says yes on the tick's rematch page (the link its rematch_offer mail carries)
    token = engagement_links.make_link_token("rematch", "m_mentor1", KEY, p="p_001")
    web.post(f"/rematch/{token}", data={"confirm": "yes"})
    with engine.connect() as conn:
        status = conn.execute(select(matches.c.status).where(matches.c.id == "p_001")).scalar()
    assert status == "ended"
    assert {r.status for r in _rows(engine, rematch_requests)} == {"open"}
