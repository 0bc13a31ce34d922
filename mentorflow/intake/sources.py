"""Reading the form's answers: a CSV export or a Google Sheet, every cell as text."""

from __future__ import annotations

import csv
import gc
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gspread
from gspread.exceptions import APIError, SpreadsheetNotFound, WorksheetNotFound

from mentorflow.errors import IntakeError, SourceUnavailableError
from mentorflow.intake.settings import CsvSource, SheetSource
from mentorflow.spec.datafiles import NotRegularFileError, open_data_file

_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class SourceTable:
    """A source as read: its header and its non-blank rows with their sheet row numbers.

    Row numbers are what the organizer sees: the header is row 1, the first answer row 2.
    """

    label: str
    header: list[str]
    rows: list[tuple[int, list[str]]]


def table_from_values(label: str, values: list[list[str]]) -> SourceTable:
    """A SourceTable from a grid of text cells (no NUL characters) whose first row is the header."""
    if not values or not any(cell.strip() for cell in values[0]):
        raise IntakeError(f"{label}: the source has no header row")
    header = [cell.strip().lstrip("\ufeff") for cell in values[0]]
    rows = [
        (number, cells)
        for number, cells in enumerate(values[1:], start=2)
        if "".join(cells).strip()
    ]
    return SourceTable(label, header, rows)


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
    with without_cyclic_gc():
        values = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return table_from_values(source.label, values)


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


def read_sheet(client: gspread.Client, source: SheetSource) -> SourceTable:
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
    return table_from_values(source.label, cells)


def _api_error(source: SheetSource, error: APIError) -> IntakeError:
    code = error.response.status_code
    if code == 429 or code >= 500:
        return SourceUnavailableError(f"{source.label}: Google Sheets answered {code}; retry later")
    return IntakeError(f"{source.label}: Google Sheets answered {code}")


def source_path(spec_dir: Path, relative: str) -> Path:
    """A source path as the spec gives it: relative to the spec file's folder."""
    path = Path(relative)
    return path if path.is_absolute() else (spec_dir / path).resolve()
