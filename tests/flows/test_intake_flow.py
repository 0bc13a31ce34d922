"""The intake flow on Prefect: demo form through real SMTP, reruns, screening, Sheets retries."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run
from sqlalchemy import select

from flows.intake import intake, read_source
from mentorflow.errors import IntakeError
from mentorflow.spec.model import GoogleSheetSource, SecretRef
from mentorflow.store.db import open_store
from mentorflow.store.tables import enrolments, outbox
from tests.e2e.conftest import SmtpServer
from tests.fakes.intake import HEADER, answer, intake_spec
from tests.fakes.sheets import FakeSheets

ROOT = Path(__file__).resolve().parents[2]
DEMO_CSV = ROOT / "program_specs" / "intake" / "one_to_one.csv"


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def demo_spec(tmp_path: Path, port: int | None = None, screening: bool = False) -> Path:
    text = (ROOT / "program_specs" / "one_to_one.yaml").read_text(encoding="utf-8")
    text = text.replace("path: intake/one_to_one.csv", f"path: {tmp_path / 'form.csv'}")
    if port is not None:
        smtp = f"  smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout_seconds: 5}}\n"
        text = text.replace(
            "  base_url: http://127.0.0.1:8000\n", "  base_url: http://127.0.0.1:8000\n" + smtp
        )
    if screening:
        text = text.replace("  consent:\n", "  screening: true\n  consent:\n", 1)
    (tmp_path / "form.csv").write_bytes(DEMO_CSV.read_bytes())
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def outbox_rows(url: str) -> list[Any]:
    engine = open_store(url)
    with engine.connect() as conn:
        rows = list(conn.execute(select(outbox.c.purpose, outbox.c.status, outbox.c.to_addr)))
    engine.dispose()
    return rows


def test_demo_form_enrols_people_and_mails_them_once(tmp_path, store, smtp_server):
    spec = demo_spec(tmp_path, port=smtp_server.port)
    counts = intake(str(spec))
    assert counts == {
        "rows_read": 43,
        "new_rows": 43,
        "accepted": 35,
        "quarantined": 5,
        "not_consented": 1,
        "duplicates": 2,
        "alumni_pending_consent": 0,  # issue 11: nobody said yes in an earlier cycle
    }
    received = [addr for _, rcpts in smtp_server.envelopes for addr in rcpts]
    assert len(received) == 35 + 1 + 2  # welcome, not_enrolled (no consent), fix_signup
    assert "tim.berger@example.com" in received  # no consent: told, not enrolled
    assert "sven.lange@example.org" in received  # unreadable slot: asked to fix it
    assert "lisa.meyer@example" not in received and "spaet.dran@example.org" not in received
    assert {row.status for row in outbox_rows(store)} == {"sent"}

    artifact = Artifact.get("intake-demo-mentoring")
    assert artifact is not None
    shown = str(artifact.data) + str(artifact.description)
    assert "accepted: 35" in shown and "quarantined: 5" in shown
    assert "not a valid address" in shown and "after intake closed" in shown
    assert "@example" not in shown  # no address of a person, only member ids

    again = intake(str(spec))
    assert again == counts | {"new_rows": 0}
    assert len(smtp_server.envelopes) == len(received)  # a rerun sends nothing


def test_new_rows_since_the_last_run_are_processed_incrementally(tmp_path, store):
    spec = demo_spec(tmp_path)
    intake(str(spec))
    with (tmp_path / "form.csv").open("a", encoding="utf-8", newline="") as form:
        csv.writer(form, delimiter=";").writerow(
            [  # a German export, like the demo form
                "24.01.2027 09:00:00",
                "neu.dabei@example.org",
                "Neu",
                "Mentee",
                "Deutsch",
                "Europe/Berlin",
                "Karriere",
                "",
                "Python",
                "Deutsch",
                "Mo 18-20",
                "",
                "",
                "Ja, ich stimme zu",
            ]
        )
    counts = intake(str(spec))
    assert (counts["rows_read"], counts["new_rows"], counts["accepted"]) == (44, 1, 36)
    assert [r.purpose for r in outbox_rows(store)].count("welcome") == 36


def _paused_run_id(timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    state = FlowRunFilterStateType(any_=[StateType.PAUSED])
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=state))
            )
            if runs:
                return runs[0].id
            time.sleep(0.2)
    raise AssertionError("the intake flow never paused for screening")


def test_screening_pauses_for_the_organizer_and_resumes_with_the_decision(tmp_path, store):
    spec = demo_spec(tmp_path, screening=True)
    result: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: result.update(intake(str(spec), screening_poll_seconds=1)), daemon=True
    )
    runner.start()
    run_id = _paused_run_id()
    engine = open_store(store)
    with engine.connect() as conn:
        pending = list(conn.execute(select(enrolments.c.member_id, enrolments.c.status)))
    assert {row.status for row in pending} == {"pending_approval", "not_enrolled"}
    waiting = [row.member_id for row in pending if row.status == "pending_approval"]
    assert outbox_rows(store) == []  # nobody is welcomed before the decision
    resume_flow_run(run_id, run_input={"approve": waiting[:30], "decline": waiting[30:32]})
    runner.join(timeout=60)
    assert result["accepted"] == 35
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(enrolments.c.member_id, enrolments.c.status)).all())
    engine.dispose()
    assert [statuses[m] for m in waiting[:30]] == ["enrolled"] * 30
    assert [statuses[m] for m in waiting[30:32]] == ["declined"] * 2
    assert list(statuses.values()).count("pending_approval") == len(waiting) - 32
    assert [r.purpose for r in outbox_rows(store)].count("welcome") == 30


def test_an_hourly_run_does_not_pause_again_while_a_screening_waits(tmp_path, store):
    spec = demo_spec(tmp_path, screening=True)
    first: dict[str, Any] = {}
    waiting = threading.Thread(
        target=lambda: first.update(intake(str(spec), screening_poll_seconds=1)), daemon=True
    )
    waiting.start()
    paused = _screening_run()
    second: dict[str, Any] = {}
    hourly = threading.Thread(target=lambda: second.update(intake(str(spec))), daemon=True)
    hourly.start()
    hourly.join(timeout=90)
    assert not hourly.is_alive(), "the second run paused as well"
    assert second["new_rows"] == 0
    assert _logged(hourly_run_id(), f"flow run {paused.id} already waits")
    resume_flow_run(paused.id, run_input={"approve_all": True})
    waiting.join(timeout=60)
    assert first["accepted"] == 35


def hourly_run_id() -> Any:
    """The newest intake run that completed."""
    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED]))
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=state), sort="EXPECTED_START_TIME_DESC", limit=1
        )
    return runs[0].id


# --- Google Sheets through the fake, with Prefect's retries -----------------------------------

SHEET = GoogleSheetSource("1AbC", "Formularantworten 1", SecretRef("env", "UNUSED"))


def sheet_settings(tmp_path: Path) -> Any:
    return intake_spec(tmp_path / "unused.csv", source=SHEET)


@flow
def read_twice_failing(settings: Any, client: Any) -> Any:
    return read_source.with_options(retry_delay_seconds=0)(settings, client)


def test_read_source_retries_rate_limits_and_server_errors(tmp_path):
    fake = FakeSheets()
    fake.add_spreadsheet("1AbC", {"Formularantworten 1": [HEADER, answer()]})
    fake.fail_next(429, 503)
    table = read_twice_failing(sheet_settings(tmp_path), fake.client())
    assert table.rows == [(2, answer())]
    assert len(fake.requests) == 5  # 429, 503, then metadata, metadata, values


def test_read_source_does_not_retry_a_sheet_that_is_not_there(tmp_path):
    fake = FakeSheets()
    with pytest.raises(IntakeError, match="not found"):
        read_twice_failing(sheet_settings(tmp_path), fake.client())
    assert len(fake.requests) == 1


# --- the command line --------------------------------------------------------------------------


def test_mentorflow_run_intake_prints_the_counts(tmp_path, store):
    from typer.testing import CliRunner

    from mentorflow.cli.main import app

    result = CliRunner().invoke(app, ["run", "intake", str(demo_spec(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "43 rows read (43 new): 35 accepted, 5 quarantined, 1 not consented, 2 duplicates" in (
        result.output
    )


def test_mentorflow_run_intake_prints_the_quarantine_list_by_sheet_row(tmp_path, store):
    from typer.testing import CliRunner

    from mentorflow.cli.main import app

    result = CliRunner().invoke(app, ["run", "intake", str(demo_spec(tmp_path))])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("quarantined rows (5; fix them in the form's sheet, then run again):")
    assert [line.split(":")[0].strip() for line in lines[start + 1 :]] == [
        f"sheet row {n}" for n in (13, 22, 27, 29, 44)
    ]
    assert "  sheet row 29: timezone: is not a time zone (e.g. Europe/Berlin, UTC+2)" in lines
    assert "@example" not in result.output  # reasons never repeat an answer


def test_a_renamed_question_stops_the_run_with_a_did_you_mean(tmp_path, store):
    from typer.testing import CliRunner

    from mentorflow.cli.main import app

    spec = demo_spec(tmp_path)
    form = tmp_path / "form.csv"
    form.write_text(
        form.read_text(encoding="utf-8").replace("Rolle;", "Deine Rolle;", 1), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["run", "intake", str(spec)])
    assert result.exit_code == 1
    assert "expected column 'Rolle' is missing (did you mean 'Deine Rolle'?)" in result.output


# --- Pauses anyone can answer (issue 8) -------------------------------------------------------


def _screening_run(program: str = "demo-mentoring", after: Any = None, timeout: float = 60) -> Any:
    """The paused intake run tagged with `program` (paused later than `after`)."""
    from prefect.client.schemas.filters import FlowRunFilterTags

    deadline = time.monotonic() + timeout
    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    wanted = FlowRunFilter(state=state, tags=FlowRunFilterTags(all_=[f"program:{program}"]))
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for run in client.read_flow_runs(flow_run_filter=wanted):
                if run.state and (after is None or run.state.timestamp > after):
                    return run
            time.sleep(0.2)
    raise AssertionError(f"no intake run of {program} paused for screening")


def _logged(run_id: Any, text: str, deadline: float = 30.0) -> bool:
    """Whether the run's logs on the server (what the UI shows) come to contain `text`."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    wanted = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
    began = time.monotonic()
    with get_client(sync_client=True) as client:
        while time.monotonic() - began < deadline:  # logs reach the server in batches
            if any(text in log.message for log in client.read_logs(wanted)):
                return True
            time.sleep(0.5)
    return False


