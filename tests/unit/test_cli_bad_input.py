"""Bad input to a command that runs a flow: a clear message, never a Prefect traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BAD = "tests/specs/invalid/unknown_key_did_you_mean.yaml"


def _mentorflow(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "MENTORFLOW_HOME": str(tmp_path), "PREFECT_HOME": str(tmp_path / "p")}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mentorflow"), *args],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("command", [["run", "intake"], ["match"]])
def test_a_bad_spec_stops_before_any_flow_starts(command, tmp_path):
    returncode, output = _mentorflow(tmp_path, *command, BAD)
    assert returncode == 1, output
    assert f"{BAD}:26:7: $.matching.criteria[0].wieght: unknown key `wieght`" in output
    assert "did you mean `weight`?" in output
    assert "Traceback" not in output and "Flow run" not in output


def test_a_missing_form_export_is_one_clear_line_without_a_traceback(tmp_path):
    spec = tmp_path / "spec.yaml"  # names intake.csv beside it, which is not there
    spec.write_text(ROOT.joinpath("tests/specs/valid/minimal.yaml").read_text(encoding="utf-8"))
    returncode, output = _mentorflow(tmp_path, "run", "intake", str(spec))
    assert returncode == 1, output
    assert "csv:intake.csv: file not found" in output
    assert "Traceback" not in output
