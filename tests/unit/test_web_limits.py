"""Web app limits: large bodies refused, the token checked before any body, 500s with headers."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from mentorflow.clock import FixedClock
from mentorflow.mail.tokens import UNSUBSCRIBE, make_token
from mentorflow.store.tables import members
from mentorflow.web import create_app
from mentorflow.web.app import MAX_BODY_BYTES, SECURITY_HEADERS
from mentorflow.web.server import redact_path
from tests.mail_support import NOW, add_member, make_store

KEY = "unit-test-key"


@pytest.fixture
def store(tmp_path):
    engine, _ = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    add_member(engine, "m_zoe", "zoe@example.org", "Zoë", "de")
    return engine


@pytest.fixture
def client(store):
    app = create_app(store, secret_key=KEY, clock=FixedClock(NOW))
    return TestClient(app, raise_server_exceptions=False)


def _url() -> str:
    return f"/unsubscribe/{make_token(UNSUBSCRIBE, 'm_zoe', KEY)}"


def _unsubscribed(engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(members.c.unsubscribed_at)).scalar_one() is not None


def _has_security_headers(response) -> bool:
    return all(response.headers.get(k.decode()) == v.decode() for k, v in SECURITY_HEADERS.items())


def test_a_declared_large_body_gets_413_with_headers_and_changes_nothing(client, store) -> None:
    response = client.post(_url(), content=b"x" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413 and _has_security_headers(response)
    assert not _unsubscribed(store)


def test_a_streamed_large_body_gets_413(client, store) -> None:
    chunks = (b"x" * 8192 for _ in range(MAX_BODY_BYTES // 8192 + 2))  # sent chunked
    response = client.post(_url(), content=chunks)
    assert response.status_code == 413 and not _unsubscribed(store)


def test_a_small_body_still_unsubscribes(client, store) -> None:
    response = client.post(_url(), content=b"List-Unsubscribe=One-Click")
    assert response.status_code == 200 and _unsubscribed(store)


def test_a_bogus_token_is_refused_before_any_body_is_read(store) -> None:
    app = create_app(store, secret_key=KEY, clock=FixedClock(NOW))
    reads, sent = [], []

    async def receive():
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/unsubscribe/not-a-token",
        "raw_path": b"/unsubscribe/not-a-token",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-length", b"1000")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400 and reads == []


def test_a_server_error_carries_the_security_headers(client, store) -> None:
    with store.begin() as conn:
        conn.execute(text("DROP TABLE members"))
    response = client.get(_url())
    assert response.status_code == 500 and _has_security_headers(response)


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/unsubscribe/eyJ.abc-def", "/unsubscribe/<token>"),
        ("/unsubscribe/eyJ.abc?List-Unsubscribe=One-Click", "/unsubscribe/<token>?<query>"),
        ("/healthz", "/healthz"),
        ("/", "/"),
    ],
)
def test_the_access_log_keeps_the_route_and_drops_the_token(path: str, logged: str) -> None:
    assert redact_path(path) == logged
