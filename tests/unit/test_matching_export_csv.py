"""The organizer's match export never hands a spreadsheet a formula from what members typed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mentorflow.matching.handover import EXPORT_HEADER, export_csv

DATA = Path(__file__).resolve().parents[1] / "data" / "issue8" / "formula_cells.csv"


def _members() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _row(name: str, email: str, score: str = "0.750") -> list[str]:
    return ["match-1", "1", score, "m_1", "mentee", name, email, "shared: python"]


def _exported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[list[str]]) -> list:
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    path = export_csv([EXPORT_HEADER, *rows], "test-program", "2027-02-01")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


def test_cells_a_spreadsheet_reads_as_formulas_are_made_text(tmp_path, monkeypatch) -> None:
    members = _members()
    rows = _exported(tmp_path, monkeypatch, [_row(m["name"], m["email"]) for m in members])
    names = [row[5] for row in rows]
    assert len(names) == 7
    for original, written in zip([m["name"] for m in members], names, strict=True):
        if original[0] in "=+-@\t\r":
            assert written == "'" + original
        else:
            assert written == original  # Zoë Schäfer stays as she is


def test_numbers_stay_numbers(tmp_path, monkeypatch) -> None:
    rows = _exported(tmp_path, monkeypatch, [_row("Ann", "ann@example.org", score="-0.250")])
    assert rows[0][2] == "-0.250"
