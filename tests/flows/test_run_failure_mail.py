"""A failed run tells the program's organizers by mail, once per run, naming no member."""

from __future__ import annotations

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import Failed
from sqlalchemy import select
from typer.testing import CliRunner

from flows.tick import tick
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


@flow(name="matching")
def _never_ran() -> None:
    """Stands for a suspended run that Prefect's server failed on its timeout: no process is
    left to run the failure hook."""


def test_a_run_failed_by_the_server_is_mailed_by_the_next_tick_once(tmp_path, store):
    spec = demo_spec(tmp_path)
    (tmp_path / "form.csv").unlink()
    assert CliRunner().invoke(app, ["run", "intake", str(spec)]).exit_code == 1
    (by_hook,) = _alerts()
    timed_out = Failed(message="Flow run was suspended and timed out waiting for input.")
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(
            _never_ran,
            name="demo-mentoring/matching/2027-02-01",
            tags=["program:demo-mentoring", "cycle:2027-02-01", "stage:matching"],
            state=timed_out,
        )
        other = client.create_flow_run(
            _never_ran, name="other", tags=["program:other", "cycle:2027-02-01"], state=Failed()
        )
    tick(str(spec))
    first = _alerts()
    tick(str(spec))
    alerts = _alerts()
    assert alerts == first  # once per run: a second tick adds nothing
    # one mail per failed run of this program (the session's Prefect holds the other tests'
    # runs too): the hook's run is not mailed again, the server-failed one is, another
    # program's is not
    run_ids = [a.key.rsplit(":", 1)[-1] for a in alerts]
    assert len(run_ids) == len(set(run_ids))
    assert by_hook.key.rsplit(":", 1)[-1] in run_ids
    assert str(run.id) in run_ids and str(other.id) not in run_ids
    (swept,) = [a for a in alerts if a.key.endswith(str(run.id))]
    assert "matching" in swept.subject and "timed out waiting" in swept.text_body
