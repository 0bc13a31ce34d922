"""Shared setup for mail tests: a store with one program, one cycle and some members."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, insert

from mentorflow.mail.settings import MailSettings, Organizer, SmtpSettings
from mentorflow.store.db import open_store
from mentorflow.store.repo import CycleRef, ensure_cycle, ensure_program
from mentorflow.store.tables import members

NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
PROGRAM = "pyladies-berlin"


def settings_for(tmp_path: Path, **changes: object) -> MailSettings:
    base = MailSettings(
        program_id=PROGRAM,
        default_language="de",
        from_name="PyLadies Mentoring",
        from_address="mentoring@example.org",
        reply_to="orga@example.org",
        base_url="https://mentoring.example.org",
        outbox_dir=tmp_path / "outbox",
        program_name="PyLadies Berlin Mentoring",
        organizers=(Organizer(name="Ada Orga", email="orga@example.org"),),
        timezone="Europe/Berlin",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def smtp_settings(server: object, **changes: object) -> SmtpSettings:
    return replace(
        SmtpSettings(host=server.host, port=server.port, security="none", timeout=5),  # type: ignore[attr-defined]
        **changes,  # type: ignore[arg-type]
    )


def make_store(url: str) -> tuple[Engine, CycleRef]:
    engine = open_store(url)
    with engine.begin() as conn:
        ensure_program(conn, PROGRAM, "PyLadies Berlin Mentoring", NOW)
        cycle = ensure_cycle(conn, PROGRAM, "2027-1", date(2027, 2, 1), date(2027, 4, 26), NOW)
    return engine, cycle


def add_member(
    engine: Engine,
    member_id: str,
    email: str,
    name: str,
    language: str | None = "de",
    **extra: object,
) -> str:
    with engine.begin() as conn:
        conn.execute(
            insert(members).values(
                id=member_id,
                program_id=PROGRAM,
                email=email,
                name=name,
                language=language,
                timezone="Europe/Berlin",
                created_at=NOW,
                updated_at=NOW,
                **extra,
            )
        )
    return member_id
