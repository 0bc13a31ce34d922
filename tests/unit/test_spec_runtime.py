"""`validate --runtime` and every flow start report `{env: NAME}` references that are not set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentorflow.cli.main import app
from mentorflow.errors import SpecInvalidError
from mentorflow.spec import check_spec, load_spec, require_runtime

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "tests" / "specs" / "valid" / "minimal.yaml"
SMTP = (
    "sender:\n  from_name: X\n  from_address: mentoring@example.org\n  dry_run: {dry_run}\n"
    "  smtp: {{host: smtp.example.org, username: {{env: MF_TEST_SMTP_USER}},"
    " password: {{env: MF_TEST_SMTP_PASSWORD}}}}\n"
)


def _spec(tmp_path: Path, dry_run: bool) -> Path:
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "sender: {from_name: Minimal Mentoring, from_address: mentoring@example.org}\n",
        SMTP.format(dry_run=str(dry_run).lower()),
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MF_TEST_SMTP_USER", raising=False)
    monkeypatch.delenv("MF_TEST_SMTP_PASSWORD", raising=False)


def test_unset_variables_are_reported_with_runtime_only(tmp_path: Path) -> None:
    spec = _spec(tmp_path, dry_run=False)
    assert check_spec(spec) == []
    messages = [p.message for p in check_spec(spec, runtime=True)]
    assert messages == [
        "environment variable MF_TEST_SMTP_USER is not set (needed to send mail)",
        "environment variable MF_TEST_SMTP_PASSWORD is not set (needed to send mail)",
    ]


def test_set_variables_and_dry_runs_need_nothing(tmp_path, monkeypatch) -> None:
    assert check_spec(_spec(tmp_path, dry_run=True), runtime=True) == []
    monkeypatch.setenv("MF_TEST_SMTP_USER", "u")
    monkeypatch.setenv("MF_TEST_SMTP_PASSWORD", "p")
    assert check_spec(_spec(tmp_path, dry_run=False), runtime=True) == []


def test_flows_start_with_require_runtime(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, dry_run=False))
    with pytest.raises(SpecInvalidError, match="MF_TEST_SMTP_PASSWORD is not set"):
        require_runtime(spec)
    for name in ("intake", "matching", "deliver", "cycle"):
        source = (ROOT / "flows" / f"{name}.py").read_text(encoding="utf-8")
        assert "require_runtime(" in source, f"flows/{name}.py does not check the environment"


def test_validate_runtime_prints_the_located_lines(tmp_path: Path) -> None:
    spec = _spec(tmp_path, dry_run=False)
    result = CliRunner().invoke(app, ["validate", "--runtime", str(spec)])
    assert result.exit_code == 1
    assert f"{spec}:9:34: $.sender.smtp.username: environment variable" in result.output


def test_validate_checks_an_existing_form_export(tmp_path: Path) -> None:
    shutil.copy(MINIMAL, tmp_path / "spec.yaml")
    assert check_spec(tmp_path / "spec.yaml") == []  # no export yet: nothing to check
    (tmp_path / "intake.csv").write_text("E-Mail,Role\n", encoding="utf-8")
    assert [p.message for p in check_spec(tmp_path / "spec.yaml")] == [
        "the form export `intake.csv` has no column 'Email'; did you mean `E-Mail`?"
    ]
