"""`mentorflow serve` on loopback: huge bodies cost nothing, the access log holds no token."""

from __future__ import annotations

import io
import logging
import resource
import socket
import threading
import time

import pytest
import uvicorn

from mentorflow.mail.tokens import UNSUBSCRIBE, make_token
from mentorflow.web import create_app
from mentorflow.web.server import log_config
from tests.e2e.conftest import free_port
from tests.mail_support import add_member, make_store

KEY = "e2e-test-key"


@pytest.fixture
def server(tmp_path):
    """(port, access log text) of a real uvicorn configured as `mentorflow serve` configures it."""
    engine, _ = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    add_member(engine, "m_zoe", "zoe@example.org", "Zoë", "de")
    port = free_port()
    config = uvicorn.Config(
        create_app(engine, secret_key=KEY), port=port, log_config=log_config(), log_level="info"
    )
    access = io.StringIO()
    for handler in logging.getLogger("uvicorn.access").handlers:
        handler.setStream(access)  # type: ignore[attr-defined]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port, access
    server.should_exit = True
    thread.join(timeout=5)


def _post(port: int, path: str, length: int | None, send: int) -> bytes:
    """POST declaring `length` bytes (None: chunked), sending up to `send`; the status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        size = f"Content-Length: {length}" if length else "Transfer-Encoding: chunked"
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{size}\r\n\r\n".encode())
        chunk, sent = b"x" * 65536, 0
        if length is None:
            chunk = b"10000\r\n" + chunk + b"\r\n"
        sock.settimeout(0.5)
        try:
            while sent < send:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server answered and stopped reading: what we want
        sock.settimeout(10)
        return sock.recv(4096).split(b"\r\n", 1)[0]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_large_post_to_a_bogus_token_is_answered_without_buffering_it(server) -> None:
    port, _ = server
    before = _peak_mb()
    status = _post(port, "/unsubscribe/bogus", length=None, send=300_000_000)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert _peak_mb() - before < 50  # the old server kept all 300 MB


@pytest.mark.parametrize("length", [10_000_000, None], ids=["declared", "chunked"])
def test_a_large_post_to_a_real_token_gets_413(server, length: int | None) -> None:
    port, _ = server
    path = f"/unsubscribe/{make_token(UNSUBSCRIBE, 'm_zoe', KEY)}"
    assert _post(port, path, length=length, send=10_000_000) == (
        b"HTTP/1.1 413 Request Entity Too Large"
    )


def test_the_access_log_never_records_a_token(server) -> None:
    port, access = server
    token = make_token(UNSUBSCRIBE, "m_zoe", KEY)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET /unsubscribe/{token} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    time.sleep(0.2)
    log = access.getvalue()
    assert "GET /unsubscribe/<token> HTTP/1.1" in log and token not in log
