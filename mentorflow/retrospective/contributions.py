"""Contributions after mentoring, counted the way the spec says: a survey question, or a table of
contributions per member that the organizer supplies as a CSV file or a Google Sheet.

A question's answer counts as a number of contributions (a rating or scale, or a number), or as
one for a yes ("yes", "ja", "true") and none for a no. A table has a `member_id` or an `email`
column and a `contributions` column; CSV and sheet rows go through the one counter (`count_rows`),
and a row naming nobody of the cycle is counted apart. The CSV is opened like the intake CSV
(inside the spec's folder or MENTORFLOW_DATA_DIR, never a device); the sheet is read with gspread
by whoever holds the credentials (the flow, in a task with retries; `mentorflow report` through
the same task) and its rows handed in: the core never loads a Secret block.
"""

from __future__ import annotations

from typing import Any

from gspread import Client
from sqlalchemy import Connection, func, select

from mentorflow.errors import IntakeError, MentorflowError, SourceUnavailableError
from mentorflow.intake.sources import SourceTable, read_csv, read_sheet
from mentorflow.retrospective.numbers import share, spread
from mentorflow.retrospective.reads import CycleData
from mentorflow.spec.datafiles import data_path_problem
from mentorflow.spec.model import Contributions, CsvSource, GoogleSheetSource, ProgramSpec
from mentorflow.store.tables import members

YES = frozenset({"yes", "ja", "true", "1", "y", "j"})
COLUMNS = "a `contributions` column and a `member_id` or `email` column"


class ContributionsFileError(MentorflowError):
    """The contributions CSV or sheet cannot be read or lacks its columns (names no cell)."""


def per_member(
    conn: Connection, spec: ProgramSpec, data: CycleData, sheet_rows: SourceTable | None = None
) -> tuple[dict[str, int], int]:
    """(member id -> contributions, rows that named nobody of the cycle).

    `sheet_rows`: the contributions sheet as `read_contributions_sheet` read it, when the spec
    names a sheet (the caller reads it: it holds the credentials and the retries).
    """
    given = spec.retrospective.contributions
    if given is None:
        return {}, 0
    if given.question:
        return _from_question(data, given.question), 0
    if given.csv is not None:
        return count_rows(conn, spec, data, _read_csv(spec))
    if sheet_rows is None:
        raise ContributionsFileError(
            "the contributions sheet was not read (`mentorflow report` and the flow read it)"
        )
    return count_rows(conn, spec, data, sheet_rows)


def _from_question(data: CycleData, question: str) -> dict[str, int]:
    survey_id, question_id = question.split(".", 1)
    found: dict[str, int] = {}
    for r in data.responses:
        if r.survey_id == survey_id and question_id in r.answers:
            count = _count(r.answers[question_id])
            if count is not None:
                found[r.member_id] = count  # the latest answer wins
    return found


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return max(int(value), 0)
    if isinstance(value, str) and value.strip():
        text = value.strip().lower()
        return int(text) if text.isdigit() else int(text in YES)
    return None


def _read_csv(spec: ProgramSpec) -> SourceTable:
    path = spec.retrospective.contributions.csv  # type: ignore[union-attr]
    assert path is not None
    problem = data_path_problem(spec.path.parent, str(path))
    if problem is not None:
        raise ContributionsFileError(f"contributions CSV {path.name}: {problem}")
    try:
        return read_csv(CsvSource(path))
    except IntakeError as error:  # its message names the file and what is wrong, never a cell
        raise ContributionsFileError(f"contributions {error}") from error
    except OSError as error:
        raise ContributionsFileError(f"contributions CSV {path.name}: cannot be read") from error


def read_contributions_sheet(client: Client, sheet: GoogleSheetSource) -> SourceTable:
    """The contributions worksheet, every cell as text.

    A 429 or 5xx answer stays a SourceUnavailableError, so the caller's task retries it; a sheet
    that is not there, not shared or empty is a ContributionsFileError naming the sheet only.
    """
    try:
        return read_sheet(client, sheet)
    except SourceUnavailableError:
        raise
    except IntakeError as error:
        raise ContributionsFileError(f"contributions {error}") from error


def count_rows(
    conn: Connection, spec: ProgramSpec, data: CycleData, table: SourceTable
) -> tuple[dict[str, int], int]:
    """Contributions per member of the cycle from a CSV's or a sheet's rows; rows naming nobody.

    A member named on several rows gets their sum; a row the reader could not split is counted
    apart, like a row naming nobody.
    """
    header = set(table.header)
    if "contributions" not in header or not header & {"member_id", "email"}:
        raise ContributionsFileError(f"contributions {table.label} needs {COLUMNS}")
    by_email = _ids_by_email(conn, spec.program.id) if "email" in header else {}
    found: dict[str, int] = {}
    unknown = 0
    for number, cells in table.rows:
        row = dict(zip(table.header, cells, strict=False))
        member = (row.get("member_id") or "").strip() or by_email.get(
            (row.get("email") or "").strip().lower()
        )
        count = _count(row.get("contributions") or "")
        if member in data.roles and count is not None and number not in table.flaws:
            found[member] = found.get(member, 0) + count
        else:
            unknown += 1
    return found, unknown


def _ids_by_email(conn: Connection, program_id: str) -> dict[str, str]:
    query = select(func.lower(members.c.email), members.c.id).where(
        members.c.program_id == program_id, members.c.email.is_not(None)
    )
    return {email: member for email, member in conn.execute(query)}


def figures(
    spec: ProgramSpec, data: CycleData, found: dict[str, int], unknown: int
) -> dict[str, Any]:
    """Members counted, who contributed (share), total and spread, by role; no member id."""
    given = spec.retrospective.contributions
    if given is None:
        return {"source": None}
    by_role: dict[str, Any] = {}
    for role in sorted({data.roles[m] for m in found}):
        counts = [c for m, c in found.items() if data.roles[m] == role]
        by_role[role] = {"contributed": share(sum(c > 0 for c in counts), len(counts))}
    counts = list(found.values())
    return {
        "source": _source(given),
        "counted": len(counts),
        "contributed": share(sum(c > 0 for c in counts), len(data.roles)),
        "total": sum(counts),
        "per_member": spread([float(c) for c in counts]),
        "by_role": by_role,
        "rows_naming_nobody": unknown,
    }


def _source(given: Contributions) -> str:
    """What the report says the figures came from: the question, the file's name, the sheet."""
    if given.question:
        return f"question {given.question}"
    if given.csv is not None:
        return f"csv {given.csv.name}"
    assert given.sheet is not None
    return f"sheet {given.sheet.key}/{given.sheet.worksheet}"
