"""The closure flow through Prefect and the CLI: not before the end, then once, with an artifact
that names ids only; export and the retention flow on the same store."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from mentorflow.cli.main import app
from tests.engagement_support import Person, setup_program

DATA = Path(__file__).resolve().parents[1] / "data" / "issue11"
PAIRS = [(Person("m_mentor1", "mentor", "Europe/Berlin"), Person("m_mentee1", "mentee", "UTC"))]


def _spec(tmp_path: Path) -> Path:
    shutil.copyfile(DATA / "walk.csv", tmp_path / "walk.csv")
    path = tmp_path / "closure.yaml"
    path.write_text((DATA / "closure.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


async def _artifact(key: str) -> str:
    async with get_client() as client:
        found = await client.read_latest_artifacts()
    return next(a.data for a in found if a.key == key)


def test_run_closure_then_again_then_export_and_retention(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    spec = _spec(tmp_path)
    setup_program(url, "../issue11/closure.yaml", PAIRS)
    early = CliRunner().invoke(app, ["run", "closure", str(spec), "--as-of", "2027-05-23T10:00"])
    assert early.exit_code == 0, early.output
    assert "nothing done: the cycle ends on 2027-05-24" in early.output
    real = CliRunner().invoke(app, ["run", "closure", str(spec), "--as-of", "2027-05-24T10:00"])
    assert real.exit_code == 0, real.output
    assert "1 pairs ended, 2 closure mails queued, 1 certificates made, 1 alumni invited" in (
        real.output
    )
    again = CliRunner().invoke(app, ["run", "closure", str(spec), "--as-of", "2027-05-25T10:00"])
    assert "0 pairs ended, 0 closure mails queued, 0 certificates made" in again.output
    assert "closed before" in again.output
    markdown = asyncio.run(_artifact("closure-2027-closure"))
    assert "closure_mails" in markdown and "@" not in markdown and "Name m_" not in markdown
    exported = CliRunner().invoke(app, ["export", str(spec), "--member", "m_mentor1"])
    assert exported.exit_code == 0, exported.output
    found = json.loads(exported.output)
    assert found["member"]["name"] == "Name m_mentor1" and len(found["certificates"]) == 1
    from flows.retention import retention

    assert retention(str(spec)) == {"erased": 0}  # 365 days after 2027-05-24 is not yet