def _statuses(url: str) -> dict[str, str]:
    engine = open_store(url)
    with engine.connect() as conn:
        found = dict(conn.execute(select(enrolments.c.member_id, enrolments.c.status)).all())
    engine.dispose()
    return found


def test_mentorflow_screen_answers_the_waiting_intake_run(tmp_path, store):
    from typer.testing import CliRunner

    from mentorflow.cli.main import app

    def screen(*args: str) -> Any:
        return CliRunner().invoke(app, ["screen", str(spec), *args])

    spec = demo_spec(tmp_path, screening=True)
    nothing = screen("--all")
    assert nothing.exit_code == 1 and "no intake run of demo-mentoring 2027-02-01" in nothing.output
    result: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: result.update(intake(str(spec), screening_poll_seconds=1)), daemon=True
    )
    runner.start()
    run = _screening_run()
    waiting = [m for m, status in _statuses(store).items() if status == "pending_approval"]
    # the UI's Submit with the form's defaults decides nothing: the run says so and waits on
    resume_flow_run(run.id, run_input={})
    assert _screening_run(after=run.state.timestamp).id == run.id and runner.is_alive()
    assert _logged(run.id, "approves or declines nobody who waits")
    unknown = screen("--approve", waiting[0], "--decline", "m_nobody")
    assert unknown.exit_code == 1 and "not waiting for screening" in unknown.output
    assert "m_nobody" in unknown.output and runner.is_alive()  # nothing was answered
    answered = screen("--approve", waiting[0], "--approve", waiting[1], "--decline", waiting[2])
    assert answered.exit_code == 0, answered.output
    assert f"flow run {run.id}" in answered.output and "2 approved, 1 declined" in answered.output
    runner.join(timeout=60)
    assert not runner.is_alive()
    statuses = _statuses(store)
    assert [statuses[m] for m in waiting[:3]] == ["enrolled", "enrolled", "declined"]
    assert [statuses[m] for m in waiting[3:]] == ["pending_approval"] * (len(waiting) - 3)
    assert screen("--all").exit_code == 1  # nothing waits any more


