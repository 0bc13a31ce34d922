"""Shared setup for the organizer pages (issue 12): a seeded pool, its spec, sign-in helpers."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select, update

from mentorflow.matching import build_pool, solve, store_io
from mentorflow.matching.settings import settings_from_spec
from mentorflow.matching.synthetic import synthetic_records
from mentorflow.spec import ProgramSpec, load_spec
from mentorflow.store.db import open_store
from mentorflow.store.repo import CycleRef, ensure_cycle, ensure_program
from mentorflow.store.tables import enrolments, intake_rows, outbox
from mentorflow.web.organizer_routes import WaitingRun
from tests.fakes.matching import enrol_records

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2027, 1, 26, 9, 0, tzinfo=UTC)
PROGRAM = "demo-mentoring"
ORGANIZER = "orga@example.org"
KEY = "test-secret-key-not-for-production"
NAME = "Person Nummer{i}"


def organizer_spec(tmp_path: Path, base_url: str = "http://127.0.0.1:8000") -> Path:
    """program_specs/one_to_one.yaml with organizer approval, at `base_url`, beside its CSV."""
    text = (ROOT / "program_specs" / "one_to_one.yaml").read_text(encoding="utf-8")
    shutil.copytree(ROOT / "program_specs" / "intake", tmp_path / "intake", dirs_exist_ok=True)
    text = text.replace("approval: automatic", "approval: organizer")
    text = text.replace("base_url: http://127.0.0.1:8000", f"base_url: {base_url}")
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def seed_pool(url: str, mentees: int = 9, mentors: int = 4) -> tuple[Engine, int]:
    """Enrolled synthetic members named `Person Nummer<i>`; (engine, cycle id)."""
    engine, cycle = seed_cycle(url, mentees, mentors)
    return engine, cycle.id


def seed_cycle(url: str, mentees: int = 9, mentors: int = 4) -> tuple[Engine, CycleRef]:
    """`seed_pool`, returning the cycle itself (the matching flow tests read its label)."""
    engine = open_store(url)
    records = synthetic_records(mentees, mentors, seed=11, max_capacity=2)
    with engine.begin() as conn:
        ensure_program(conn, PROGRAM, "Demo", NOW)
        cycle = ensure_cycle(conn, PROGRAM, "2027-02-01", NOW.date(), NOW.date(), NOW)
        enrol_records(
            conn,
            program_id=PROGRAM,
            cycle_id=cycle.id,
            records=records,
            now=NOW,
            contact=("person{i}@example.org", NAME, "de"),
            timezone="Europe/Berlin",
        )
    return engine, cycle


def save_proposal(engine: Engine, spec: ProgramSpec, cycle_id: int) -> dict[str, str]:
    """Solve the pool and store it as the proposal, as the matching flow's first task does."""
    settings = settings_from_spec(spec)
    with engine.connect() as conn:
        found = store_io.load_pool_input(conn, spec.program.id, cycle_id, 1)
    result = solve(build_pool(found.records, settings, week_of=spec.cycle.start), settings)
    with engine.begin() as conn:
        return store_io.save_proposal(conn, cycle_id, result, NOW)


def seed_problems(engine: Engine, cycle_id: int) -> list[str]:
    """Two enrolled members back to screening, a quarantined row, an unconfirmed mail.

    Returns the ids of the two applicants now waiting (the first one's mail is unconfirmed).
    """
    with engine.begin() as conn:
        waiting = list(conn.execute(select(enrolments.c.member_id).limit(2)).scalars())
        conn.execute(
            update(enrolments)
            .where(enrolments.c.member_id.in_(waiting))
            .values(status="pending_approval")
        )
        conn.execute(
            insert(intake_rows).values(
                cycle_id=cycle_id,
                source="csv:intake/one_to_one.csv",
                row_number=7,
                row_hash="h7",
                outcome="quarantined",
                reasons=["e-mail address is missing"],
                created_at=NOW,
            )
        )
        conn.execute(
            insert(outbox).values(
                key="k1",
                program_id=PROGRAM,
                member_id=waiting[0],
                purpose="welcome",
                template="welcome",
                language="de",
                headers={},
                status="unconfirmed",
                sent_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return waiting


@dataclass
class RecordedDecisions:
    """`Decisions` that record what the pages asked, for route tests without Prefect."""

    run: WaitingRun | None = field(default_factory=lambda: WaitingRun("run-1"))
    calls: list[tuple[str, dict]] = field(default_factory=list)

    def waiting(self, flow_name: str, spec: ProgramSpec) -> WaitingRun | None:
        return self.run

    def approve_matches(self, spec, *, approve_all, drop, hold_back) -> str:  # type: ignore[no-untyped-def]
        self.calls.append(
            ("matching", {"approve_all": approve_all, "drop": drop, "hold_back": hold_back})
        )
        return f"answered flow run {self.run.id if self.run else '-'}"

    def screen(self, spec, *, approve, decline) -> str:  # type: ignore[no-untyped-def]
        self.calls.append(("intake", {"approve": approve, "decline": decline}))
        return "answered the screening"


def load(path: Path) -> ProgramSpec:
    return load_spec(path)
