"""The delivery flow: mail queued in the store reaches a real SMTP server; 4xx retries the task."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from prefect import flow

from flows.deliver import deliver_mail, send_mail
from mentorflow.clock import FixedClock
from mentorflow.mail.outbox import enqueue
from mentorflow.spec import load_spec
from mentorflow.store.repo import ensure_cycle, ensure_program
from tests.e2e.conftest import SmtpServer
from tests.mail_support import NOW, add_member, make_store, settings_for, smtp_settings

ROOT = Path(__file__).resolve().parents[2]
WELCOME = {"role": "mentee", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"}


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def _queue(engine, cycle, settings, count=3):
    for i in range(count):
        add_member(engine, f"m_{i}", f"p{i}@example.org", f"Person {i}")
        enqueue(
            engine,
            settings=settings,
            cycle_id=cycle.id,
            cycle_label=cycle.label,
            member_id=f"m_{i}",
            purpose="welcome",
            template="welcome",
            context=WELCOME,
            clock=FixedClock(NOW),
        )


def _spec_with_smtp(tmp_path: Path, port: int) -> Path:
    text = (ROOT / "program_specs" / "one_to_one.yaml").read_text(encoding="utf-8")
    # The CSV must sit in the spec's folder (or MENTORFLOW_DATA_DIR): copy it beside the spec.
    shutil.copytree(ROOT / "program_specs" / "intake", tmp_path / "intake", dirs_exist_ok=True)
    smtp = f"  smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout_seconds: 5}}\n"
    text = text.replace(
        "  base_url: http://127.0.0.1:8000\n", "  base_url: http://127.0.0.1:8000\n" + smtp
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_send_mail_flow_delivers_the_programs_pending_mail(smtp_server, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    spec_path = _spec_with_smtp(tmp_path, smtp_server.port)
    program_id = load_spec(spec_path).program.id
    engine, cycle = make_store(url)
    settings = settings_for(tmp_path, program_id=program_id)
    with engine.begin() as conn:  # the spec's program and cycle, beside the test program
        ensure_program(conn, program_id, "Demo", NOW)
        cycle = ensure_cycle(conn, program_id, "2027-1", cycle.starts_on, cycle.ends_on, NOW)
    _queue(engine, cycle, settings)
    counts = send_mail(str(spec_path))
    assert counts["sent"] == 3
    assert sorted(m["To"].addresses[0].username for m in smtp_server.messages) == ["p0", "p1", "p2"]
    # delivered with the spec's sender settings
    assert smtp_server.messages[0]["From"].addresses[0].display_name == "Demo-Mentoring Berlin"
    assert smtp_server.messages[0]["Reply-To"] == "orga@example.org"


def test_a_421_makes_the_task_retry_and_every_mail_arrives_once(smtp_server, tmp_path):
    engine, cycle = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = settings_for(tmp_path, smtp=smtp_settings(smtp_server))
    _queue(engine, cycle, settings)
    smtp_server.mail_replies.append("421 4.7.0 Too many connections, try later")
    quick = deliver_mail.with_options(retry_delay_seconds=0)

    @flow
    def deliver():
        return quick(engine, settings)

    report = deliver()
    assert report.sent == 3 and smtp_server.connections == 2
    assert len(smtp_server.messages) == 3


def test_a_server_that_is_down_costs_seconds_not_minutes_and_mail_stays_queued(
    smtp_server, tmp_path
):
    engine, cycle = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = settings_for(tmp_path, smtp=smtp_settings(smtp_server))
    _queue(engine, cycle, settings, count=2)
    smtp_server.stop()

    @flow
    def deliver():
        return deliver_mail(engine, settings)  # the real retry delays: 10, 60, 300 s

    started = time.monotonic()
    report = deliver()
    assert time.monotonic() - started < 5  # no retries: the next run is the retry
    assert (report.sent, report.pending) == (0, 2)
    smtp_server.start()
    assert deliver().sent == 2


def test_smtp_password_from_a_prefect_secret_block_is_resolved(tmp_path, monkeypatch):
    from prefect.blocks.system import Secret

    from flows.deliver import mail_settings

    Secret(value="s3cret-from-block").save("mentorflow-test-smtp", overwrite=True)
    monkeypatch.setenv("MENTORFLOW_TEST_SMTP_USER", "apikey")
    text = (Path(__file__).resolve().parents[2] / "program_specs" / "one_to_one.yaml").read_text(
        encoding="utf-8"
    )
    smtp = (
        "  smtp: {host: 127.0.0.1, port: 2525, security: none,"
        " username: {env: MENTORFLOW_TEST_SMTP_USER},"
        " password: {secret_block: mentorflow-test-smtp}}\n"
    )
    text = text.replace(
        "  base_url: http://127.0.0.1:8000\n", "  base_url: http://127.0.0.1:8000\n" + smtp
    )
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(text, encoding="utf-8")
    settings = mail_settings(load_spec(spec_path))
    assert settings.login is not None
    assert settings.login.password == "s3cret-from-block"
    assert settings.login.username == "apikey"
