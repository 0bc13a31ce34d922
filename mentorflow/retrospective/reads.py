"""Everything the retrospective reads about one cycle, in one pass of a dozen queries.

The figures are computed from these plain rows (no further store access), so that a 10,000-member
cycle costs a few bulk reads, and a test can build a cycle from rows alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from mentorflow.engagement.state import Absence, aware
from mentorflow.spec.model import ProgramSpec
from mentorflow.store.tables import (
    checkins,
    cycles,
    enrolments,
    events,
    intake_rows,
    match_members,
    matches,
    member_pauses,
    outbox,
    rematch_requests,
    survey_responses,
    survey_stories,
)
from mentorflow.surveys import results

ALUMNI_EVENT = "alumni_answer"  # closure stage: {"answer": "yes" | "no"}, one per member
WAITLIST_EVENT = "waitlisted"  # matching: {"members": [...]}


@dataclass(frozen=True)
class Pair:
    id: str
    round: int
    status: str
    score: float
    explanation: list[dict[str, Any]]
    approved_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    members: dict[str, str]  # member id -> side


@dataclass(frozen=True)
class Response:
    member_id: str
    survey_id: str
    occurrence: str
    answers: dict[str, Any]
    match_id: str | None


@dataclass(frozen=True)
class CycleRow:
    id: int
    label: str
    starts_on: date
    ends_on: date
    status: str


@dataclass
class CycleData:
    """The rows of one cycle (and the roles of the program's other cycles)."""

    cycle: CycleRow
    intake_outcomes: Counter[str] = field(default_factory=Counter)
    roles: dict[str, str] = field(default_factory=dict)  # member id -> role (enrolled ones)
    statuses: Counter[str] = field(default_factory=Counter)  # enrolment status -> count
    pairs: list[Pair] = field(default_factory=list)
    checkins: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # match, member, occ, answer
    absences: list[Absence] = field(default_factory=list)
    leave_reasons: Counter[str] = field(default_factory=Counter)  # category -> members
    rematches: list[tuple[str, str]] = field(default_factory=list)  # (cause, status)
    responses: list[Response] = field(default_factory=list)
    mails: Counter[str] = field(default_factory=Counter)  # outbox purpose -> count
    stories_shared: list[tuple[str, str, str]] = field(default_factory=list)  # member, survey, text
    waitlisted: set[str] = field(default_factory=set)
    alumni: dict[str, str] = field(default_factory=dict)  # member id -> yes | no
    history: list[tuple[CycleRow, dict[str, str]]] = field(default_factory=list)  # every cycle
    rates: list[results.Rate] = field(default_factory=list)  # survey invitations vs answers
    pairings: list[results.Pairing] = field(default_factory=list)  # before/after per member


ENROLLED = ("enrolled", "withdrawn", "erased")  # took a place in the cycle (erased: kept counted)


def program_cycles(conn: Connection, program_id: str) -> list[CycleRow]:
    query = select(cycles).where(cycles.c.program_id == program_id).order_by(cycles.c.starts_on)
    return [CycleRow(r.id, r.label, r.starts_on, r.ends_on, r.status) for r in conn.execute(query)]


def read_cycle(conn: Connection, spec: ProgramSpec, cycle_id: int) -> CycleData:
    """The cycle's rows; survey rates and before/after pairs come from surveys.results."""
    program_id = spec.program.id
    every = program_cycles(conn, program_id)
    this = next(c for c in every if c.id == cycle_id)
    data = CycleData(this)
    data.intake_outcomes = _intake(conn, cycle_id)
    data.statuses, data.roles = _enrolments(conn, cycle_id)
    data.pairs = _pairs(conn, cycle_id)
    data.checkins = [
        (r.match_id, r.member_id, r.occurrence, r.answer)
        for r in conn.execute(select(checkins).where(checkins.c.cycle_id == cycle_id))
    ]
    for r in conn.execute(select(member_pauses).where(member_pauses.c.cycle_id == cycle_id)):
        data.absences.append(Absence(r.member_id, r.kind, aware(r.starts_at), aware(r.ends_at)))
        if r.kind == "leave":
            data.leave_reasons[r.reason or "unknown"] += 1
    data.rematches = [
        (r.cause, r.status)
        for r in conn.execute(
            select(rematch_requests.c.cause, rematch_requests.c.status).where(
                rematch_requests.c.cycle_id == cycle_id
            )
        )
    ]
    data.responses = _responses(conn, cycle_id)
    data.mails = _mails(conn, cycle_id)
    data.stories_shared = [
        (r.member_id, r.survey_id, r.text)
        for r in conn.execute(
            select(survey_stories)
            .where(survey_stories.c.cycle_id == cycle_id, survey_stories.c.share.is_(True))
            .order_by(survey_stories.c.id)
        )
    ]
    data.waitlisted, data.alumni = _events(conn, program_id, cycle_id)
    data.history = [(c, _roles(conn, c.id)) for c in every]
    data.rates = results.rates(conn, spec, cycle_id)
    data.pairings = results.before_after(conn, spec, cycle_id)
    return data


def _intake(conn: Connection, cycle_id: int) -> Counter[str]:
    query = (
        select(intake_rows.c.outcome, func.count())
        .where(intake_rows.c.cycle_id == cycle_id)
        .group_by(intake_rows.c.outcome)
    )
    return Counter({outcome: count for outcome, count in conn.execute(query)})


def _enrolments(conn: Connection, cycle_id: int) -> tuple[Counter[str], dict[str, str]]:
    statuses: Counter[str] = Counter()
    roles: dict[str, str] = {}
    query = select(enrolments.c.member_id, enrolments.c.role, enrolments.c.status).where(
        enrolments.c.cycle_id == cycle_id
    )
    for row in conn.execute(query):
        statuses[row.status] += 1
        if row.status in ENROLLED:
            roles[row.member_id] = row.role
    return statuses, roles


def _roles(conn: Connection, cycle_id: int) -> dict[str, str]:
    query = select(enrolments.c.member_id, enrolments.c.role).where(
        enrolments.c.cycle_id == cycle_id, enrolments.c.status.in_(ENROLLED)
    )
    return {r.member_id: r.role for r in conn.execute(query)}


def _pairs(conn: Connection, cycle_id: int) -> list[Pair]:
    people: dict[str, dict[str, str]] = {}
    query = (
        select(match_members.c.match_id, match_members.c.member_id, match_members.c.side)
        .join(matches, matches.c.id == match_members.c.match_id)
        .where(matches.c.cycle_id == cycle_id)
    )
    for row in conn.execute(query):
        people.setdefault(row.match_id, {})[row.member_id] = row.side
    rows = conn.execute(
        select(matches).where(matches.c.cycle_id == cycle_id).order_by(matches.c.id)
    )
    return [
        Pair(
            r.id,
            r.round,
            r.status,
            float(r.score),
            list(r.explanation or []),
            aware(r.approved_at),
            aware(r.ended_at),
            r.end_reason,
            people.get(r.id, {}),
        )
        for r in rows
    ]


def _responses(conn: Connection, cycle_id: int) -> list[Response]:
    query = (
        select(
            survey_responses.c.member_id,
            survey_responses.c.survey_id,
            survey_responses.c.occurrence,
            survey_responses.c.answers,
            survey_responses.c.match_id,
        )
        .where(survey_responses.c.cycle_id == cycle_id)
        .order_by(survey_responses.c.id)
    )
    return [
        Response(r.member_id, r.survey_id, r.occurrence, dict(r.answers or {}), r.match_id)
        for r in conn.execute(query)
    ]


def _mails(conn: Connection, cycle_id: int) -> Counter[str]:
    query = (
        select(outbox.c.purpose, func.count())
        .where(outbox.c.cycle_id == cycle_id)
        .group_by(outbox.c.purpose)
    )
    return Counter({purpose: count for purpose, count in conn.execute(query)})


def _events(conn: Connection, program_id: str, cycle_id: int) -> tuple[set[str], dict[str, str]]:
    waitlisted: set[str] = set()
    alumni: dict[str, str] = {}
    query = (
        select(events.c.kind, events.c.member_id, events.c.data)
        .where(
            events.c.program_id == program_id,
            events.c.cycle_id == cycle_id,
            events.c.kind.in_((ALUMNI_EVENT, WAITLIST_EVENT)),
        )
        .order_by(events.c.id)
    )
    for row in conn.execute(query):
        if row.kind == WAITLIST_EVENT:
            waitlisted.update((row.data or {}).get("members", []))
        elif row.member_id and (row.data or {}).get("answer") in ("yes", "no"):
            alumni[row.member_id] = row.data["answer"]  # the latest answer wins
    return waitlisted, alumni
