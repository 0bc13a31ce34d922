"""Issue 11: contributions counted from a Google Sheet (through the local Sheets fake) are counted
exactly as the same table given as a CSV; a sheet without the columns, or not there, is a clear
error that quotes no cell."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from mentorflow.errors import SourceUnavailableError
from mentorflow.retrospective.contributions import (
    ContributionsFileError,
    read_contributions_sheet,
)
from mentorflow.retrospective.run import figures_for
from mentorflow.spec import load_spec
from mentorflow.spec.model import GoogleSheetSource
from tests.fakes.sheets import FakeSheets
from tests.retrospective_support import DATA, Builder, program

A, B, C = "m_aaaaaaaaaaaa", "m_bbbbbbbbbbbb", "m_cccccccccccc"
TALLY = DATA / "contributions_tally.csv"  # by id, by address in capitals, a stranger, a yes, ...
KEY, TAB = "1ContribKey", "Beiträge"
SHEET = f"{{key: {KEY}, worksheet: {TAB}, credentials: {{env: SA}}}}"
SHEET_SPEC = f"contributions:\n    sheet: {SHEET}"


def spec_with(tmp_path: Path, contributions: str) -> Path:
    """The retrospective test spec in a folder of its own, counting contributions as given."""
    folder = tmp_path / "spec"
    shutil.copytree(DATA, folder)
    spec = folder / "retro.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace("contributions: {question: exit.contributions}", contributions),
        encoding="utf-8",
    )
    return spec


def as_google_gives_it(path: Path) -> list[list[str]]:
    """The CSV's grid as the Sheets API answers it: trailing empty cells left off each row."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    trimmed = []
    for row in rows:
        while row and row[-1] == "":
            row = row[:-1]
        trimmed.append(row)
    return trimmed


def people(b: Builder) -> Builder:
    for member_id, role in ((A, "mentor"), (B, "mentee"), (C, "mentee")):
        b.member(member_id, role)
    return b


def sheet_of(spec_path: Path) -> GoogleSheetSource:
    sheet = load_spec(spec_path).retrospective.contributions.sheet  # type: ignore[union-attr]
    assert sheet is not None
    return sheet


def test_a_sheet_counts_exactly_as_the_same_csv(store_url, tmp_path) -> None:
    csv_spec = spec_with(tmp_path / "csv", "contributions: {csv: contributions_tally.csv}")
    b = people(program(store_url, csv_spec))
    with b.engine.connect() as conn:
        from_csv = figures_for(conn, b.spec, b.cycle_id)[0]["contributions"]
    assert from_csv["source"] == "csv contributions_tally.csv"
    # A 3 + 2 on two rows, B 0 by address (case ignored), C 1 for a yes; the stranger and C's
    # row without a number are counted apart, the blank row not at all
    assert (from_csv["counted"], from_csv["total"], from_csv["rows_naming_nobody"]) == (3, 6, 2)
    assert from_csv["contributed"] == {"n": 2, "of": 3, "pct": None}

    sheet_spec = spec_with(tmp_path / "sheet", SHEET_SPEC)
    fake = FakeSheets()
    fake.add_spreadsheet(KEY, {"Formularantworten 1": [["x"]], TAB: as_google_gives_it(TALLY)})
    rows = read_contributions_sheet(fake.client(), sheet_of(sheet_spec))
    sheet_b = load_spec(sheet_spec)
    with b.engine.connect() as conn:
        from_sheet = figures_for(conn, sheet_b, b.cycle_id, rows)[0]["contributions"]
    assert from_sheet["source"] == f"sheet {KEY}/{TAB}"
    assert {**from_sheet, "source": None} == {**from_csv, "source": None}


def test_a_sheet_spec_without_its_rows_says_so(store_url, tmp_path) -> None:
    b = people(program(store_url, spec_with(tmp_path, SHEET_SPEC)))
    with b.engine.connect() as conn, pytest.raises(ContributionsFileError, match="not read"):
        figures_for(conn, b.spec, b.cycle_id)


@pytest.mark.parametrize(
    "header",
    [["member_id", "beitraege"], ["Name", "contributions"], []],
    ids=["no contributions column", "no member_id or email column", "empty sheet"],
)
def test_a_sheet_without_the_columns_is_a_clear_error_naming_no_cell(
    store_url, tmp_path, header
) -> None:
    spec_path = spec_with(tmp_path, SHEET_SPEC)
    b = people(program(store_url, spec_path))
    fake = FakeSheets()
    values = [header, ["Ada Secret", "ada.secret@example.org"]] if header else []
    fake.add_spreadsheet(KEY, {TAB: values})
    with pytest.raises(ContributionsFileError) as caught:
        rows = read_contributions_sheet(fake.client(), sheet_of(spec_path))
        with b.engine.connect() as conn:
            figures_for(conn, b.spec, b.cycle_id, rows)
    message = str(caught.value)
    assert message.startswith(f"contributions sheet:{KEY}/{TAB}")
    if header:
        assert "`contributions` column and a `member_id` or `email` column" in message
    assert "Ada" not in message and "@" not in message


def test_a_missing_sheet_or_tab_is_a_clear_error_and_a_rate_limit_stays_retryable(
    tmp_path,
) -> None:
    sheet = sheet_of(spec_with(tmp_path, SHEET_SPEC))
    fake = FakeSheets()
    with pytest.raises(ContributionsFileError, match="spreadsheet not found"):
        read_contributions_sheet(fake.client(), sheet)
    fake.add_spreadsheet(KEY, {"Formularantworten 1": [["x"]]})
    with pytest.raises(ContributionsFileError, match="no worksheet with this title"):
        read_contributions_sheet(fake.client(), sheet)
    fake.fail_next(429)
    with pytest.raises(SourceUnavailableError, match="429"):
        read_contributions_sheet(fake.client(), sheet)


def test_a_semicolon_csv_counts_like_the_comma_one(store_url, tmp_path) -> None:
    """The contributions CSV is read by the intake's reader: a German Excel export works too."""
    spec_path = spec_with(tmp_path, "contributions: {csv: tally_semicolon.csv}")
    text = TALLY.read_text(encoding="utf-8").replace(",", ";")
    (spec_path.parent / "tally_semicolon.csv").write_text(text, encoding="utf-8")
    b = people(program(store_url, spec_path))
    with b.engine.connect() as conn:
        c = figures_for(conn, b.spec, b.cycle_id)[0]["contributions"]
    assert (c["counted"], c["total"], c["rows_naming_nobody"]) == (3, 6, 2)
