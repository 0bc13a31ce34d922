"""What the organizer pages show, read from the store with names: only signed-in pages use this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from mentorflow.engagement.digest import build_report
from mentorflow.engagement.state import load_state
from mentorflow.intake import screening
from mentorflow.mail import review
from mentorflow.matching.store_io import contacts
from mentorflow.spec.model import ProgramSpec
from mentorflow.store import repo
from mentorflow.store.tables import intake_rows, match_members, matches, survey_quarantine


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    side: str


@dataclass(frozen=True)
class ProposedPair:
    id: str
    score: float
    people: tuple[Person, ...]
    why: tuple[str, ...]  # one sentence per pair inside the match (a group has several)


@dataclass(frozen=True)
class ApplicantView:
    id: str
    name: str
    role: str
    answers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class QuarantinedRow:
    where: str  # "intake" or the survey id
    source: str
    row_number: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class OpenMailView:
    id: int
    template: str
    at: datetime | None
    to: str  # the member's name, or "organizer"
    note: str


@dataclass(frozen=True)
class ProgramOverview:
    cycle_label: str
    status: str
    pairs: int
    met: int
    inactive: tuple[tuple[str, ...], ...]  # names per pair
    bounced: tuple[str, ...]
    left: tuple[str, ...]
    proposed: int
    unconfirmed: int


def _cycle(conn: Connection, spec: ProgramSpec) -> Any:
    return repo.get_cycle(conn, spec.program.id, spec.cycle.label)


def _names(conn: Connection, ids: list[str]) -> dict[str, str]:
    found = contacts(conn, ids) if ids else {}
    return {i: (found[i][0] if i in found and found[i][0] else i) for i in ids}


def proposal(engine: Engine, spec: ProgramSpec, round_no: int) -> list[ProposedPair]:
    """This round's proposed matches, best score first, with names and explanations."""
    with engine.connect() as conn:
        cycle = _cycle(conn, spec)
        if cycle is None:
            return []
        rows = conn.execute(
            select(matches.c.id, matches.c.score, matches.c.explanation)
            .where(matches.c.cycle_id == cycle.id, matches.c.round == round_no)
            .where(matches.c.status == "proposed")
            .order_by(matches.c.score.desc(), matches.c.id)
        ).all()
        sides = conn.execute(
            select(match_members).where(match_members.c.match_id.in_([r.id for r in rows]))
        ).all()
        names = _names(conn, sorted({s.member_id for s in sides}))
    language = spec.program.language
    out = []
    for row in rows:
        people = tuple(
            Person(s.member_id, names[s.member_id], s.side)
            for s in sorted(sides, key=lambda s: (s.side != "mentor", s.member_id))
            if s.match_id == row.id
        )
        why = tuple(_why(e, language) for e in row.explanation or [])
        out.append(ProposedPair(row.id, row.score, people, tuple(w for w in why if w)))
    return out


def _why(explanation: Any, language: str) -> str:
    text = explanation.get("text") if isinstance(explanation, dict) else None
    return str(text.get(language) or text.get("en") or "") if isinstance(text, dict) else ""


def applicants(engine: Engine, spec: ProgramSpec) -> list[ApplicantView]:
    waiting = screening.pending_applicants(engine, spec)
    with engine.connect() as conn:
        names = _names(conn, [a.member_id for a in waiting])
    return [
        ApplicantView(a.member_id, names[a.member_id], a.role, _answers(a.answers)) for a in waiting
    ]


# Computed by the intake from the form's own answers (time zone, slots): noise to a reader.
_DERIVED = frozenset({"role", "availability_utc", "utc_offset"})


def _answers(answers: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    def text(value: Any) -> str:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    return tuple((k, text(v)) for k, v in answers.items() if k not in _DERIVED)


def quarantined(engine: Engine, spec: ProgramSpec) -> list[QuarantinedRow]:
    """Form rows the intake and the survey import could not read, with their reasons."""
    with engine.connect() as conn:
        cycle = _cycle(conn, spec)
        if cycle is None:
            return []
        intake = conn.execute(
            select(intake_rows.c.source, intake_rows.c.row_number, intake_rows.c.reasons)
            .where(intake_rows.c.cycle_id == cycle.id, intake_rows.c.outcome == "quarantined")
            .order_by(intake_rows.c.source, intake_rows.c.row_number)
        ).all()
        surveys = conn.execute(
            select(survey_quarantine)
            .where(survey_quarantine.c.cycle_id == cycle.id)
            .order_by(survey_quarantine.c.survey_id, survey_quarantine.c.row_number)
        ).all()
    return [
        QuarantinedRow("intake", r.source, r.row_number, tuple(map(str, r.reasons or [])))
        for r in intake
    ] + [QuarantinedRow(r.survey_id, r.source, r.row_number, (r.reason,)) for r in surveys]


def unconfirmed_mail(engine: Engine, spec: ProgramSpec) -> list[OpenMailView]:
    mails = review.unconfirmed(engine, spec.program.id)
    with engine.connect() as conn:
        names = _names(conn, sorted({m.member_id for m in mails if m.member_id}))
    return [
        OpenMailView(
            m.id, m.template, m.at, names[m.member_id] if m.member_id else "organizer", m.note
        )
        for m in mails
    ]


def overview(engine: Engine, spec: ProgramSpec, now: datetime) -> ProgramOverview | None:
    """The cycle's pairs, inactive pairs, bounced and left members since the cycle began."""
    with engine.connect() as conn:
        cycle = _cycle(conn, spec)
        if cycle is None:
            return None
        state = load_state(conn, spec.program.id, cycle.id, cycle.label, spec.program.zone)
        report = build_report(conn, spec, state, datetime(1970, 1, 1, tzinfo=UTC), now)
        ids = sorted({*report.bounced, *report.left, *(i for p in report.inactive for i in p)})
        names = _names(conn, ids)
    return ProgramOverview(
        cycle_label=cycle.label,
        status=cycle.status,
        pairs=report.pairs,
        met=report.met,
        inactive=tuple(tuple(names[i] for i in pair) for pair in report.inactive),
        bounced=tuple(names[i] for i in report.bounced),
        left=tuple(names[i] for i in report.left),
        proposed=report.proposed,
        unconfirmed=len(review.unconfirmed(engine, spec.program.id)),
    )
