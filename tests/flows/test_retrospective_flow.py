"""Issue 11: `mentorflow run retrospective` runs the flow and publishes the headline as a markdown
artifact with counts and ids only."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from mentorflow.cli.main import app
from tests.flows.test_surveys_flow import _artifact
from tests.unit.test_retrospective import _three_people


def test_run_retrospective_publishes_the_headline(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    b = _three_people(url)
    result = CliRunner().invoke(app, ["run", "retrospective", str(b.spec.path)])
    assert result.exit_code == 0, result.output
    assert "pairs 2: reached closure 1 of 2 (n<5), ended early 1 of 2 (n<5)" in result.output
    markdown = asyncio.run(_artifact("retro-2027-retrospective"))
    assert "# Retrospective retro-2027 2027-03-01" in markdown
    assert "reached closure 1 of 2 (n<5)" in markdown and "retrospective.html" in markdown
    assert "Name m_" not in markdown and "@example.org" not in markdown
    assert "Retro Mentoring" not in markdown  # ids only, not even the program's name
