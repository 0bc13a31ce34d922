"""Seeding the store with synthetic matching pools, shared by the matching tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from mentorflow.store.tables import enrolments, members


def enrol_records(
    conn: Connection,
    *,
    program_id: str,
    cycle_id: int,
    records: list[dict[str, Any]],
    now: datetime,
    contact: tuple[str, str, str] = ("person{i}@example.org", "Person {i}", "en"),
    timezone: str | None = None,
) -> None:
    """Insert one member and one enrolled enrolment per synthetic record.

    `contact` gives the address and name patterns (formatted with the record's index) and the
    mail language.
    """
    email, name, language = contact
    for i, record in enumerate(records):
        conn.execute(
            insert(members).values(
                id=record["id"],
                program_id=program_id,
                email=email.format(i=i),
                name=name.format(i=i),
                language=language,
                timezone=timezone,
                created_at=now,
                updated_at=now,
            )
        )
        answers = {k: v for k, v in record.items() if k not in ("id", "role", "capacity")}
        conn.execute(
            insert(enrolments).values(
                cycle_id=cycle_id,
                member_id=record["id"],
                role=record["role"],
                status="enrolled",
                answers=answers,
                capacity=record["capacity"],
                priority=0,
                created_at=now,
                updated_at=now,
            )
        )
