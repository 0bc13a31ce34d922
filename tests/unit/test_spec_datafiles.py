"""The intake CSV is read only from the spec's folder (or MENTORFLOW_DATA_DIR), never a device."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mentorflow.errors import IntakeError, SpecInvalidError
from mentorflow.intake.sources import read_csv
from mentorflow.spec import check_spec, load_spec
from mentorflow.spec.model import CsvSource

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "tests" / "specs" / "valid" / "minimal.yaml"
SECRET = "hunter2-do-not-log"


def _spec(folder: Path, path: str) -> Path:
    spec = folder / "spec.yaml"
    text = MINIMAL.read_text(encoding="utf-8").replace("path: intake.csv", f"path: {path}")
    spec.write_text(text, encoding="utf-8")
    return spec


def _messages(spec: Path) -> list[str]:
    return [p.message for p in check_spec(spec)]


def test_a_symlink_out_of_the_spec_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("Email,Role\n", encoding="utf-8")
    (tmp_path / "program").mkdir()
    (tmp_path / "program" / "intake.csv").symlink_to(outside)
    messages = _messages(_spec(tmp_path / "program", "intake.csv"))
    assert len(messages) == 1 and messages[0].startswith("a symbolic link out of the spec's folder")


def test_a_csv_in_a_subfolder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "answers.csv").write_text("Email,Role\n", encoding="utf-8")
    assert _messages(_spec(tmp_path, "exports/answers.csv")) == []


def test_the_data_folder_the_organizer_names_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "program").mkdir()
    spec = _spec(tmp_path / "program", str(data / "answers.csv"))
    assert len(_messages(spec)) == 1
    monkeypatch.setenv("MENTORFLOW_DATA_DIR", str(data))
    assert _messages(spec) == []


def test_a_device_is_refused_even_inside_the_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORFLOW_DATA_DIR", "/")
    spec = ROOT / "tests" / "specs" / "invalid" / "intake_path_proc_environ.yaml"
    assert _messages(spec) == ["not a regular file; export the form as a CSV file"]


def test_loading_a_spec_that_points_at_the_environment_shows_none_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    with pytest.raises(SpecInvalidError) as caught:
        load_spec(ROOT / "tests" / "specs" / "invalid" / "intake_path_proc_environ.yaml")
    assert SECRET not in str(caught.value)


def test_reading_a_kernel_view_as_csv_shows_none_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    with pytest.raises(IntakeError) as caught:
        read_csv(CsvSource(Path("/proc/self/environ")))
    assert SECRET not in str(caught.value) and "not a regular file" in str(caught.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_reading_a_pipe_as_csv_neither_blocks_nor_reads(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(IntakeError, match="not a regular file"):
        read_csv(CsvSource(tmp_path / "pipe.csv"))


def test_a_real_csv_is_still_read(tmp_path: Path) -> None:
    shutil.copy(ROOT / "program_specs" / "intake" / "one_to_one.csv", tmp_path / "x.csv")
    assert read_csv(CsvSource(tmp_path / "x.csv")).header
