"""Servers that fail in the ways that lose mail: closed mid-DATA, or not there at all.

A mail whose final "." never reached a server that was still listening must stay pending (and
go out once on a later run), never be recorded as sent; a server that is down costs one quick
line, not minutes of retries.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from benchmarks.faultlib import spec_with_smtp
from mentorflow.cli.main import app
from mentorflow.clock import FixedClock
from mentorflow.errors import SmtpUnreachableError, TemporaryMailError
from mentorflow.mail.outbox import deliver_pending, enqueue
from mentorflow.mail.sender import sender_for
from mentorflow.spec import load_spec
from mentorflow.store.repo import ensure_cycle, ensure_program
from mentorflow.store.tables import outbox
from tests.e2e.conftest import free_port
from tests.mail_support import (
    NOW,
    DroppingSmtpServer,
    add_member,
    make_store,
    settings_for,
    smtp_settings,
)

ROOT = Path(__file__).resolve().parents[2]
CLOCK = FixedClock(NOW)
WELCOME = {"role": "mentee", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"}
runner = CliRunner()


@pytest.fixture
def dropper():
    server = DroppingSmtpServer(drops=3)
    yield server
    server.stop()


def _hold_store_while_the_server_drops(server: DroppingSmtpServer, db: Path) -> None:
    """Keep the store's write lock from just before the 354 until the server has closed, so
    the sender's `sending` commit (its handover) waits, and the server is surely gone by the
    time the final "." would be written: the case that used to be recorded as sent."""
    held: list[sqlite3.Connection] = []

    def lock() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.append(conn)

    def unlock() -> None:
        conn = held.pop()
        conn.execute("ROLLBACK")
        conn.close()

    server.before_354, server.after_close = lock, unlock


def _queue(engine, cycle, settings, names):
    for name in names:
        add_member(engine, f"m_{name}", f"{name}@example.org", name.upper())
        enqueue(
            engine,
            settings=settings,
            cycle_id=cycle.id,
            cycle_label=cycle.label,
            member_id=f"m_{name}",
            purpose="welcome",
            template="welcome",
            context=WELCOME,
            clock=CLOCK,
        )


def _statuses(engine):
    with engine.connect() as conn:
        return [r.status for r in conn.execute(select(outbox.c.status).order_by(outbox.c.id))]


def _recipients(server: DroppingSmtpServer) -> list[str]:
    parse = BytesParser(policy=policy.default).parsebytes
    return [parse(raw)["To"].addresses[0].username for raw in server.messages]


def test_a_server_closing_mid_data_leaves_the_mail_pending_then_it_goes_out_once(dropper, tmp_path):
    engine, cycle = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = settings_for(tmp_path, smtp=smtp_settings(dropper))
    _queue(engine, cycle, settings, ["a", "b", "c"])
    _hold_store_while_the_server_drops(dropper, tmp_path / "store.db")
    for _ in range(3):  # three of three such mails used to be recorded "sent (unconfirmed)"
        with pytest.raises(TemporaryMailError) as caught:
            deliver_pending(
                engine,
                settings=settings,
                sender=sender_for(settings),
                clock=CLOCK,
            )
        assert caught.value.report.sent == 0 and caught.value.report.unconfirmed == 0
        assert "not completed" in str(caught.value) and "@" not in str(caught.value)
        assert _statuses(engine) == ["pending", "pending", "pending"]
    report = deliver_pending(engine, settings=settings, sender=sender_for(settings), clock=CLOCK)
    assert report.sent == 3 and _recipients(dropper) == ["a", "b", "c"]  # each exactly once
    assert _statuses(engine) == ["sent", "sent", "sent"]


def _spec_with_smtp(tmp_path: Path, port: int) -> Path:
    text = (ROOT / "program_specs" / "one_to_one.yaml").read_text(encoding="utf-8")
    # the form export sits beside the spec, as the CSV confinement asks
    shutil.copytree(ROOT / "program_specs" / "intake", tmp_path / "intake", dirs_exist_ok=True)
    text = spec_with_smtp(text, port)
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _cli_store(tmp_path: Path, monkeypatch, spec_path: Path, names: list[str]):
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    spec = load_spec(spec_path)
    engine, _ = make_store(url)
    with engine.begin() as conn:
        ensure_program(conn, spec.program.id, spec.program.name, NOW)
        cycle = ensure_cycle(
            conn, spec.program.id, "2027-1", spec.cycle.start, spec.cycle.start, NOW
        )
    _queue(engine, cycle, settings_for(tmp_path, program_id=spec.program.id), names)
    return engine


def test_send_never_says_sent_for_a_mail_dropped_mid_data(dropper, tmp_path, monkeypatch):
    spec_path = _spec_with_smtp(tmp_path, dropper.port)
    engine = _cli_store(tmp_path, monkeypatch, spec_path, ["zoe"])
    _hold_store_while_the_server_drops(dropper, tmp_path / "store.db")
    dropped = runner.invoke(app, ["send", str(spec_path)])
    assert dropped.exit_code == 75, dropped.output
    assert "1 sent" not in dropped.output and "not completed and stays pending" in dropped.output
    assert _statuses(engine) == ["pending"]
    dropper.drops = 0
    sent = runner.invoke(app, ["send", str(spec_path)])
    assert sent.exit_code == 0 and "1 sent" in sent.output, sent.output
    assert _recipients(dropper) == ["zoe"]


def test_send_to_a_server_that_is_down_fails_fast_with_one_clear_line(tmp_path, monkeypatch):
    port = free_port()  # nothing listens there
    spec_path = _spec_with_smtp(tmp_path, port)
    engine = _cli_store(tmp_path, monkeypatch, spec_path, ["a", "b"])
    started = time.monotonic()
    result = runner.invoke(app, ["send", str(spec_path)])
    assert time.monotonic() - started < 5
    assert result.exit_code == 75
    assert result.output.strip() == (
        f"SMTP server 127.0.0.1:{port} refused the connection; "
        "2 mail(s) stay pending for the next run"
    )
    assert _statuses(engine) == ["pending", "pending"]


def test_an_unreachable_server_is_its_own_error(tmp_path):
    engine, cycle = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    nobody = SimpleNamespace(host="127.0.0.1", port=free_port())  # nothing listens there
    settings = settings_for(tmp_path, smtp=smtp_settings(nobody))
    _queue(engine, cycle, settings, ["a"])
    with pytest.raises(SmtpUnreachableError) as caught:
        deliver_pending(
            engine,
            settings=settings,
            sender=sender_for(settings),
            clock=CLOCK,
        )
    assert caught.value.report.pending == 1
