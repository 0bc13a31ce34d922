"""One delivery per program at a time: a lock that dies with its holder.

`deliver_pending` treats a row still `sending` as handed over by a sender that stopped; with a
second sender of the same program running (two workers, a tick and a manual `send`), that row is
the other one's mail in flight, and an introduction would go out twice. So a delivery first
takes the program's delivery lock and holds it to the end:

- SQLite: an exclusive `flock` on `<database file>.<program>.delivery.lock` beside the store;
- PostgreSQL: a session advisory lock keyed by the program id, on a connection of its own.

Both are released by the operating system or the server when the holder dies, kill -9 included,
so a stopped sender never blocks the next one. A second delivery waits for the first to end
(then finds every row of the first in its final state), at most `wait_seconds`; then it raises
TemporaryMailError and its mail stays pending. Other databases (and in-memory SQLite) get no lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from mentorflow.errors import TemporaryMailError

WAIT_SECONDS = 600.0
_POLL = 0.05


@contextmanager
def delivery_lock(
    engine: Engine, program_id: str, wait_seconds: float = WAIT_SECONDS
) -> Iterator[None]:
    """Hold program `program_id`'s delivery lock for the block (see the module docstring)."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, program_id, wait_seconds):
            yield
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with _file_lock(Path(f"{database}.{program_id}.delivery.lock"), program_id, wait_seconds):
        yield


def _busy(program_id: str, wait_seconds: float) -> TemporaryMailError:
    return TemporaryMailError(
        f"another delivery of program {program_id} is still running after {wait_seconds:.0f} s; "
        "its mail stays pending for the next run"
    )


@contextmanager
def _file_lock(path: Path, program_id: str, wait_seconds: float) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(program_id, wait_seconds) from None
                time.sleep(_POLL)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _key(program_id: str) -> int:
    """A stable signed 64-bit advisory lock key for the program."""
    digest = hashlib.blake2b(f"mentorflow-delivery:{program_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


@contextmanager
def _advisory_lock(engine: Engine, program_id: str, wait_seconds: float) -> Iterator[None]:
    key = _key(program_id)
    with engine.connect() as conn:
        deadline = time.monotonic() + wait_seconds
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            conn.commit()  # no transaction held open while waiting
            if time.monotonic() >= deadline:
                raise _busy(program_id, wait_seconds)
            time.sleep(_POLL)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
