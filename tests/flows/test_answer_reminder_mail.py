"""A pause that waits too long tells the organizers by mail: once per pause, ids only."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from prefect.flow_runs import resume_flow_run
from sqlalchemy import select

from flows.matching import matching
from flows.tick import tick
from mentorflow.store.tables import outbox
from tests.flows.test_intake_flow import smtp_server  # noqa: F401 (fixture)
from tests.flows.test_matching_flow import _wait_paused
from tests.organizer_support import NAME, organizer_spec, seed_cycle

pytestmark = pytest.mark.flow


def _reminders(engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(outbox).where(outbox.c.purpose == "answer_reminder")).all()


def test_a_pause_past_the_limit_gets_one_mail_and_a_fresh_one_none(
    tmp_path,
    monkeypatch,
    smtp_server,  # noqa: F811
):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    engine, _cycle = seed_cycle(url)
    spec = organizer_spec(tmp_path)
    smtp = f"  smtp: {{host: 127.0.0.1, port: {smtp_server.port}, security: none}}\n"
    text = spec.read_text(encoding="utf-8").replace("sender:\n", "sender:\n" + smtp, 1)
    spec.write_text(text, encoding="utf-8")
    outcome: dict = {}
    runner = threading.Thread(target=lambda: outcome.update(matching(str(spec), 1, 600, 1)))
    runner.start()
    try:
        run_id, paused_at = _wait_paused()
        # the spec's default: a reminder after 2 days (engagement.answer_reminder_after)
        tick(str(spec), as_of=(paused_at + timedelta(days=1, hours=23)).isoformat())
        assert _reminders(engine) == []  # still fresh
        tick(str(spec), as_of=(paused_at + timedelta(days=2, hours=5)).isoformat())
        tick(str(spec), as_of=(paused_at + timedelta(days=3)).isoformat())  # one per pause
    finally:
        resume_flow_run(run_id, run_input={"approve_all": True})
        runner.join(timeout=120)
    (mail,) = _reminders(engine)
    assert mail.to_addr == "orga@example.org" and mail.member_id is None
    assert mail.status == "sent"
    (sent,) = [m for m in smtp_server.to("orga@example.org") if "wartet seit" in m["Subject"]]
    assert "matching" in sent["Subject"] and "53 Stunden" in sent["Subject"]
    body = sent.get_body(("plain",)).get_content()
    assert str(run_id) in body and "demo-mentoring/matching/" in body
    assert "http://127.0.0.1:8000/organizer/demo-mentoring/proposal" in body
    assert f"mentorflow approve {spec} --all" in body
    # ids only: no member's name or address reaches the organizers' reminder
    assert "m_" not in body and NAME.split()[0] not in body and "person" not in body
