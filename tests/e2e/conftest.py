"""End-to-end fixtures: a real SMTP server (tests/smtp_support.py's `SmtpServer`: aiosmtpd,
in-process, 127.0.0.1, random port, with fault hooks) and a real uvicorn for the web app."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.smtp_support import SmtpServer, free_port

__all__ = ["SmtpServer", "free_port", "serving", "smtp_server"]


@contextmanager
def serving(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """`app` under a real uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
