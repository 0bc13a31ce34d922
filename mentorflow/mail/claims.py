"""Delivery claims: one durable commit per batch of mails, and still an exact account after a crash.

A mail must be durably marked before its final "." leaves (else a crash right after it would
send it again), and one fsync per mail costs more than sending it. So the sender claims a batch
of `CLAIM_BATCH` rows (`pending -> claimed`) in one durable commit, then per mail records
`claimed -> sending` just before the "." and the outcome after the reply with *light* commits.

On SQLite in WAL mode a light commit is `synchronous=NORMAL`: the transaction is written to the
WAL through the operating system, without waiting for the disk. It survives the sender's crash
or kill -9 (the kernel holds the write), not an operating-system crash or power loss. A claim
therefore records the epoch in which its light commits live: `boot:<kernel boot id>`. A sender
that later finds a row still `claimed` knows:

- same boot: every light commit of the stopped sender is there, so a row still `claimed` never
  reached `sending`, its "." was never written: it goes back to `pending`, exactly as today;
- another boot (the machine went down): light commits may be lost, so the row may have been
  handed over: it becomes `unconfirmed` (never sent twice, never silently lost). At most one
  batch is affected.

Elsewhere (PostgreSQL, where every commit is durable on the server; SQLite without WAL, or
without a kernel boot id) light commits are ordinary commits and the epoch is `durable`: a
`claimed` row is always surely unsent. When the delivery ends, the WAL is synced, so its outcomes
are as durable as any other commit once `deliver_pending` returns.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from sqlalchemy import Connection

CLAIM_BATCH = 16  # mails per durable commit: also the most that a power loss makes unconfirmed
DURABLE = "durable"
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def current_epoch() -> str:
    """The epoch light commits made now live in (see the module docstring); DURABLE without one."""
    try:
        return "boot:" + _BOOT_ID.read_text().strip()
    except OSError:
        return DURABLE


class Commits:
    """Light and durable commits on the delivery connection (a context manager around a batch)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._wal: Path | None = _wal_file(conn)
        self.epoch = current_epoch() if self._wal is not None else DURABLE
        if self.epoch == DURABLE:
            self._wal = None
        self._synchronous: int | None = None
        self._dirty = False  # light commits not yet on disk

    def __enter__(self) -> Commits:
        if self._wal is not None:
            self._synchronous = int(str(self._pragma("synchronous")))
            self.conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        return self

    def light(self) -> None:
        """Commit; on WAL SQLite without waiting for the disk (survives a crash of this process)."""
        self.conn.commit()
        self._dirty = self._wal is not None

    def durable(self) -> None:
        """Commit, and return only once it (and every light commit before it) is on disk."""
        self.conn.commit()
        self._sync()

    def _sync(self) -> None:
        if self._wal is not None:
            fd = os.open(self._wal, os.O_RDONLY)
            try:
                os.fsync(fd)  # what synchronous=FULL does at each commit, once for the batch
            finally:
                os.close(fd)
        self._dirty = False

    def _pragma(self, name: str) -> object:
        return self.conn.exec_driver_sql(f"PRAGMA {name}").scalar()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._wal is None:
            return
        if kind is None:
            self.conn.commit()
        else:
            self.conn.rollback()  # half a transaction is never committed on the way out
        if self._dirty:
            self._sync()
        self.conn.exec_driver_sql(f"PRAGMA synchronous={self._synchronous}")


def _wal_file(conn: Connection) -> Path | None:
    """The WAL file of a file-backed SQLite store in WAL mode, else None."""
    if conn.dialect.name != "sqlite":
        return None
    if str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower() != "wal":
        return None
    for row in conn.exec_driver_sql("PRAGMA database_list"):
        if row[1] == "main" and row[2]:
            return Path(row[2] + "-wal")
    return None
