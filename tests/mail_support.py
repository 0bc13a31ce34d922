"""Shared setup for mail tests: a store with one program, one cycle and some members."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, insert

from mentorflow.mail.settings import MailRuntime, SmtpLogin
from mentorflow.spec import load_spec
from mentorflow.spec.model import ProgramSpec, SecretRef, Smtp
from mentorflow.store.db import open_store
from mentorflow.store.repo import CycleRef, ensure_cycle, ensure_program
from mentorflow.store.tables import members

NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
PROGRAM = "pyladies-berlin"


SPEC = Path(__file__).resolve().parent / "data" / "mail" / "pyladies_berlin.yaml"


@lru_cache(maxsize=1)
def base_spec() -> ProgramSpec:
    return load_spec(SPEC)


def settings_for(
    tmp_path: Path,
    *,
    smtp: tuple[Smtp, SmtpLogin] | None = None,
    program_id: str = PROGRAM,
    program_name: str | None = None,
    daily_limit: int = 0,
    base_url: str = "https://mentoring.example.org",
) -> MailRuntime:
    """The mail runtime of the test program (tests/data/mail/pyladies_berlin.yaml), changed."""
    spec = base_spec()
    server, login = smtp if smtp is not None else (None, None)
    spec = replace(
        spec,
        program=replace(spec.program, id=program_id, name=program_name or spec.program.name),
        sender=replace(spec.sender, smtp=server, daily_limit=daily_limit, base_url=base_url),
    )
    return MailRuntime(spec=spec, base_url=base_url, outbox_dir=tmp_path / "outbox", login=login)


def smtp_settings(
    server: object, *, username: str | None = None, password: str | None = None
) -> tuple[Smtp, SmtpLogin]:
    """The spec's `sender.smtp` for a local test server, and the credentials as resolved."""
    refs = (SecretRef("env", "TEST_SMTP_USER"), SecretRef("env", "TEST_SMTP_PASSWORD"))
    smtp = Smtp(
        host=server.host,  # type: ignore[attr-defined]
        port=server.port,  # type: ignore[attr-defined]
        security="none",
        username=refs[0] if username else None,
        password=refs[1] if password else None,
        timeout_seconds=5,
    )
    return smtp, SmtpLogin(username, password)


def make_store(url: str) -> tuple[Engine, CycleRef]:
    engine = open_store(url)
    with engine.begin() as conn:
        ensure_program(conn, PROGRAM, "PyLadies Berlin Mentoring", NOW)
        cycle = ensure_cycle(conn, PROGRAM, "2027-1", date(2027, 2, 1), date(2027, 4, 26), NOW)
    return engine, cycle


def add_member(
    engine: Engine,
    member_id: str,
    email: str,
    name: str,
    language: str | None = "de",
    **extra: object,
) -> str:
    with engine.begin() as conn:
        conn.execute(
            insert(members).values(
                id=member_id,
                program_id=PROGRAM,
                email=email,
                name=name,
                language=language,
                timezone="Europe/Berlin",
                created_at=NOW,
                updated_at=NOW,
                **extra,
            )
        )
    return member_id


class DroppingSmtpServer:
    """A minimal SMTP server on loopback that closes the connection in the middle of DATA.

    aiosmtpd offers no hook before a message is complete, so this speaks just enough SMTP by
    hand. While `drops` > 0, each DATA gets its 354, the server reads what the client sends
    until the client pauses (`idle` seconds), then closes cleanly without answering: the
    message never completed. `before_354()` and `after_close()` let a test hold the client at
    a chosen moment. Afterwards it accepts normally and keeps each message's bytes.
    """

    def __init__(self, drops: int = 0, idle: float = 0.2) -> None:
        self.drops, self.idle = drops, idle
        self.messages: list[bytes] = []
        self.before_354: Callable[[], None] = lambda: None
        self.after_close: Callable[[], None] = lambda: None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        lines = _Lines(sock)
        with sock:
            sock.sendall(b"220 dropper ready\r\n")
            while (line := lines.next()) is not None:
                verb = line[:4].upper()
                if verb == b"QUIT":
                    sock.sendall(b"221 bye\r\n")
                    return
                if verb != b"DATA":
                    sock.sendall(b"250 ok\r\n")
                    continue
                if self.drops > 0:
                    self.drops -= 1
                    self.before_354()
                    sock.sendall(b"354 go ahead\r\n")
                    lines.drain(self.idle)
                    sock.close()  # all read: a clean close (FIN), and no reply ever
                    self.after_close()
                    return
                sock.sendall(b"354 go ahead\r\n")
                self.messages.append(lines.data())
                sock.sendall(b"250 queued\r\n")

    def stop(self) -> None:
        # close() alone leaves a thread blocked in accept() listening on Linux; shutdown wakes it.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()


class _Lines:
    """CRLF lines from a socket, with a way to swallow everything until the peer pauses."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def next(self) -> bytes | None:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line + b"\r\n"

    def data(self) -> bytes:
        body = []
        while (line := self.next()) not in (None, b".\r\n"):
            body.append(line[1:] if line.startswith(b"..") else line)  # type: ignore[union-attr]
        return b"".join(body)  # type: ignore[arg-type]

    def drain(self, idle: float) -> None:
        self.sock.settimeout(idle)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            pass


WELCOME_CONTEXT = {"role": "mentee", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"}


def queue_mails(
    engine: Engine,
    cycle: CycleRef,
    settings: MailRuntime,
    template: str,
    count: int,
    *,
    new_members: bool = True,
) -> None:
    """`count` new members m_000... (p000@example.org...), each with one `template` mail queued
    (`new_members=False`: the members exist already)."""
    from mentorflow.clock import FixedClock
    from mentorflow.mail.outbox import enqueue
    from mentorflow.mail.samples import sample_context

    context = WELCOME_CONTEXT
    if template == "introduction":
        context = sample_context("introduction", settings.base_url, "de", "Europe/Berlin")
    for i in range(count):
        if new_members:
            add_member(engine, f"m_{i:03d}", f"p{i:03d}@example.org", f"Person {i}")
        enqueue(
            engine,
            settings=settings,
            cycle_id=cycle.id,
            cycle_label=cycle.label,
            member_id=f"m_{i:03d}",
            purpose=template,
            template=template,
            clock=FixedClock(NOW),
            context=context,
        )


# A sender process: `python -c RUN_SENDER <store url> <folder> <smtp port>` delivers the test
# program's due mail to 127.0.0.1:<port> and prints its DeliveryReport.
RUN_SENDER = """
import sys
from pathlib import Path
from mentorflow.clock import FixedClock
from mentorflow.mail.outbox import deliver_pending
from mentorflow.mail.sender import sender_for
from mentorflow.store.db import make_engine
from types import SimpleNamespace
from tests.mail_support import NOW, settings_for, smtp_settings

url, folder, port = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
settings = settings_for(folder, smtp=smtp_settings(SimpleNamespace(host="127.0.0.1", port=port)))
report = deliver_pending(
    make_engine(url), settings=settings, sender=sender_for(settings), clock=FixedClock(NOW)
)
print(report)
"""
