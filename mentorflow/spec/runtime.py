"""Checks of a spec against the world it runs in: the form export's header and the environment.

They are not part of `load_spec`: a flow that never reads the form must not fail because a new
export renamed a column. `mentorflow validate` runs the header check whenever the export exists,
`validate --runtime` and every flow start the environment check.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mentorflow.intake.values import squash
from mentorflow.spec.datafiles import data_path_problem, open_data_file
from mentorflow.spec.loader import Document
from mentorflow.spec.report import JsonPath, Problem, did_you_mean

Problems = Iterator[Problem]
# The header is one line; a form export's first 64 KiB always holds it.
_HEADER_BYTES = 64 * 1024


def header_problems(doc: Document, data: dict[str, Any]) -> list[Problem]:
    """Columns intake.columns (and the consent question) expect but the CSV export lacks."""
    header, problem = _read_header(doc, data["intake"]["source"])
    if problem is not None:
        return [problem]
    if header is None:
        return []
    return list(_header_mismatches(doc, data["intake"], header))


def _read_header(doc: Document, source: dict[str, Any]) -> tuple[list[str] | None, Problem | None]:
    folder = Path(doc.file).parent
    if source["type"] != "csv" or data_path_problem(folder, source["path"]) is not None:
        return None, None
    path = folder / source["path"]
    if not path.is_file():
        return None, None  # not exported yet: intake says so when it runs
    where: JsonPath = ("intake", "source", "path")
    try:
        text = open_data_file(path)[:_HEADER_BYTES].decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        message = "the form export is not UTF-8 text; export the sheet as 'CSV UTF-8'"
        return None, doc.problem(where, message)
    except OSError as error:
        return None, doc.problem(where, f"cannot read the form export ({error.strerror})")
    from mentorflow.intake.sources import sniff_delimiter

    line = text.replace("\x00", "").partition("\n")[0]
    cells = next(csv.reader(io.StringIO(line), delimiter=sniff_delimiter(line)), [])
    header = [cell.strip() for cell in cells if cell.strip()]
    if not header:
        return None, doc.problem(where, "the form export has no header row")
    return header, None


def _header_mismatches(doc: Document, intake: dict[str, Any], header: list[str]) -> Problems:
    name = Path(intake["source"]["path"]).name
    counts = Counter(squash(cell) for cell in header)
    expected: list[tuple[str, JsonPath]] = [
        (column, ("intake", "columns", column)) for column in intake["columns"]
    ]
    if intake.get("consent"):
        expected.append((intake["consent"]["column"], ("intake", "consent", "column")))
    for column, path in expected:
        if squash(column) not in counts:
            hint = did_you_mean(column, header)
            message = f"the form export `{name}` has no column {column!r}{hint}"
            yield doc.problem(path, message, at_key=path[-1] == column)
    for cell in dict.fromkeys(c for c in header if counts[squash(c)] > 1):
        message = f"column {cell!r} appears more than once in the form export `{name}`"
        yield doc.problem(("intake", "source", "path"), message)


# --- the environment --------------------------------------------------------------------------


def env_problems(doc: Document, data: dict[str, Any]) -> list[Problem]:
    """`{env: NAME}` references the spec will use that name an unset variable."""
    return [
        doc.problem(path, f"environment variable {name} is not set ({purpose})")
        for path, name, purpose in _used_env_refs(data)
        if name not in os.environ
    ]


def _used_env_refs(data: dict[str, Any]) -> Iterator[tuple[JsonPath, str, str]]:
    sender, source = data["sender"], data["intake"]["source"]
    smtp = sender.get("smtp")
    if smtp and not sender.get("dry_run"):  # a dry run writes .eml files and never logs in
        for key in ("username", "password"):
            ref = smtp.get(key) or {}
            if "env" in ref:
                yield ("sender", "smtp", key), ref["env"], "needed to send mail"
    ref = source.get("credentials") or {}
    if source["type"] == "google_sheet" and "env" in ref:
        yield ("intake", "source", "credentials"), ref["env"], "needed to read the sheet"
