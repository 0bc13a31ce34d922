"""A command that runs a flow keeps Prefect's INFO lines out of the terminal unless `-v`,
while the run's logs still reach the Prefect server (what the UI shows)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.settings import PREFECT_API_URL

from tests.flows.test_intake_flow import demo_spec

ROOT = Path(__file__).resolve().parents[2]


def _run_intake(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PYTHONPATH": str(ROOT),
        "MENTORFLOW_HOME": str(tmp_path / "home"),
        "MENTORFLOW_DB_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }
    for name in ("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "PREFECT_LOGGING_LEVEL"):
        env.pop(name, None)  # the test session quiets Prefect; the command must do it itself
    command = [sys.executable, "-m", "mentorflow.cli.main", *flags, "run", "intake"]
    tmp_path.mkdir()
    spec = demo_spec(tmp_path)
    return subprocess.run(
        [*command, str(spec)], env=env, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


async def _intake_run_logs() -> list[str]:
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["intake"]))
        )
        newest = max(runs, key=lambda r: r.created)
        logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[newest.id])))
    return [log.message for log in logs]


def test_prefect_info_lines_stay_out_of_the_terminal_but_reach_the_server(tmp_path: Path) -> None:
    quiet = _run_intake(tmp_path / "quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert "intake: 43 rows read" in quiet.stdout
    assert "| INFO" not in quiet.stdout + quiet.stderr
    logs = asyncio.run(_intake_run_logs())
    assert any("Finished in state" in line for line in logs), logs

    verbose = _run_intake(tmp_path / "verbose", "-v")
    assert verbose.returncode == 0, verbose.stderr
    assert "| INFO    | Flow run" in verbose.stdout + verbose.stderr