def test_run_intake_says_what_it_waits_for_and_how_to_answer(tmp_path, store):
    """`mentorflow run intake` with screening, as an organizer starts it in a terminal."""
    import os
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL
    from typer.testing import CliRunner

    from mentorflow.cli.main import app

    spec = demo_spec(tmp_path, screening=True)
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "mentorflow.cli.main", "run", "intake", str(spec)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        run = _screening_run()
        answered = CliRunner().invoke(app, ["screen", str(spec), "--all"])
        assert answered.exit_code == 0, answered.output
        output, _ = process.communicate(timeout=90)
    finally:
        process.kill()
    assert process.returncode == 0, output
    ui = str(PREFECT_API_URL.value()).removesuffix("/api")
    assert "Waiting for the organizer: screening of" in output
    assert f"Answer in the Prefect UI: {ui}/runs/flow-run/{run.id}" in output
    assert f"mentorflow screen {spec} --all" in output
    assert "intake: 43 rows read" in output


def test_without_a_prefect_server_the_notice_says_to_answer_from_another_terminal():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.pauses import notice

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        text = notice("screening of 3 applicant(s)", "mentorflow screen s.yaml --all", "abc")
    assert "no UI" in text and "another terminal" in text and "http" not in text
    assert "mentorflow screen s.yaml --all" in text


