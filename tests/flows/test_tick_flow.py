"""The tick flow through Prefect and the CLI: dry run, a real run to SMTP, a rerun sends nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from mentorflow.cli.main import app
from tests.e2e.conftest import SmtpServer
from tests.engagement_support import DATA, Person, setup_program

PAIRS = [
    (Person("m_mentor1", "mentor", "Europe/Berlin"), Person("m_mentee1", "mentee", "Asia/Kolkata")),
]


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def _spec(tmp_path: Path, port: int) -> Path:
    text = (DATA / "walk.yaml").read_text(encoding="utf-8")
    shutil.copyfile(DATA / "walk.csv", tmp_path / "walk.csv")  # data beside the spec
    text = text
    smtp = f"  smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout_seconds: 5}}\n"
    text = text.replace(
        "  base_url: http://127.0.0.1:8000\n", "  base_url: http://127.0.0.1:8000\n" + smtp
    )
    path = tmp_path / "walk.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def _artifact(key: str) -> str:
    async with get_client() as client:
        found = await client.read_latest_artifacts()
    return next(a.data for a in found if a.key == key)


def test_run_tick_dry_run_then_run_then_rerun(tmp_path, monkeypatch, smtp_server):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    spec = _spec(tmp_path, smtp_server.port)
    setup_program(url, "walk.yaml", PAIRS)
    moment = ["--as-of", "2027-03-01T11:00"]  # program time zone: 11:00 Berlin, 15:30 Kolkata
    dry = CliRunner().invoke(app, ["run", "tick", str(spec), *moment, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would queue 2" in dry.output and "would send: m_mentor1 milestone kickoff" in dry.output
    assert smtp_server.messages == []
    real = CliRunner().invoke(app, ["run", "tick", str(spec), *moment])
    assert real.exit_code == 0, real.output
    assert "queued 2" in real.output
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp_server.messages) == [
        "m_mentee1@example.org",
        "m_mentor1@example.org",
    ]
    again = CliRunner().invoke(app, ["run", "tick", str(spec), *moment])
    assert "queued 0" in again.output and len(smtp_server.messages) == 2
    import asyncio

    markdown = asyncio.run(_artifact("walk-2027-tick"))
    assert "@" not in markdown and "Name m_" not in markdown
