"""Build constructed cycles for the retrospective tests: rows in, figures with known answers out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from mentorflow.spec import ProgramSpec, load_spec
from mentorflow.store.db import open_store
from mentorflow.store.repo import ensure_cycle, ensure_program, log_event
from mentorflow.store.tables import (
    checkins,
    enrolments,
    intake_rows,
    match_members,
    matches,
    member_pauses,
    members,
    outbox,
    survey_responses,
    survey_stories,
)

DATA = Path(__file__).resolve().parent / "data" / "retrospective"
SPEC = DATA / "retro.yaml"
T0 = datetime(2027, 2, 25, 12, tzinfo=UTC)


def at(spec: ProgramSpec, days: int) -> datetime:
    """Noon UTC `days` after the cycle start."""
    return datetime.combine(spec.cycle.start, datetime.min.time(), tzinfo=UTC) + timedelta(
        days=days, hours=12
    )


@dataclass
class Builder:
    engine: Engine
    spec: ProgramSpec
    cycle_id: int
    _known: set[str]

    def member(self, member_id: str, role: str, status: str = "enrolled") -> str:
        with self.engine.begin() as conn:
            if member_id not in self._known:
                conn.execute(
                    insert(members).values(
                        id=member_id,
                        program_id=self.spec.program.id,
                        email=f"{member_id}@example.org",
                        name=f"Name {member_id}",
                        language="en",
                        timezone="Europe/Berlin",
                        created_at=T0,
                        updated_at=T0,
                    )
                )
                self._known.add(member_id)
            conn.execute(
                insert(enrolments).values(
                    cycle_id=self.cycle_id,
                    member_id=member_id,
                    role=role,
                    status=status,
                    answers={"signup_name": f"Name {member_id}"},
                    capacity=1,
                    priority=0,
                    created_at=T0,
                    updated_at=T0,
                )
            )
        return member_id

    def pair(
        self,
        match_id: str,
        mentor: str,
        mentee: str,
        *,
        scores: dict[str, float] | None = None,
        ended_day: int | None = None,
        reason: str | None = None,
        approved_day: int = -2,
    ) -> None:
        parts = [
            {"criterion": name, "kind": name.split(":")[0], "weight": 1.0, "score": value}
            for name, value in (scores or {}).items()
        ]  # the shape matching stores: one explanation per pair of people in the match
        explanation = [{"a": mentor, "b": mentee, "score": 0.0, "contributions": parts}]
        with self.engine.begin() as conn:
            conn.execute(
                insert(matches).values(
                    id=match_id,
                    cycle_id=self.cycle_id,
                    round=1,
                    status="ended" if reason else "approved",
                    score=sum((scores or {}).values()),
                    explanation=explanation,
                    created_at=T0,
                    approved_at=at(self.spec, approved_day),
                    ended_at=at(self.spec, ended_day) if ended_day is not None else None,
                    end_reason=reason,
                )
            )
            for member_id, side in ((mentor, "mentor"), (mentee, "mentee")):
                conn.execute(
                    insert(match_members).values(match_id=match_id, member_id=member_id, side=side)
                )

    def checkin(
        self, match_id: str, member_id: str, answer: str, occurrence: str = "checkin-1"
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(checkins).values(
                    cycle_id=self.cycle_id,
                    match_id=match_id,
                    member_id=member_id,
                    occurrence=occurrence,
                    answer=answer,
                    answered_at=at(self.spec, 15),
                )
            )

    def answer(
        self,
        member_id: str,
        survey_id: str,
        answers: dict[str, Any],
        occurrence: str = "1",
        match_id: str | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(survey_responses).values(
                    cycle_id=self.cycle_id,
                    member_id=member_id,
                    survey_id=survey_id,
                    occurrence=occurrence,
                    answers=answers,
                    channel="web",
                    submitted_at=at(self.spec, 30),
                    match_id=match_id,
                )
            )

    def absence(
        self,
        member_id: str,
        kind: str,
        day: int,
        until: int | None = None,
        reason: str | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(member_pauses).values(
                    cycle_id=self.cycle_id,
                    member_id=member_id,
                    kind=kind,
                    starts_at=at(self.spec, day),
                    ends_at=at(self.spec, until) if until is not None else None,
                    reason=reason,
                    created_at=at(self.spec, day),
                )
            )

    def story(self, member_id: str, text: str, share: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(survey_stories).values(
                    cycle_id=self.cycle_id,
                    member_id=member_id,
                    survey_id="pulse",
                    occurrence="pulse-1",
                    text=text,
                    share=share,
                    consent_at=T0 if share else None,
                    created_at=T0,
                    updated_at=T0,
                )
            )

    def intake_row(self, number: int, outcome: str, member_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(intake_rows).values(
                    cycle_id=self.cycle_id,
                    source="csv:intake.csv",
                    row_number=number,
                    row_hash=f"{number:064d}",
                    outcome=outcome,
                    member_id=member_id,
                    reasons=[],
                    created_at=T0,
                )
            )

    def mail(self, member_id: str, purpose: str, occurrence: str) -> None:
        """An outbox row as the tick writes it (key, purpose); no content needed here."""
        key = f"{self.spec.program.id}:{self.spec.cycle.label}:{member_id}:{purpose}:{occurrence}"
        with self.engine.begin() as conn:
            conn.execute(
                insert(outbox).values(
                    key=key,
                    program_id=self.spec.program.id,
                    cycle_id=self.cycle_id,
                    member_id=member_id,
                    purpose=purpose,
                    template="survey_invitation",
                    language="en",
                    headers={},
                    status="sent",
                    attempts=1,
                    created_at=T0,
                    updated_at=T0,
                )
            )

    def event(self, kind: str, data: dict[str, Any], member_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            log_event(
                conn,
                program_id=self.spec.program.id,
                cycle_id=self.cycle_id,
                member_id=member_id,
                kind=kind,
                at=T0,
                data=data,
            )


def program(url: str, spec_path: Path = SPEC, starts: date | None = None) -> Builder:
    """A program's cycle in a fresh store (the spec's cycle, or one starting on `starts`)."""
    spec = load_spec(spec_path)
    engine = open_store(url)
    return cycle(engine, spec, starts or spec.cycle.start, set())


def cycle(engine: Engine, spec: ProgramSpec, starts: date, known: set[str]) -> Builder:
    with engine.begin() as conn:
        ensure_program(conn, spec.program.id, spec.program.name, T0, str(spec.path), spec.sha256)
        made = ensure_cycle(
            conn, spec.program.id, starts.isoformat(), starts, starts + spec.cycle.duration, T0
        )
    return Builder(engine, spec, made.id, known)