def test_a_screening_started_again_asks_about_those_it_showed_not_later_sign_ups(
    tmp_path, monkeypatch
):
    import flows.intake
    from mentorflow.spec import load_spec
    from tests.organizer_support import organizer_spec, seed_cycle, seed_problems

    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    engine, cycle = seed_cycle(url)
    first = seed_problems(engine, cycle.id)  # two applicants wait
    spec = load_spec(organizer_spec(tmp_path))
    monkeypatch.setattr(flows.intake, "waiting_run", lambda *_: None)  # no other run waits
    asked = flows.intake.screening_question(engine, spec, "run-1")
    assert asked is not None and {a.member_id for a in asked.applicants} == set(first)
    with engine.begin() as conn:  # someone signs up while the question waits
        later = conn.execute(
            select(enrolments.c.member_id).where(enrolments.c.status == "enrolled").limit(1)
        ).scalar_one()
        conn.execute(
            enrolments.update()
            .where(enrolments.c.member_id == later)
            .values(status="pending_approval")
        )
    again = flows.intake.screening_question(engine, spec, "run-1")
    assert again is not None and again.review == asked.review
    assert {a.member_id for a in again.applicants} == set(first)  # the later one is not in it
    other = flows.intake.screening_question(engine, spec, "run-2")  # a new question: all three
    assert other is not None and {a.member_id for a in other.applicants} == {*first, later}


def test_an_answered_suspended_run_still_owns_its_question_until_it_runs_again():
    from prefect.states import Scheduled

    from flows.pauses import waiting_runs

    @flow(name="intake")
    def suspended_intake() -> None: ...

    tags = ["program:resuming-demo", "cycle:2027-02"]
    with get_client(sync_client=True) as client:  # as the server leaves a resumed suspended run
        run = client.create_flow_run(suspended_intake, tags=tags, state=Scheduled(name="Resuming"))
    found = waiting_runs("resuming-demo", "2027-02", "intake", resuming=True)
    assert [r.id for r in found] == [run.id]  # an hourly run does not ask again meanwhile
    assert waiting_runs("resuming-demo", "2027-02", "intake") == []  # but nobody can answer it
