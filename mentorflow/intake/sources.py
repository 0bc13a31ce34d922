"""Reading the form's answers: a CSV export or a Google Sheet, every cell as text."""

from __future__ import annotations

import csv
import gc
import io
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gspread
from gspread.exceptions import APIError, SpreadsheetNotFound, WorksheetNotFound

from mentorflow.errors import IntakeError, SourceUnavailableError
from mentorflow.spec.datafiles import NotRegularFileError, open_data_file
from mentorflow.spec.model import CsvSource, GoogleSheetSource

_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class SourceTable:
    """A source as read: its header and its non-blank rows with their sheet row numbers.

    Row numbers are what the organizer sees: the header is row 1, the first answer row 2.
    `flaws` names rows the reader could not split into cells reliably (row number -> why,
    never quoting an answer); intake quarantines them without reading a field. `lines` is the
    number of physical lines of a CSV file (None for a sheet): a quoted answer may span several.
    """

    label: str
    header: list[str]
    rows: list[tuple[int, list[str]]]
    flaws: Mapping[int, str] = field(default_factory=dict)
    lines: int | None = None


def table_from_values(
    label: str,
    values: list[list[str]],
    flaws: Mapping[int, str] | None = None,
    lines: int | None = None,
) -> SourceTable:
    """A SourceTable from a grid of text cells (no NUL characters) whose first row is the header.

    `flaws` is keyed by index into `values` (the header is 0); the table keys by row number.
    """
    if not values or not any(cell.strip() for cell in values[0]):
        raise IntakeError(f"{label}: the source has no header row")
    header = [cell.strip().lstrip("\ufeff") for cell in values[0]]
    flaws = flaws or {}
    rows = [
        (number, cells)
        for number, cells in enumerate(values[1:], start=2)
        if "".join(cells).strip() or number - 1 in flaws
    ]
    return SourceTable(label, header, rows, {i + 1: why for i, why in flaws.items()}, lines)


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Bulk work without the cyclic garbage collector, which is switched on again after."""
    # A run allocates millions of small dicts and lists that hold no cycles; the cyclic collector
    # would walk the growing heap again and again (a quarter of the time at 100,000 rows).
    # Reference counting still frees everything; the collector runs again afterwards.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- CSV ----------------------------------------------------------------------------------------


def read_csv(source: CsvSource) -> SourceTable:
    """A CSV export: UTF-8 with or without BOM, delimiter `,` `;` or tab taken from the header."""
    try:
        text = open_data_file(source.path).decode("utf-8-sig")
    except FileNotFoundError as error:
        raise IntakeError(f"{source.label}: file not found") from error
    except NotRegularFileError as error:  # a device or kernel view: its content never shows
        raise IntakeError(f"{source.label}: not a regular file") from error
    except UnicodeDecodeError as error:
        raise IntakeError(
            f"{source.label}: not UTF-8 text; export the sheet as 'CSV UTF-8' (Excel: "
            "'CSV UTF-8 (durch Trennzeichen getrennt)')"
        ) from error
    text = text.replace("\x00", "")  # PostgreSQL refuses NUL characters in text
    delimiter = sniff_delimiter(text.partition("\n")[0])
    lines = io.StringIO(text, newline="").readlines()
    with without_cyclic_gc():  # the row tuples of `table_from_values` too: 100,000 of them
        values, flaws = split_records(lines, delimiter)
        return table_from_values(source.label, values, flaws, len(lines))


def split_records(lines: list[str], delimiter: str) -> tuple[list[list[str]], dict[int, str]]:
    """The file's records (the header first) and, by record index, those that are not rows.

    A quote that opens in one answer and is never closed makes the csv module read on, across
    line breaks, to the next quote: the rows in between would vanish into one cell. A record
    that runs over a line that looks like a row of its own (as many delimiters as the header
    has gaps) is such a case: its first line becomes a quarantined row on its own, and reading
    goes on at the next line, so every physical line stays accounted for. A quoted answer with
    line breaks but without such lines is read as one answer, as spreadsheets write it.
    """
    records: list[list[str]] = []
    flaws: dict[int, str] = {}
    start, width = 0, 0
    with _field_limit(sum(map(len, lines)) + 1):  # a long cell is quarantined, never a crash
        while start < len(lines):
            start, width = _read_from(lines, start, delimiter, width, records, flaws)
    return records, flaws


def _read_from(
    lines: list[str],
    start: int,
    delimiter: str,
    width: int,
    records: list[list[str]],
    flaws: dict[int, str],
) -> tuple[int, int]:
    """Read records from line index `start` until one swallows others; where to go on, width."""
    reader = csv.reader(iter(lines[start:]), delimiter=delimiter)
    first = start
    try:
        for cells in reader:
            last = start + reader.line_num  # lines[first:last] hold this record
            width = width or len(cells)
            unclosed = last == len(lines) and _ends_inside_quotes(lines[first:last], delimiter)
            if last - first > 1 and (
                unclosed or _swallows(lines[first + 1 : last], delimiter, width)
            ):
                _broken(lines, first, delimiter, records, flaws)
                return first + 1, width
            if unclosed:
                flaws[len(records)] = (
                    f"a quote opens on line {first + 1} of the file and is never closed; "
                    "fix the quote in the file"
                )
            records.append(cells)
            first = last
    except csv.Error:  # whatever else the reader cannot split: that line alone is quarantined
        _broken(lines, first, delimiter, records, flaws)
        return first + 1, width
    return len(lines), width


def _swallows(inner: list[str], delimiter: str, width: int) -> bool:
    """Whether lines inside one record look like rows of their own (quote left open)."""
    return width > 1 and any(line.count(delimiter) >= width - 1 for line in inner)


def _ends_inside_quotes(lines: list[str], delimiter: str) -> bool:
    """Whether the record in `lines` ends inside a quoted cell (the file ended first)."""
    try:
        for _ in csv.reader(iter(lines), delimiter=delimiter, strict=True):
            pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _broken(
    lines: list[str], first: int, delimiter: str, records: list[list[str]], flaws: dict[int, str]
) -> None:
    """Line `first` as a record of its own, flagged: its quote opens and does not close there."""
    try:
        cells = next(csv.reader([lines[first]], delimiter=delimiter), [])
    except csv.Error:
        cells = [lines[first].rstrip("\r\n")]
    flaws[len(records)] = _unclosed_quote(first)
    records.append(cells)


def _unclosed_quote(index: int) -> str:
    return (
        f"a quote opens on line {index + 1} of the file and is not closed on that line; "
        "fix the quote in the file (the lines after it were read as rows of their own)"
    )


@contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """The csv module's cell size limit (131,072 characters) raised while one file is read."""
    before = csv.field_size_limit()
    csv.field_size_limit(max(limit, before))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line most often, quoted parts ignored."""
    unquoted = "".join(header_line.split('"')[::2])
    return max(_DELIMITERS, key=unquoted.count)


# --- Google Sheets -------------------------------------------------------------------------------


def credentials_from_env(name: str) -> dict[str, Any]:
    """The service account JSON held by environment variable `name` (the spec's `{env: NAME}`)."""
    raw = os.environ.get(name)
    if not raw:
        raise IntakeError(f"environment variable {name} is not set (service account JSON)")
    return parse_credentials(raw, f"environment variable {name}")


def parse_credentials(raw: str | dict[str, Any], where: str) -> dict[str, Any]:
    """Service account info from JSON text or a dict; the message never echoes the secret."""
    if isinstance(raw, dict):
        return raw
    try:
        info = json.loads(raw)
    except json.JSONDecodeError as error:
        raise IntakeError(f"{where} does not hold service account JSON") from error
    if not isinstance(info, dict) or "client_email" not in info:
        raise IntakeError(f"{where} does not hold service account JSON (no client_email)")
    return info


def client_from_info(info: dict[str, Any]) -> gspread.Client:
    """The production client: the plain HTTP client, so retries stay visible in Prefect."""
    return gspread.service_account_from_dict(info)


def read_sheet(client: gspread.Client, source: GoogleSheetSource) -> SourceTable:
    """All values of the worksheet as displayed (text, nothing numericised), in 3 requests."""
    try:
        worksheet = client.open_by_key(source.key).worksheet(source.worksheet)
        values = worksheet.get_all_values()
    except SpreadsheetNotFound as error:
        raise IntakeError(
            f"{source.label}: spreadsheet not found; is the key right and the sheet shared "
            "with the service account's client_email?"
        ) from error
    except WorksheetNotFound as error:
        raise IntakeError(f"{source.label}: no worksheet with this title") from error
    except PermissionError as error:
        raise IntakeError(
            f"{source.label}: access denied; share the sheet with the service account's "
            "client_email"
        ) from error
    except APIError as error:
        raise _api_error(source, error) from error
    cells = [[str(c).replace("\x00", "") for c in row] for row in values]
    return table_from_values(source.label, _padded(cells))


def _padded(values: list[list[str]]) -> list[list[str]]:
    """Rows padded with empty cells to the header's width: the Sheets API leaves out a row's
    trailing empty cells, so a short sheet row is complete (unlike a short CSV line)."""
    width = len(values[0]) if values else 0
    return [row + [""] * (width - len(row)) if len(row) < width else row for row in values]


def _api_error(source: GoogleSheetSource, error: APIError) -> IntakeError:
    code = error.response.status_code
    if code == 429 or code >= 500:
        return SourceUnavailableError(f"{source.label}: Google Sheets answered {code}; retry later")
    return IntakeError(f"{source.label}: Google Sheets answered {code}")


def source_path(spec_dir: Path, relative: str) -> Path:
    """A source path as the spec gives it: relative to the spec file's folder."""
    path = Path(relative)
    return path if path.is_absolute() else (spec_dir / path).resolve()
