"""Seeding the store with synthetic matching pools, shared by the matching tests."""

from __future__ import annotations

from datetime import UTC, datetime
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


def intake_csv(tmp_path: Any, csv_path: Any, store: str = "store.db", **replace: str) -> Any:
    """program_specs/one_to_one.yaml reading `csv_path`, its intake run into a new SQLite store.

    Returns (spec, engine, cycle). `replace` maps spec text to what replaces it.
    """
    import shutil
    from pathlib import Path

    from mentorflow.clock import FixedClock
    from mentorflow.intake.service import ingest
    from mentorflow.intake.sources import read_csv
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store
    from mentorflow.store.repo import get_cycle

    root = Path(__file__).resolve().parents[2]
    text = (root / "program_specs" / "one_to_one.yaml").read_text(encoding="utf-8")
    # the intake CSV must sit beside the spec (or in MENTORFLOW_DATA_DIR): copy it there
    local = Path(tmp_path) / f"{store}.csv"
    shutil.copyfile(csv_path, local)
    text = text.replace("path: intake/one_to_one.csv", f"path: {local.name}")
    for old, new in replace.items():
        text = text.replace(old, new)
    path = Path(tmp_path) / f"{store}.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_spec(path)
    engine = open_store(f"sqlite:///{Path(tmp_path) / store}")
    ingest(
        engine,
        read_csv(spec.intake.source),
        spec,
        FixedClock(datetime(2027, 1, 26, 9, 0, tzinfo=UTC)),
    )
    with engine.connect() as conn:
        cycle = get_cycle(conn, spec.program.id, spec.cycle.label)
    return spec, engine, cycle
