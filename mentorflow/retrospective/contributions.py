"""Contributions after mentoring, counted the way the spec says: a survey question or a CSV file.

A question's answer counts as a number of contributions (a rating or scale, or a number), or as
one for a yes ("yes", "ja", "true") and none for a no. A CSV has a `member_id` or an `email` column
and a `contributions` column; the file is opened like the intake CSV (inside the spec's folder or
MENTORFLOW_DATA_DIR, never a device), and a row naming nobody of the cycle is counted apart.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import Connection, func, select

from mentorflow.errors import MentorflowError
from mentorflow.retrospective.numbers import share, spread
from mentorflow.retrospective.reads import CycleData
from mentorflow.spec.datafiles import data_path_problem, open_data_file
from mentorflow.spec.model import ProgramSpec
from mentorflow.store.tables import members

YES = frozenset({"yes", "ja", "true", "1", "y", "j"})


class ContributionsFileError(MentorflowError):
    """The contributions CSV cannot be read or lacks its columns (the message names no cell)."""


def per_member(conn: Connection, spec: ProgramSpec, data: CycleData) -> tuple[dict[str, int], int]:
    """(member id -> contributions, rows that named nobody of the cycle)."""
    given = spec.retrospective.contributions
    if given is None:
        return {}, 0
    if given.question:
        return _from_question(data, given.question), 0
    assert given.csv is not None
    return _from_csv(conn, spec, data, _read(spec))


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


def _read(spec: ProgramSpec) -> bytes:
    path = spec.retrospective.contributions.csv  # type: ignore[union-attr]
    assert path is not None
    problem = data_path_problem(spec.path.parent, str(path))
    if problem is not None:
        raise ContributionsFileError(f"contributions CSV {path.name}: {problem}")
    try:
        return open_data_file(path)
    except OSError as error:
        raise ContributionsFileError(f"contributions CSV {path.name}: cannot be read") from error


def _from_csv(
    conn: Connection, spec: ProgramSpec, data: CycleData, raw: bytes
) -> tuple[dict[str, int], int]:
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    header = set(rows[0]) if rows else set()
    if "contributions" not in header or not header & {"member_id", "email"}:
        raise ContributionsFileError(
            "contributions CSV needs a `contributions` column and a `member_id` or `email` column"
        )
    by_email = _ids_by_email(conn, spec.program.id) if "email" in header else {}
    found: dict[str, int] = {}
    unknown = 0
    for row in rows:
        member = (row.get("member_id") or "").strip() or by_email.get(
            (row.get("email") or "").strip().lower()
        )
        count = _count(row.get("contributions") or "")
        if member in data.roles and count is not None:
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
        "source": f"question {given.question}" if given.question else f"csv {given.csv.name}",  # type: ignore[union-attr]
        "counted": len(counts),
        "contributed": share(sum(c > 0 for c in counts), len(data.roles)),
        "total": sum(counts),
        "per_member": spread([float(c) for c in counts]),
        "by_role": by_role,
        "rows_naming_nobody": unknown,
    }
