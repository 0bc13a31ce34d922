"""A failed run tells the program's organizers by mail, once per run, naming no member."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from mentorflow.cli.main import app
from mentorflow.store.db import open_store
from mentorflow.store.tables import outbox
from tests.flows.test_intake_flow import demo_spec


def _alerts() -> list:
    with open_store().connect() as conn:
        return conn.execute(select(outbox).where(outbox.c.purpose == "run_failed")).all()


def test_a_failed_intake_mails_each_organizer_once_with_the_run(tmp_path, store):
    spec = demo_spec(tmp_path)
    (tmp_path / "form.csv").unlink()  # the form export is gone: intake cannot read it
    result = CliRunner().invoke(app, ["run", "intake", str(spec)])
    assert result.exit_code == 1
    alerts = _alerts()
    assert [a.to_addr for a in alerts] == ["orga@example.org"]
    (mail,) = alerts
    assert mail.status == "pending" and mail.member_id is None
    assert "intake" in mail.subject and "Demo" in mail.subject
    assert "demo-mentoring/intake/" in mail.text_body
    assert mail.key.endswith(":run_failed:" + mail.key.rsplit(":", 1)[-1])
    assert "form.csv" in mail.text_body  # what failed, so the organizer can fix it


def test_a_failed_stage_inside_the_whole_cycle_is_reported_once(tmp_path, store):
    spec = demo_spec(tmp_path)
    (tmp_path / "form.csv").unlink()
    result = CliRunner().invoke(app, ["run", "cycle", str(spec)])
    assert result.exit_code == 1
    alerts = _alerts()
    assert len(alerts) == 1
    assert "demo-mentoring/cycle/" in alerts[0].text_body
