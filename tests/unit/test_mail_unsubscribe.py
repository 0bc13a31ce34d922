"""Unsubscribe links: GET only shows, POST and one-click POST act, forged tokens change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from mentorflow.clock import FixedClock
from mentorflow.mail.tokens import UNSUBSCRIBE, make_token
from mentorflow.store.tables import events, members
from mentorflow.web import create_app
from tests.mail_support import NOW, add_member, make_store

KEY = "unit-test-key"


@pytest.fixture
def client(tmp_path):
    engine, _ = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    add_member(engine, "m_zoe", "zoe@example.org", "Zoë", "de")
    app = create_app(engine, secret_key=KEY, clock=FixedClock(NOW))
    return TestClient(app), engine


def _unsubscribed_at(engine):
    with engine.connect() as conn:
        return conn.execute(select(members.c.unsubscribed_at)).scalar_one()


def test_get_shows_a_confirmation_and_changes_nothing(client):
    http, engine = client
    response = http.get(f"/unsubscribe/{make_token(UNSUBSCRIBE, 'm_zoe', KEY)}")
    assert response.status_code == 200
    assert "Ja, abmelden" in response.text and 'method="post"' in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert _unsubscribed_at(engine) is None


def test_one_click_post_unsubscribes_once(client):
    http, engine = client
    url = f"/unsubscribe/{make_token(UNSUBSCRIBE, 'm_zoe', KEY)}"
    response = http.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "abgemeldet" in response.text
    assert _unsubscribed_at(engine) is not None
    http.post(url, data={"List-Unsubscribe": "One-Click"})
    with engine.connect() as conn:
        kinds = conn.execute(select(events.c.kind)).scalars().all()
    assert kinds == ["unsubscribed"]
    assert "bereits abgemeldet" in http.get(url).text


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        make_token(UNSUBSCRIBE, "m_zoe", "another-key"),  # forged: wrong key
        make_token("survey", "m_zoe", KEY),  # a token for another purpose
        make_token(UNSUBSCRIBE, "m_nobody", KEY),  # unknown member
    ],
)
def test_forged_or_unknown_tokens_are_refused_without_change(client, token):
    http, engine = client
    assert http.get(f"/unsubscribe/{token}").status_code == 400
    response = http.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400 and "ungültig" in response.text
    assert _unsubscribed_at(engine) is None
