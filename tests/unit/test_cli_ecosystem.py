"""The `mentorflow` command behaves like its ecosystem: --version, shell completion, NO_COLOR."""

from __future__ import annotations

import tomllib
from pathlib import Path

from typer.testing import CliRunner

from mentorflow.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
BAD_SPEC = str(ROOT / "tests/specs/invalid/several_problems.yaml")
runner = CliRunner()


def test_version_prints_the_packaged_version() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"mentorflow {declared['project']['version']}\n"


def test_errors_are_red_on_a_terminal_but_not_with_no_color() -> None:
    coloured = runner.invoke(app, ["outbox", BAD_SPEC], color=True)
    plain = runner.invoke(app, ["outbox", BAD_SPEC], color=True, env={"NO_COLOR": "1"})
    assert coloured.exit_code == plain.exit_code == 1
    assert "\x1b[31m" in coloured.output
    assert "\x1b[" not in plain.output
    assert "problem(s) in the program spec" in plain.output


def test_shell_completion_is_offered() -> None:
    result = runner.invoke(app, ["--help"], env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout
