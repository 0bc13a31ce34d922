"""Issue 9: the check-in, pause, leave and rematch pages. GET shows, POST records once.

A tampered, expired, another member's or an ended pair's link is refused with a plain page and
changes nothing. Same security headers as the unsubscribe page.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from mentorflow.clock import FixedClock
from mentorflow.engagement import links
from mentorflow.store.tables import checkins, matches, member_pauses, rematch_requests
from mentorflow.web.app import create_app
from tests.engagement_support import Person, setup_program

NOW = datetime(2027, 3, 15, 9, tzinfo=UTC)
KEY = "test-secret-key-not-for-production"
BASE = "http://testserver"
PAIRS = [
    (Person("m_mentor1", "mentor", "Europe/Berlin", "de"), Person("m_mentee1", "mentee", "UTC")),
    (Person("m_mentor2", "mentor", "UTC"), Person("m_mentee2", "mentee", "UTC")),
]


@pytest.fixture
def site(tmp_path):
    engine, spec, _ = setup_program(f"sqlite:///{tmp_path / 's.db'}", "walk.yaml", PAIRS)
    client = TestClient(create_app(engine, secret_key=KEY, clock=FixedClock(NOW)))
    return client, engine, spec


def _path(url: str) -> str:
    return url.removeprefix(BASE)


def _rows(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(table)).all()


def test_get_and_head_show_one_button_and_change_nothing(site):
    client, engine, _ = site
    url = _path(links.check_in_url(BASE, "m_mentee1", "p_001", "checkin-1", "met"))
    page = client.get(url)
    assert page.status_code == 200 and page.text.count("<button") == 1
    assert 'method="post"' in page.text and "<script" not in page.text
    assert client.head(url).status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert _rows(engine, checkins) == []


def test_post_records_and_a_second_post_changes_nothing(site):
    client, engine, _ = site
    url = _path(links.check_in_url(BASE, "m_mentee1", "p_001", "checkin-1", "met"))
    first = client.post(url, data={"confirm": "yes"})
    assert first.status_code == 200 and "noted that you met" in first.text
    second = client.post(url, data={"confirm": "yes"})
    assert second.status_code == 200 and "Nothing changed" in second.text
    rows = _rows(engine, checkins)
    assert [(r.member_id, r.answer, r.occurrence) for r in rows] == [
        ("m_mentee1", "met", "checkin-1")
    ]


def test_the_page_speaks_the_members_language(site):
    client, _, _ = site
    url = _path(links.check_in_url(BASE, "m_mentor1", "p_001", "checkin-1", "not_yet"))
    page = client.get(url)
    assert '<html lang="de">' in page.text and "Noch nicht" in page.text


@pytest.mark.parametrize(
    "make",
    [
        lambda: links.check_in_url(BASE, "m_mentee1", "p_001", "checkin-1", "met")[:-3] + "AAA",
        lambda: links.check_in_url(BASE, "m_mentee1", "p_002", "checkin-1", "met"),  # not theirs
        lambda: links.check_in_url(BASE, "m_mentee1", "p_001", "checkin-1", "maybe"),
        lambda: BASE + "/checkin/" + links.make_link_token(links.PAUSE, "m_mentee1", p="p_001"),
    ],
    ids=["tampered", "another-members-pair", "unknown-answer", "other-purpose"],
)
def test_bad_links_are_refused_with_a_plain_page_and_change_nothing(site, make):
    client, engine, _ = site
    url = _path(make())
    assert client.get(url).status_code == 400
    refused = client.post(url, data={"confirm": "yes"})
    assert refused.status_code == 400 and "not valid" in refused.text
    assert _rows(engine, checkins) == []


def test_an_expired_link_is_refused(site, monkeypatch):
    client, engine, _ = site
    url = _path(links.check_in_url(BASE, "m_mentee1", "p_001", "checkin-1", "met"))
    monkeypatch.setitem(links.MAX_AGE_SECONDS, links.CHECK_IN, -1)
    assert client.post(url, data={"confirm": "yes"}).status_code == 400
    assert _rows(engine, checkins) == []


def test_cannot_make_it_work_ends_the_pair_without_fault_and_asks_for_two_rematches(site):
    client, engine, _ = site
    url = _path(links.check_in_url(BASE, "m_mentee2", "p_002", "checkin-1", "cannot"))
    assert client.post(url, data={"confirm": "yes"}).status_code == 200
    ended = {r.id: r for r in _rows(engine, matches)}["p_002"]
    assert ended.status == "ended" and "no-fault" in ended.end_reason
    requests = {(r.member_id, r.cause, r.status) for r in _rows(engine, rematch_requests)}
    assert requests == {("m_mentor2", "cannot", "open"), ("m_mentee2", "cannot", "open")}
    # the partner's link for the ended pair is refused now
    other = _path(links.check_in_url(BASE, "m_mentor2", "p_002", "checkin-1", "met"))
    assert client.post(other, data={"confirm": "yes"}).status_code == 400


def test_pause_records_a_pause_of_the_chosen_length_once(site):
    client, engine, spec = site
    url = _path(links.pause_url(BASE, "m_mentee1", spec.cycle.label))
    page = client.get(url)
    assert page.status_code == 200 and '<label for="choice">' in page.text
    assert client.post(url, data={"confirm": "yes", "choice": "2"}).status_code == 200
    again = client.post(url, data={"confirm": "yes", "choice": "2"})
    assert "already" in again.text
    (row,) = _rows(engine, member_pauses)
    assert row.kind == "pause" and (row.ends_at - row.starts_at).days == 14


def test_leaving_ends_the_pair_and_offers_the_partner_a_rematch(site):
    client, engine, spec = site
    url = _path(links.leave_url(BASE, "m_mentor1", spec.cycle.label))
    done = client.post(url, data={"confirm": "yes", "choice": "no_time"})
    assert done.status_code == 200 and "ausgestiegen" in done.text
    ended = {r.id: r for r in _rows(engine, matches)}["p_001"]
    assert ended.status == "ended" and ended.end_reason == "m_mentor1 left (no_time)"
    (offer,) = _rows(engine, rematch_requests)
    assert (offer.member_id, offer.cause, offer.status) == ("m_mentee1", "partner_left", "offered")
    accept = _path(links.rematch_url(BASE, "m_mentee1", "p_001"))
    assert client.post(accept, data={"confirm": "yes"}).status_code == 200
    assert _rows(engine, rematch_requests)[0].status == "open"
    assert "Nothing changed" in client.post(accept, data={"confirm": "yes"}).text
