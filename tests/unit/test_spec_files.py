"""Specs as data: valid specs check clean, each invalid one gives exactly its .expected lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from mentorflow.errors import SpecInvalidError
from mentorflow.spec import check_spec, load_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "specs"
VALID = sorted(SPECS.joinpath("valid").glob("*.yaml"))
INVALID = sorted(SPECS.joinpath("invalid").glob("*.yaml"))
EXAMPLES = sorted(ROOT.joinpath("program_specs").glob("*.yaml"))


def _relative(path: Path) -> Path:
    return path.relative_to(ROOT)


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_there_are_enough_spec_files() -> None:
    assert len(INVALID) >= 30 and len(VALID) >= 4
    assert {p.stem for p in EXAMPLES} >= {"one_to_one", "group", "peer", "reverse", "rotational"}


@pytest.mark.parametrize("path", VALID + EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_spec_has_no_problems(path: Path) -> None:
    assert [str(p) for p in check_spec(_relative(path))] == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_reports_exactly_the_expected_lines(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert [str(p) for p in check_spec(_relative(path))] == expected


# The form export's header is checked by `validate`, not by load_spec: a flow that never reads
# the form must not fail because a new export renamed a column.
LOADABLE_BUT_INVALID = {"intake_header_mismatch"}


@pytest.mark.parametrize(
    "path", [p for p in INVALID if p.stem not in LOADABLE_BUT_INVALID], ids=lambda p: p.stem
)
def test_invalid_spec_cannot_be_loaded(path: Path) -> None:
    with pytest.raises(SpecInvalidError) as caught:
        load_spec(_relative(path))
    assert [str(p) for p in caught.value.problems] == [str(p) for p in check_spec(_relative(path))]


def test_missing_file_is_one_located_problem() -> None:
    assert [str(p) for p in check_spec("program_specs/nope.yaml")] == [
        "program_specs/nope.yaml:1:1: $: no such file"
    ]


def test_folder_instead_of_file_is_one_located_problem() -> None:
    assert [str(p) for p in check_spec("program_specs")] == [
        "program_specs:1:1: $: this is a folder, not a spec file"
    ]


def test_non_utf8_file_is_one_located_problem(tmp_path: Path) -> None:
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes("program: {name: Mentoring für alle}\n".encode("latin-1"))
    assert [p.message for p in check_spec(spec)] == ["the file is not UTF-8 text"]


def test_problems_come_sorted_by_line() -> None:
    problems = check_spec("tests/specs/invalid/several_problems.yaml")
    assert len(problems) >= 5
    assert [(p.line, p.col) for p in problems] == sorted((p.line, p.col) for p in problems)
