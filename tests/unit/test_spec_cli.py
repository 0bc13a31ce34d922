"""`mentorflow validate` and `mentorflow init` as an organizer runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentorflow.cli.main import app
from mentorflow.spec import check_spec
from mentorflow.spec.starter import MODEL_TYPES

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_validate_clean_specs_prints_ok_and_exits_0() -> None:
    result = runner.invoke(
        app, ["validate", "program_specs/one_to_one.yaml", "program_specs/peer.yaml"]
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "ok: program_specs/one_to_one.yaml",
        "ok: program_specs/peer.yaml",
    ]


def test_validate_prints_every_problem_and_exits_1() -> None:
    bad = "tests/specs/invalid/several_problems.yaml"
    expected = ROOT.joinpath(bad).with_suffix(".expected").read_text(encoding="utf-8")
    result = runner.invoke(app, ["validate", "program_specs/group.yaml", bad])
    assert result.exit_code == 1
    assert result.stdout == "ok: program_specs/group.yaml\n" + expected
    assert "1 of 2 spec(s) have problems" in result.stderr


def test_validate_missing_file_is_a_problem_not_a_crash() -> None:
    result = runner.invoke(app, ["validate", "nope.yaml"])
    assert result.exit_code == 1
    assert result.stdout == "nope.yaml:1:1: $: no such file\n"


@pytest.mark.parametrize("args", [["validate"], ["validate", "--strict", "x.yaml"]])
def test_validate_usage_errors_exit_2(args: list[str]) -> None:
    assert runner.invoke(app, args).exit_code == 2


@pytest.mark.parametrize("model", MODEL_TYPES)
def test_init_writes_a_starter_that_validates_clean(model: str, tmp_path: Path) -> None:
    target = tmp_path / "specs" / f"{model}.yaml"
    result = runner.invoke(app, ["init", "PyLadies Berlin", "--model", model, "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert check_spec(target) == []
    text = target.read_text(encoding="utf-8")
    assert f"type: {model}" in text and "id: pyladies-berlin" in text
    schema = target.parent / text.splitlines()[0].split("$schema=")[1]
    assert schema.read_bytes() == (ROOT / "schemas" / "program_spec.schema.json").read_bytes()
    assert schema.resolve().is_relative_to(tmp_path)  # beside the spec, not in this checkout


def test_the_modeline_still_resolves_after_the_folder_moves(tmp_path: Path) -> None:
    first = tmp_path / "first"
    result = runner.invoke(app, ["init", str(first / "Tandem Berlin")])
    assert result.exit_code == 0, result.output
    moved = tmp_path / "elsewhere" / "committed"
    moved.parent.mkdir()
    first.rename(moved)
    spec = moved / "tandem-berlin.yaml"
    modeline = spec.read_text(encoding="utf-8").splitlines()[0]
    assert modeline == "# yaml-language-server: $schema=schemas/program_spec.schema.json"
    assert json.loads((moved / "schemas" / "program_spec.schema.json").read_text("utf-8"))
    assert check_spec(spec) == []


def test_init_dir_slash_name_writes_into_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "programs/tandem", "--model", "peer"])
    assert result.exit_code == 0, result.output
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "programs/intake/tandem.csv",
        "programs/schemas/program_spec.schema.json",
        "programs/tandem.yaml",
    ]
    assert "id: tandem" in (tmp_path / "programs" / "tandem.yaml").read_text(encoding="utf-8")
    assert check_spec("programs/tandem.yaml") == []


def test_init_defaults_to_name_dot_yaml_and_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "tandem", "--model", "peer"]).exit_code == 0
    assert check_spec("tandem.yaml") == []
    again = runner.invoke(app, ["init", "tandem"])
    assert again.exit_code == 1 and "exists" in again.stderr
    assert runner.invoke(app, ["init", "tandem", "--force"]).exit_code == 0


def test_init_rejects_an_unknown_model() -> None:
    assert runner.invoke(app, ["init", "x", "--model", "trio"]).exit_code == 2


def test_the_cli_does_not_import_prefect() -> None:
    code = "import sys, mentorflow.cli.main; print('prefect' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_validate_runs_without_prefect_in_a_fresh_process() -> None:
    code = (
        "import sys; from mentorflow.cli.main import app\n"
        "try:\n    app(['validate', 'program_specs/one_to_one.yaml'])\n"
        "except SystemExit as exit:\n    print(exit.code, 'prefect' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.splitlines()[-1] == "0 False"


@pytest.mark.parametrize("model", MODEL_TYPES)
def test_init_writes_the_form_export_the_spec_reads(
    model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mentorflow.intake.header import check_header
    from mentorflow.intake.sources import read_csv
    from mentorflow.spec import load_spec

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "Tandem Berlin", "--model", model])
    assert result.exit_code == 0, result.output
    assert "fill the form export into intake/tandem-berlin.csv" in result.output
    assert "then mentorflow run intake tandem-berlin.yaml" in result.output
    settings = load_spec("tandem-berlin.yaml")
    table = read_csv(settings.intake.source)  # type: ignore[arg-type]
    check_header(table.header, settings.intake)  # raises HeaderMismatchError on a mismatch
    assert table.rows == []


def test_init_keeps_the_file_name_asked_for_and_never_overwrites_a_form_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    form = tmp_path / "intake" / "x-group.csv"
    form.parent.mkdir()
    form.write_text("Timestamp,Email Address\n01.02.2027 10:00:00,a@example.org\n")
    result = runner.invoke(app, ["init", "x_group", "--model", "group"])
    assert result.exit_code == 0, result.output
    assert "wrote x_group.yaml (group, program id x-group)" in result.output
    assert "kept intake/x-group.csv" in result.output
    assert "a@example.org" in form.read_text()
    assert "id: x-group" in (tmp_path / "x_group.yaml").read_text(encoding="utf-8")
