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
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
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


def test_the_demo_never_empties_a_folder_it_did_not_make(tmp_path):
    home = tmp_path / "projects"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    returncode, output = _mentorflow(tmp_path, "demo", "--home", str(home))
    assert returncode == 1, output
    assert output.strip().splitlines()[-1] == (
        f"{home} is not a folder the demo made; give --home an empty or new folder"
    )
    assert (home / "thesis.tex").read_text() == "years of work"


def test_an_error_inside_the_demo_cycle_is_one_line_without_a_traceback(tmp_path):
    spec = tmp_path / "spec.yaml"  # names intake.csv beside it, which is not there
    spec.write_text(ROOT.joinpath("tests/specs/valid/minimal.yaml").read_text(encoding="utf-8"))
    code = (  # the shipped demo spec always works: point the demo at a broken one
        "import sys; from pathlib import Path; import mentorflow.cli.demo_cmd as demo\n"
        "demo.DEMO_SPEC = Path(sys.argv[1])\n"
        "from mentorflow.cli.main import app; app(['demo', '--home', sys.argv[2]])"
    )
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "p")}
    result = subprocess.run(
        [sys.executable, "-c", code, str(spec), str(tmp_path / "demo")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert result.stderr.strip().splitlines()[-1] == "csv:intake.csv: file not found"
    assert "Traceback" not in output
