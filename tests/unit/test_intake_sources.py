"""Reading the form: CSV exports as spreadsheets write them, and Google Sheets through gspread."""

from __future__ import annotations

import json

import pytest

from mentorflow.errors import HeaderMismatchError, IntakeError, SourceUnavailableError
from mentorflow.intake.header import check_header, column_indices
from mentorflow.intake.sources import credentials_from_env, read_csv, read_sheet
from mentorflow.spec.model import CsvSource, GoogleSheetSource, SecretRef
from tests.fakes.intake import HEADER, answer, intake_spec, write_csv
from tests.fakes.sheets import FakeSheets

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz"
CREDENTIALS = SecretRef("env", "GOOGLE_SERVICE_ACCOUNT_JSON")
SHEET = GoogleSheetSource(KEY, "Formularantworten 1", CREDENTIALS)


@pytest.mark.parametrize(
    ("delimiter", "bom"), [(",", False), (";", True), (";", False), ("\t", True)]
)
def test_csv_exports_with_bom_and_german_semicolons_read_the_same(tmp_path, delimiter, bom):
    path = write_csv(
        tmp_path / "f.csv",
        [answer("jürgen@example.org", name="Jürgen Groß, Dr.")],
        delimiter=delimiter,
        bom=bom,
    )
    table = read_csv(CsvSource(path))
    assert table.header == HEADER
    assert table.rows == [(2, answer("jürgen@example.org", name="Jürgen Groß, Dr."))]
    assert table.label == "csv:f.csv"


def test_cells_stay_text_even_when_they_look_like_numbers(tmp_path):
    path = write_csv(tmp_path / "f.csv", [answer(capacity="01067")])
    assert read_csv(CsvSource(path)).rows[0][1][9] == "01067"


def test_a_latin1_export_is_refused_with_how_to_export_utf8(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(";".join(HEADER).encode("cp1252") + b"\n" + "Groß".encode("cp1252"))
    with pytest.raises(IntakeError, match="CSV UTF-8"):
        read_csv(CsvSource(path))


def test_a_missing_file_is_an_intake_error(tmp_path):
    with pytest.raises(IntakeError, match="file not found"):
        read_csv(CsvSource(tmp_path / "nope.csv"))


def test_header_check_lists_missing_unknown_and_repeated_columns(tmp_path):
    intake = intake_spec(tmp_path / "f.csv").intake
    header = [h for h in HEADER if h != "Einwilligung"] + ["Einwiligung", "Lieblingsfarbe", "Name"]
    with pytest.raises(HeaderMismatchError) as raised:
        check_header(header, intake)
    lines = str(raised.value).splitlines()
    assert "- expected column 'Einwilligung' is missing (did you mean 'Einwiligung'?)" in lines
    assert "- column 'Name' appears more than once" in lines
    assert "- columns the spec does not map: 'Einwiligung', 'Lieblingsfarbe'" in lines


def test_extra_columns_alone_are_fine_and_case_does_not_matter(tmp_path):
    intake = intake_spec(tmp_path / "f.csv").intake
    header = [h.upper() for h in HEADER] + ["Kommentar"]
    indices = column_indices(header, intake)
    assert indices["email"] == 1 and indices["__consent__"] == 10


# --- Google Sheets through the fake ---------------------------------------------------------


@pytest.fixture
def sheets() -> FakeSheets:
    fake = FakeSheets()
    fake.add_spreadsheet(
        KEY,
        {"Formularantworten 1": [HEADER, answer(capacity="01067"), [], answer("b@example.org")]},
    )
    return fake


def test_a_google_sheet_is_read_as_text_with_sheet_row_numbers(sheets):
    table = read_sheet(sheets.client(), SHEET)
    assert table.header == HEADER
    assert [number for number, _ in table.rows] == [2, 4]
    assert table.rows[0][1][9] == "01067"  # not numericised to 1067
    assert table.label == f"sheet:{KEY}/Formularantworten 1"
    assert len(sheets.requests) == 3


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_worth_a_retry(sheets, status):
    sheets.fail_next(status)
    with pytest.raises(SourceUnavailableError, match=str(status)):
        read_sheet(sheets.client(), SHEET)
    assert read_sheet(sheets.client(), SHEET).header == HEADER  # the next try succeeds


def test_an_unknown_spreadsheet_says_to_check_key_and_sharing(sheets):
    with pytest.raises(IntakeError, match="client_email") as raised:
        read_sheet(
            sheets.client(),
            GoogleSheetSource("wrong-key", "Formularantworten 1", CREDENTIALS),
        )
    assert not isinstance(raised.value, SourceUnavailableError)


def test_a_sheet_not_shared_with_the_service_account_says_so(sheets):
    sheets.shared = False
    with pytest.raises(IntakeError, match="share the sheet"):
        read_sheet(sheets.client(), SHEET)


def test_an_unknown_worksheet_is_an_intake_error(sheets):
    with pytest.raises(IntakeError, match="no worksheet"):
        read_sheet(sheets.client(), GoogleSheetSource(KEY, "Tabelle 2", CREDENTIALS))


def test_credentials_come_from_the_environment_and_are_never_echoed(monkeypatch):
    monkeypatch.setenv("SA_JSON", json.dumps({"client_email": "x@y.iam", "private_key": "S3CR3T"}))
    assert credentials_from_env("SA_JSON")["client_email"] == "x@y.iam"
    monkeypatch.setenv("SA_JSON", "S3CR3T not json")
    with pytest.raises(IntakeError) as raised:
        credentials_from_env("SA_JSON")
    assert "S3CR3T" not in str(raised.value)
    monkeypatch.delenv("SA_JSON")
    with pytest.raises(IntakeError, match="SA_JSON is not set"):
        credentials_from_env("SA_JSON")


def test_the_fake_supports_what_the_matching_export_writes(sheets):
    book = sheets.client().open_by_key(KEY)
    matches = book.add_worksheet("Matches", rows=10, cols=4)
    matches.append_rows([["match", "mentor", "mentee"], ["p_1", "m_a", "m_b"]])
    matches.update([["p_1", "m_a", "m_c"]], "A2")
    matches.batch_update([{"range": "D1:D2", "values": [["score"], ["0.8"]]}])
    assert sheets.values(KEY, "Matches") == [
        ["match", "mentor", "mentee", "score"],
        ["p_1", "m_a", "m_c", "0.8"],
    ]
