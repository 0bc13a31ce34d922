"""Small store operations every stage shares: programs, cycles, member ids and the event log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mentorflow.store.tables import cycles, events, members, programs

_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o/1/l: ids get read aloud and typed


def _random_id(prefix: str) -> str:
    # 32 letters: each random byte's low 5 bits pick one without bias, 20x faster than choice()
    return prefix + "".join(_ID_ALPHABET[b & 31] for b in secrets.token_bytes(12))


def new_member_id() -> str:
    """An opaque member id (``m_`` + 12 characters): carries nothing about the person."""
    return _random_id("m_")


def new_member_ids(count: int) -> list[str]:
    """`count` member ids from one draw of randomness (bulk intake creates thousands at once)."""
    pool = secrets.token_bytes(12 * count)
    return [
        "m_" + "".join(_ID_ALPHABET[b & 31] for b in pool[i : i + 12])
        for i in range(0, 12 * count, 12)
    ]


def new_match_id() -> str:
    """An opaque match id (``p_`` + 12 characters)."""
    return _random_id("p_")


def new_review_id() -> str:
    """An opaque review id (``r_`` + 12 characters): what one pause showed the organizer."""
    return _random_id("r_")


@dataclass(frozen=True)
class CycleRef:
    """The store's view of one cycle of one program."""

    id: int
    program_id: str
    label: str
    starts_on: date
    ends_on: date
    status: str


def ensure_program(
    conn: Connection,
    program_id: str,
    name: str,
    now: datetime,
    spec_path: str = "",
    spec_sha256: str = "",
) -> None:
    """Create the program row on first sight; keep its name and spec fingerprint current."""
    row = conn.execute(select(programs.c.id).where(programs.c.id == program_id)).first()
    values = {"name": name, "spec_path": spec_path, "spec_sha256": spec_sha256}
    if row is None:
        conn.execute(insert(programs).values(id=program_id, created_at=now, **values))
    else:
        conn.execute(update(programs).where(programs.c.id == program_id).values(**values))


def ensure_cycle(
    conn: Connection, program_id: str, label: str, starts_on: date, ends_on: date, now: datetime
) -> CycleRef:
    """The cycle with this label, created in status ``intake`` when it does not exist yet."""
    found = get_cycle(conn, program_id, label)
    if found is not None:
        return found
    conn.execute(
        insert(cycles).values(
            program_id=program_id,
            label=label,
            starts_on=starts_on,
            ends_on=ends_on,
            status="intake",
            created_at=now,
        )
    )
    created = get_cycle(conn, program_id, label)
    assert created is not None
    return created


def get_cycle(conn: Connection, program_id: str, label: str) -> CycleRef | None:
    row = conn.execute(
        select(cycles).where(cycles.c.program_id == program_id, cycles.c.label == label)
    ).first()
    if row is None:
        return None
    return CycleRef(row.id, row.program_id, row.label, row.starts_on, row.ends_on, row.status)


def set_cycle_status(conn: Connection, cycle_id: int, status: str) -> None:
    conn.execute(update(cycles).where(cycles.c.id == cycle_id).values(status=status))


def log_event(
    conn: Connection,
    *,
    program_id: str,
    kind: str,
    at: datetime,
    data: dict[str, Any] | None = None,
    cycle_id: int | None = None,
    member_id: str | None = None,
) -> None:
    """Append to the event log (never updated, only erased with the member)."""
    conn.execute(
        insert(events).values(
            program_id=program_id,
            cycle_id=cycle_id,
            member_id=member_id,
            kind=kind,
            data=data or {},
            at=at,
        )
    )


def member_contact(conn: Connection, member_id: str) -> tuple[str | None, str | None, str | None]:
    """(email, name, language) of a member: for rendering mail, never for logs."""
    row = conn.execute(
        select(members.c.email, members.c.name, members.c.language).where(members.c.id == member_id)
    ).first()
    if row is None:
        return (None, None, None)
    return (row.email, row.name, row.language)
