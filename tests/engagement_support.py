"""Shared setup for the engagement tests: a store with approved pairs ready for the tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert

from mentorflow.mail.settings import mail_runtime
from mentorflow.spec import ProgramSpec, load_spec
from mentorflow.store.db import open_store
from mentorflow.store.repo import ensure_cycle, ensure_program
from mentorflow.store.tables import enrolments, match_members, matches, members

DATA = Path(__file__).resolve().parent / "data" / "issue9"
APPROVED = datetime(2027, 2, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    id: str
    role: str
    timezone: str
    language: str = "en"
    availability: tuple[str, ...] = ()
    availability_utc: tuple[int, ...] = ()


def setup_program(
    url: str, spec_name: str, pairs: list[tuple[Person, Person]]
) -> tuple[Engine, ProgramSpec, int]:
    """Program, cycle, members, enrolments and approved matches p_<n> for `pairs`."""
    spec = load_spec(DATA / spec_name)
    engine = open_store(url)
    with engine.begin() as conn:
        ensure_program(conn, spec.program.id, spec.program.name, APPROVED)
        cycle = ensure_cycle(
            conn, spec.program.id, spec.cycle.label, spec.cycle.start, spec.cycle.end, APPROVED
        )
        for number, pair in enumerate(pairs, 1):
            for person in pair:
                add_person(conn, spec.program.id, cycle.id, person)
            add_match(conn, cycle.id, f"p_{number:03d}", pair)
    return engine, spec, cycle.id


def add_person(conn, program_id: str, cycle_id: int, person: Person) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        insert(members).values(
            id=person.id,
            program_id=program_id,
            email=f"{person.id}@example.org",
            name=f"Name {person.id}",
            language=person.language,
            timezone=person.timezone,
            created_at=APPROVED,
            updated_at=APPROVED,
        )
    )
    answers = {
        "availability": list(person.availability),
        "availability_utc": list(person.availability_utc),
        "timezone": person.timezone,
    }
    conn.execute(
        insert(enrolments).values(
            cycle_id=cycle_id,
            member_id=person.id,
            role=person.role,
            status="enrolled",
            answers=answers,
            capacity=1,
            priority=0,
            created_at=APPROVED,
            updated_at=APPROVED,
        )
    )


def add_match(conn, cycle_id: int, match_id: str, pair: tuple[Person, ...]) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        insert(matches).values(
            id=match_id,
            cycle_id=cycle_id,
            round=1,
            status="approved",
            score=1.0,
            explanation=[],
            created_at=APPROVED,
            approved_at=APPROVED,
        )
    )
    for person in pair:
        conn.execute(
            insert(match_members).values(match_id=match_id, member_id=person.id, side=person.role)
        )


def settings(spec: ProgramSpec, tmp_path: Path):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(mail_runtime(spec, with_smtp=False), outbox_dir=tmp_path / "outbox")
