"""Pieces of the fault suite that tests share: runs killed with SIGKILL, and an exact mail account.

- `forked(work)` runs `work()` in a forked child (everything already imported: a trial costs
  milliseconds, not an interpreter start) and tells how it ended: "ok", "error" (a
  MentorflowError: a clear message), "crash" (any other exception: an unhandled traceback) or
  "killed"; `attempt(work)` does the same in this process;
- `kill_at_event(stage, nth, pids)` is an `SmtpServer.on_event` hook that SIGKILLs the sender at
  the nth "MAIL" / "RCPT" / "DATA" / "REPLIED" of the transaction, `kill_after(seconds, pid)`
  at a moment;
- `account(engine, messages)` says, for one program's outbox and what the server received,
  how many messages arrived twice, how many mails are silently lost (recorded sent but never
  received, or in no state that explains them) and how many are unconfirmed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, select

from mentorflow.errors import MentorflowError
from mentorflow.store.tables import outbox

KILLED, OK, ERROR, CRASH = "killed", "ok", "error", "crash"
# States that explain a mail without its reaching the server: it waits, or it failed with a reason.
WAITING = {"pending", "claimed", "sending"}
EXPLAINED = {"unconfirmed", "failed", "bounced", "suppressed", "as_file"}


@dataclass
class Ending:
    """How a forked run ended, and what it said (the error message or the traceback)."""

    how: str
    said: str = ""


def forked(work: Callable[[], object], on_start: Callable[[int], None] | None = None) -> Ending:
    """Run `work()` in a forked child; `on_start(pid)` runs in the parent once it exists."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into the caller's code
        os.close(read)
        code, said = _run_child(work)
        os.write(write, said.encode("utf-8", "replace")[-8000:])
        os._exit(code)
    os.close(write)
    if on_start is not None:
        on_start(pid)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return Ending(KILLED, said)
    return Ending({0: OK, 2: ERROR}.get(os.WEXITSTATUS(status), CRASH), said)


def attempt(work: Callable[[], object]) -> Ending:
    """Run `work()` in this process and tell how it ended, as `forked` does for a child."""
    code, said = _run_child(work)
    return Ending({0: OK, 2: ERROR}.get(code, CRASH), said)


def _run_child(work: Callable[[], object]) -> tuple[int, str]:
    try:
        work()
    except MentorflowError as error:
        return 2, f"{type(error).__name__}: {error}"
    except BaseException:
        return 3, traceback.format_exc()
    return 0, ""


def kill_at_event(stage: str, nth: int, pids: list[int]) -> Callable[[str], None]:
    """An SMTP server hook that SIGKILLs `pids[0]` at the nth `stage` event."""
    seen: Counter[str] = Counter()

    def on_event(event: str) -> None:
        seen[event] += 1
        if event == stage and seen[event] == nth and pids:
            os.kill(pids[0], signal.SIGKILL)

    return on_event


def kill_after(seconds: float, pid: int) -> threading.Timer:
    """SIGKILL `pid` in `seconds` (a no-op if it has ended by then)."""

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(seconds, kill)
    timer.start()
    return timer


@dataclass
class Account:
    """One program's mail after a fault (and the reruns that follow it)."""

    duplicates: int = 0  # extra copies that reached the server, plus delivered mails still due
    lost: int = 0  # silent losses: recorded sent but never received, or owed and missing
    unconfirmed: int = 0  # fate unknown, and said so (status `unconfirmed`, with its reason)
    notes: list[str] = field(default_factory=list)

    def add(self, other: Account) -> None:
        self.duplicates += other.duplicates
        self.lost += other.lost
        self.unconfirmed += other.unconfirmed
        self.notes.extend(other.notes)


def account(engine: Engine, messages: Iterable[EmailMessage], owed: Iterable[str] = ()) -> Account:
    """Compare the outbox with the messages the server received (by Message-ID).

    `owed`: outbox keys that must exist (a tick's mails); a missing one is a silent loss.
    """
    received = Counter(str(m["Message-ID"]) for m in messages)
    result = Account(duplicates=sum(n - 1 for n in received.values() if n > 1))
    columns = (outbox.c.key, outbox.c.status, outbox.c.message_id, outbox.c.last_error)
    with engine.connect() as conn:
        rows = list(conn.execute(select(*columns)))
    for row in rows:
        result.add(_fate(row, received.get(row.message_id, 0)))
    missing = set(owed) - {row.key for row in rows}
    if missing:
        result.lost += len(missing)
        result.notes.append(f"{len(missing)} owed mail(s) never queued")
    return result


def _fate(row, copies: int) -> Account:  # type: ignore[no-untyped-def]
    if row.status == "sent":
        if copies:
            return Account()
        return Account(lost=1, notes=[f"{row.key}: recorded sent, never received"])
    if row.status in WAITING:
        if copies:  # delivered, yet the next run would send it again
            return Account(duplicates=1, notes=[f"{row.key}: received, still {row.status}"])
        return Account()
    if row.status == "unconfirmed":
        return Account(unconfirmed=1)
    if row.status in EXPLAINED and (row.last_error or row.status == "as_file"):
        return Account()
    return Account(lost=1, notes=[f"{row.key}: {row.status} without a reason"])


def copy_sqlite(template: Path, target: Path) -> str:
    """A fresh copy of a checkpointed SQLite store; its URL."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    target.write_bytes(template.read_bytes())
    return f"sqlite:///{target}"


def spec_with_smtp(text: str, port: int, extra: str = "") -> str:
    """A spec's text whose sender delivers to a local server on `port` (after its base_url)."""
    marker = "  base_url: http://127.0.0.1:8000\n"
    smtp = f"  smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout_seconds: 5}}\n"
    assert marker in text, "the spec has no base_url line to put the SMTP server after"
    return text.replace(marker, marker + extra + smtp)
