"""`mentorflow run cycle`: every stage on the German demo form, through a real SMTP server."""

from __future__ import annotations

from typer.testing import CliRunner

from mentorflow.cli.main import app
from tests.e2e.conftest import SmtpServer
from tests.flows.test_intake_flow import demo_spec


def test_a_whole_cycle_mails_everyone_once_and_a_rerun_sends_nothing(tmp_path, store):
    server = SmtpServer()
    server.start()
    try:
        spec = demo_spec(tmp_path, port=server.port)
        first = CliRunner().invoke(app, ["run", "cycle", str(spec)])
        sent_first = len(server.messages)
        again = CliRunner().invoke(app, ["run", "cycle", str(spec)])
    finally:
        server.stop()
    assert first.exit_code == 0, first.output
    assert "intake: rows_read 43" in first.output
    assert "matching:" in first.output and "approved 21" in first.output
    subjects = [str(m["Subject"]) for m in server.messages]
    # each in the member's language: 42 introductions (21 pairs, both sides), 35 welcomes,
    # 1 not-enrolled, 2 fix-your-signup (the demo spec asks for them)
    introductions = [s for s in subjects if "Dürfen wir vorstellen?" in s or ": meet " in s]
    assert len(introductions) == 42
    assert sum("Willkommen" in s or "Welcome" in s for s in subjects) == 35
    assert sent_first == 80
    assert again.exit_code == 0, again.output
    assert len(server.messages) == sent_first  # nothing twice


def test_every_run_of_a_cycle_is_named_and_tagged_by_program_stage_and_cycle(tmp_path, store):
    import asyncio

    from prefect.client.orchestration import get_client

    from mentorflow.spec import load_spec

    spec = demo_spec(tmp_path)
    label = load_spec(spec).cycle.label
    result = CliRunner().invoke(app, ["run", "cycle", str(spec)])
    assert result.exit_code == 0, result.output

    async def newest_runs() -> dict[str, object]:
        async with get_client() as client:
            runs = await client.read_flow_runs(sort="START_TIME_DESC", limit=20)
        parent = next(r for r in runs if r.name == f"demo-mentoring/cycle/{label}")
        return {r.name: r for r in runs if r.id == parent.id or r.parent_task_run_id}

    runs = asyncio.run(newest_runs())
    for stage in ("cycle", "intake", "matching", "mail"):
        run = runs[f"demo-mentoring/{stage}/{label}"]
        assert {"program:demo-mentoring", f"cycle:{label}", f"stage:{stage}"} <= set(run.tags)
