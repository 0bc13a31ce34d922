"""What the tick reads from the store: live pairs and people, pauses, answers, handled keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from mentorflow.store.tables import (
    checkins,
    cycles,
    engagement_skips,
    enrolments,
    match_members,
    matches,
    member_pauses,
    members,
    outbox,
    rematch_requests,
    survey_responses,
)

LIVE = ("approved", "active")


@dataclass(frozen=True)
class Person:
    """A member as the schedule sees them: ids, zone and flags only, no name or address."""

    id: str
    side: str  # mentor | mentee | peer
    timezone: str | None
    language: str | None
    availability_utc: tuple[int, ...] = ()  # hours of the week (UTC) from the sign-up
    availability: tuple[str, ...] = ()  # canonical local slots (`Tue 18:00-20:00`)
    unsubscribed: bool = False
    bounced: bool = False
    erased: bool = False


@dataclass(frozen=True)
class Pair:
    """A live pair or group of one cycle; `starts_on` is the day it began (program time zone)."""

    id: str
    round: int
    starts_on: date
    people: tuple[Person, ...]

    def partners_of(self, member_id: str) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.id != member_id)


@dataclass(frozen=True)
class Absence:
    member_id: str
    kind: str  # pause | leave
    starts_at: datetime
    ends_at: datetime | None

    def covers(self, moment: datetime) -> bool:
        return self.starts_at <= moment and (self.ends_at is None or moment < self.ends_at)


@dataclass(frozen=True)
class ProgramState:
    """One consistent read of the store for one cycle, taken at the start of a tick."""

    program_id: str
    cycle_id: int
    cycle_label: str
    pairs: tuple[Pair, ...]
    absences: Mapping[str, tuple[Absence, ...]] = field(default_factory=dict)
    met: frozenset[str] = frozenset()  # pair ids with at least one `met` answer
    # pair id -> the day (program time zone) of its first `met` answer: the fit check's cue
    met_on: Mapping[str, date] = field(default_factory=dict)
    surveyed: frozenset[tuple[str, str]] = frozenset()  # (member id, survey id) answered
    # (member id, survey id, occurrence) answered: kind-scheduled surveys repeat (issue 10)
    survey_answers: frozenset[tuple[str, str, str]] = frozenset()
    # pairs that ended in this cycle, `starts_on` = the day they ended ("why did it end")
    ended_pairs: tuple[Pair, ...] = ()
    handled: frozenset[str] = frozenset()  # outbox keys and skipped keys of this cycle
    open_rematches: tuple[tuple[str, str, str], ...] = ()  # (member id, from match, cause)
    offers: tuple[tuple[str, str, str], ...] = ()  # partners left alone, not asked yet: same shape
    ended: tuple[tuple[str, str | None], ...] = ()  # (match id, end reason) of this cycle
    # member id -> the day (program time zone) their welcome, with the baseline link, was queued
    welcomed: Mapping[str, date] = field(default_factory=dict)
    closed: bool = False  # issue 11: the cycle's status is `closed` (docs/closure.md)

    @cached_property
    def pair_by_id(self) -> Mapping[str, Pair]:
        """Live pairs by match id, built once per read (a kickoff looks up thousands)."""
        return {pair.id: pair for pair in self.pairs}

    def absent(self, member_id: str, moment: datetime) -> Absence | None:
        for absence in self.absences.get(member_id, ()):
            if absence.covers(moment):
                return absence
        return None


def load_state(
    conn: Connection,
    program_id: str,
    cycle_id: int,
    cycle_label: str,
    zone: ZoneInfo,
    closed: bool | None = None,
) -> ProgramState:
    """Everything the schedule needs, in a handful of queries (never one per member)."""
    return ProgramState(
        program_id=program_id,
        cycle_id=cycle_id,
        cycle_label=cycle_label,
        pairs=_pairs(conn, cycle_id, zone),
        absences=_absences(conn, cycle_id),
        **_met(conn, cycle_id, zone),
        surveyed=frozenset(
            (r.member_id, r.survey_id)
            for r in conn.execute(
                select(survey_responses.c.member_id, survey_responses.c.survey_id).where(
                    survey_responses.c.cycle_id == cycle_id
                )
            )
        ),
        survey_answers=frozenset(
            (r.member_id, r.survey_id, r.occurrence)
            for r in conn.execute(
                select(
                    survey_responses.c.member_id,
                    survey_responses.c.survey_id,
                    survey_responses.c.occurrence,
                ).where(survey_responses.c.cycle_id == cycle_id)
            )
        ),
        ended_pairs=_pairs(conn, cycle_id, zone, ("ended",)),
        handled=_handled(conn, program_id, cycle_label),
        welcomed=_welcomed(conn, cycle_id, zone),
        open_rematches=_requests(conn, cycle_id, "open"),
        offers=_requests(conn, cycle_id, "offered"),
        ended=tuple(
            (r.id, r.end_reason)
            for r in conn.execute(
                select(matches.c.id, matches.c.end_reason).where(
                    matches.c.cycle_id == cycle_id, matches.c.status == "ended"
                )
            )
        ),
        closed=_closed(conn, cycle_id) if closed is None else closed,
    )


def _closed(conn: Connection, cycle_id: int) -> bool:
    return conn.execute(select(cycles.c.status).where(cycles.c.id == cycle_id)).scalar() == "closed"


def _pairs(
    conn: Connection, cycle_id: int, zone: ZoneInfo, statuses: tuple[str, ...] = LIVE
) -> tuple[Pair, ...]:
    """Pairs in `statuses`; for ended pairs `starts_on` holds the day they ended (issue 10)."""
    day = matches.c.approved_at if statuses == LIVE else matches.c.ended_at
    rows = conn.execute(
        select(
            matches.c.id,
            matches.c.round,
            day.label("approved_at"),
            match_members.c.side,
            members.c.id.label("member_id"),
            members.c.timezone,
            members.c.language,
            members.c.unsubscribed_at,
            members.c.bounced_at,
            members.c.erased_at,
            enrolments.c.answers,
        )
        .join(match_members, match_members.c.match_id == matches.c.id)
        .join(members, members.c.id == match_members.c.member_id)
        .outerjoin(
            enrolments,
            (enrolments.c.member_id == members.c.id) & (enrolments.c.cycle_id == cycle_id),
        )
        .where(matches.c.cycle_id == cycle_id, matches.c.status.in_(statuses))
        .order_by(matches.c.id, members.c.id)
    ).all()
    grouped: dict[str, tuple[Any, list[Person]]] = {}
    for row in rows:
        grouped.setdefault(row.id, (row, []))[1].append(_person(row))
    return tuple(
        Pair(match_id, row.round, _day(row.approved_at, zone), tuple(people))
        for match_id, (row, people) in grouped.items()
    )


def _person(row: Any) -> Person:
    answers = row.answers or {}
    return Person(
        id=row.member_id,
        side=row.side,
        timezone=row.timezone,
        language=row.language,
        availability_utc=tuple(answers.get("availability_utc") or ()),
        availability=tuple(answers.get("availability") or ()),
        unsubscribed=row.unsubscribed_at is not None,
        bounced=row.bounced_at is not None,
        erased=row.erased_at is not None,
    )


@lru_cache(maxsize=1024)  # a result is approved at one moment: thousands of pairs share it
def _day(moment: datetime | None, zone: ZoneInfo) -> date:
    if moment is None:
        return date.min
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def _absences(conn: Connection, cycle_id: int) -> dict[str, tuple[Absence, ...]]:
    found: dict[str, list[Absence]] = {}
    for row in conn.execute(select(member_pauses).where(member_pauses.c.cycle_id == cycle_id)):
        found.setdefault(row.member_id, []).append(
            Absence(row.member_id, row.kind, aware(row.starts_at), aware(row.ends_at))
        )
    return {k: tuple(v) for k, v in found.items()}


def aware(moment: datetime | None) -> Any:
    """SQLite returns naive datetimes for aware columns; they were stored as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _handled(conn: Connection, program_id: str, cycle_label: str) -> frozenset[str]:
    prefix = f"{program_id}:{cycle_label}:"
    sent = conn.execute(
        select(outbox.c.key).where(outbox.c.key.startswith(prefix, autoescape=True))
    )
    skipped = conn.execute(
        select(engagement_skips.c.key).where(
            engagement_skips.c.key.startswith(prefix, autoescape=True)
        )
    )
    return frozenset(r.key for r in sent) | frozenset(r.key for r in skipped)


def _met(conn: Connection, cycle_id: int, zone: ZoneInfo) -> dict[str, Any]:
    """`met` and `met_on` of the state: pairs that reported a meeting, and since when."""
    query = (
        select(checkins.c.match_id, func.min(checkins.c.answered_at).label("first"))
        .where(checkins.c.cycle_id == cycle_id, checkins.c.answer == "met")
        .group_by(checkins.c.match_id)
    )
    first = {r.match_id: _day(aware(r.first), zone) for r in conn.execute(query)}
    return {"met": frozenset(first), "met_on": first}


def _welcomed(conn: Connection, cycle_id: int, zone: ZoneInfo) -> dict[str, date]:
    query = select(outbox.c.member_id, outbox.c.created_at).where(
        outbox.c.cycle_id == cycle_id, outbox.c.purpose == "welcome"
    )
    return {r.member_id: _day(aware(r.created_at), zone) for r in conn.execute(query)}


def _requests(conn: Connection, cycle_id: int, status: str) -> tuple[tuple[str, str, str], ...]:
    query = select(rematch_requests).where(
        rematch_requests.c.cycle_id == cycle_id, rematch_requests.c.status == status
    )
    return tuple((r.member_id, r.from_match_id, r.cause) for r in conn.execute(query))
