"""Matching and the store: who is in the pool, what was proposed, approved, ended (rematch)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from mentorflow.errors import ApprovalError
from mentorflow.matching.result import MatchResult
from mentorflow.store.repo import log_event, new_match_id
from mentorflow.store.tables import (
    cycles,
    enrolments,
    match_members,
    matches,
    member_pauses,
    members,
)

LIVE = ("approved", "active")  # pairs that hold their people across a re-run
Pair = tuple[str, str]


@dataclass(frozen=True)
class PoolInput:
    """Everything a matching run reads from the store for one cycle and round."""

    records: list[dict[str, Any]]
    earlier_pairs: list[Pair]  # never again: earlier cycles, rounds, ended and dropped pairs
    kept: dict[str, int]  # member id -> places already taken by live pairs (rematch runs)


def _left(cycle_id: int):  # type: ignore[no-untyped-def]
    """Members who left the cycle (the leave link of any mail, the welcome included)."""
    return select(member_pauses.c.member_id).where(
        member_pauses.c.cycle_id == cycle_id, member_pauses.c.kind == "leave"
    )


def load_pool_input(
    conn: Connection, program_id: str, cycle_id: int, round_no: int = 1
) -> PoolInput:
    """Enrolled members not held by a live pair, with capacity left; the pairs never to repeat.

    A member's `priority` is the number of earlier cycles of the program that waitlisted them.
    """
    taken = _live_load(conn, cycle_id, round_no)
    waited = waitlisted_before(conn, program_id, cycle_id)
    rows = conn.execute(
        select(enrolments, members.c.timezone, members.c.language, members.c.bounced_at)
        .join(members, members.c.id == enrolments.c.member_id)
        .where(enrolments.c.cycle_id == cycle_id, enrolments.c.status == "enrolled")
        .where(members.c.erased_at.is_(None))
        .where(enrolments.c.member_id.not_in(_left(cycle_id)))
        # the order decides between equal optima: data (sheet row, address), never random ids
        .order_by(enrolments.c.source_row, members.c.email, enrolments.c.member_id)
    ).all()
    records = []
    for row in rows:
        left = int(row.capacity or 1) - taken.get(row.member_id, 0)
        gives = row.role in ("mentor", "both")
        if (gives and left <= 0) or (not gives and row.member_id in taken):
            continue
        answers = dict(row.answers or {})
        answers.setdefault("timezone", row.timezone)
        record = {
            **answers,
            "id": row.member_id,
            "role": row.role,
            "capacity": left,
            "priority": waited.get(row.member_id, 0),
            "bounced": row.bounced_at is not None,  # set by the mail stage on a 5xx at RCPT
        }
        records.append(record)
    return PoolInput(records, earlier_pairs(conn, program_id, cycle_id, round_no), taken)


def waitlisted_before(conn: Connection, program_id: str, cycle_id: int) -> dict[str, int]:
    """Member id -> earlier cycles of the program (by start date) whose matching waitlisted them.

    The source of truth is `enrolments.priority` of those cycles (> 0: waitlisted at least once
    there, see `mark_waitlisted`); the `waitlisted` events are the audit log of the same facts.
    """
    start = select(cycles.c.starts_on).where(cycles.c.id == cycle_id).scalar_subquery()
    rows = conn.execute(
        select(enrolments.c.member_id, func.count(enrolments.c.cycle_id))
        .join(cycles, cycles.c.id == enrolments.c.cycle_id)
        .where(cycles.c.program_id == program_id, cycles.c.starts_on < start)
        .where(enrolments.c.priority > 0)
        .group_by(enrolments.c.member_id)
    ).all()
    return {member_id: int(count) for member_id, count in rows}


def _live_load(conn: Connection, cycle_id: int, round_no: int) -> dict[str, int]:
    found = conn.execute(
        select(match_members.c.member_id)
        .join(matches, matches.c.id == match_members.c.match_id)
        .where(matches.c.cycle_id == cycle_id, matches.c.round == round_no)
        .where(matches.c.status.in_(LIVE))
    ).all()
    load: dict[str, int] = {}
    for (member_id,) in found:
        load[member_id] = load.get(member_id, 0) + 1
    return load


def earlier_pairs(conn: Connection, program_id: str, cycle_id: int, round_no: int) -> list[Pair]:
    """Pairs from earlier cycles and rounds, and pairs of this round that ended or were dropped."""
    rows = conn.execute(
        select(
            matches.c.id,
            matches.c.cycle_id,
            matches.c.round,
            matches.c.status,
            match_members.c.member_id,
        )
        .join(match_members, match_members.c.match_id == matches.c.id)
        .join(cycles, cycles.c.id == matches.c.cycle_id)
        .where(cycles.c.program_id == program_id)
    ).all()
    groups: dict[str, list[str]] = {}
    for row in rows:
        this_round = row.cycle_id == cycle_id and row.round == round_no
        if this_round and row.status not in ("ended", "dropped"):
            continue
        groups.setdefault(row.id, []).append(row.member_id)
    out: list[Pair] = []
    for ids in groups.values():
        ids.sort()
        out.extend((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return out


def save_proposal(
    conn: Connection, cycle_id: int, result: MatchResult, now: datetime
) -> dict[str, str]:
    """Replace this round's proposal with `result`; returns match key -> match id."""
    old = select(matches.c.id).where(
        matches.c.cycle_id == cycle_id,
        matches.c.round == result.round,
        matches.c.status == "proposed",
    )
    conn.execute(delete(match_members).where(match_members.c.match_id.in_(old)))
    conn.execute(delete(matches).where(matches.c.id.in_(old.scalar_subquery())))
    ids = {}
    for m in result.matches:
        match_id = new_match_id()
        ids[m.key] = match_id
        conn.execute(
            insert(matches).values(
                id=match_id,
                cycle_id=cycle_id,
                round=m.round,
                status="proposed",
                score=m.score,
                explanation=m.explanation_json(),
                created_at=now,
            )
        )
        conn.execute(
            insert(match_members),
            [
                {"match_id": match_id, "member_id": member_id, "side": side}
                for member_id, side in m.members
            ],
        )
    return ids


def proposed(
    conn: Connection, cycle_id: int, round_no: int = 1
) -> dict[str, list[tuple[str, str]]]:
    """Match id -> [(member id, side)] of this round's proposal."""
    rows = conn.execute(
        select(matches.c.id, match_members.c.member_id, match_members.c.side)
        .join(match_members, match_members.c.match_id == matches.c.id)
        .where(matches.c.cycle_id == cycle_id, matches.c.round == round_no)
        .where(matches.c.status == "proposed")
    ).all()
    out: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        out.setdefault(row.id, []).append((row.member_id, row.side))
    return out


def resolve_drops(
    conn: Connection, cycle_id: int, names: Iterable[str], round_no: int = 1
) -> list[str]:
    """Match ids for what an organizer typed: match ids or "mentorId+menteeId"; unknown raise."""
    current = proposed(conn, cycle_id, round_no)
    by_members = {frozenset(m for m, _ in ms): match_id for match_id, ms in current.items()}
    out, unknown = [], []
    for name in (n.strip() for n in names if n.strip()):
        if name in current:
            out.append(name)
            continue
        wanted = frozenset(name.split("+"))
        hit = [mid for members_, mid in by_members.items() if wanted <= members_]
        if hit:
            out.extend(hit)
        else:
            unknown.append(name)
    if unknown:
        raise ApprovalError(f"not in the proposal: {', '.join(unknown)}")
    return out


def drop(conn: Connection, match_ids: Iterable[str], now: datetime, by: str = "organizer") -> None:
    """Mark proposed matches dropped: they join the pairs never to propose again this cycle."""
    ids = list(match_ids)
    if ids:
        conn.execute(
            update(matches)
            .where(matches.c.id.in_(ids))
            .values(status="dropped", ended_at=now, end_reason=f"dropped by {by}")
        )


def approve(
    conn: Connection, program_id: str, cycle_id: int, now: datetime, round_no: int = 1
) -> list[str]:
    """Approve this round's proposal; returns the approved match ids."""
    ids = list(proposed(conn, cycle_id, round_no))
    conn.execute(
        update(matches).where(matches.c.id.in_(ids)).values(status="approved", approved_at=now)
    )
    log_event(
        conn,
        program_id=program_id,
        cycle_id=cycle_id,
        kind="matches_approved",
        at=now,
        data={"matches": len(ids), "round": round_no},
    )
    return ids


def end_match(
    conn: Connection, program_id: str, match_id: str, by: str, now: datetime
) -> list[str]:
    """End a live pair without fault (rematch); its members are matched again on the next run."""
    row = conn.execute(select(matches).where(matches.c.id == match_id)).first()
    if row is None or row.status not in LIVE:
        raise ApprovalError(f"match {match_id} is not approved or active")
    conn.execute(
        update(matches)
        .where(matches.c.id == match_id)
        .values(status="ended", ended_at=now, end_reason=f"rematch requested by {by}")
    )
    people = [
        r.member_id
        for r in conn.execute(
            select(match_members.c.member_id).where(match_members.c.match_id == match_id)
        )
    ]
    log_event(
        conn,
        program_id=program_id,
        cycle_id=row.cycle_id,
        kind="rematch_requested",
        at=now,
        data={"match": match_id, "by": by, "members": people},
    )
    return people


def mark_waitlisted(
    conn: Connection, program_id: str, cycle_id: int, member_ids: Iterable[str], now: datetime
) -> None:
    """Count a waitlisting on this cycle's enrolments; later cycles match these members first."""
    ids = list(member_ids)
    if not ids:
        return
    conn.execute(
        update(enrolments)
        .where(and_(enrolments.c.cycle_id == cycle_id, enrolments.c.member_id.in_(ids)))
        .values(priority=enrolments.c.priority + 1, updated_at=now)
    )
    log_event(
        conn,
        program_id=program_id,
        cycle_id=cycle_id,
        kind="waitlisted",
        at=now,
        data={"members": ids},
    )


def matched_in_earlier_rounds(
    conn: Connection, cycle_id: int, round_no: int, member_ids: Iterable[str]
) -> set[str]:
    """Those of `member_ids` who had an approved pair (live or ended) in an earlier round."""
    ids = list(member_ids)
    if not ids or round_no <= 1:
        return set()
    rows = conn.execute(
        select(match_members.c.member_id)
        .join(matches, matches.c.id == match_members.c.match_id)
        .where(matches.c.cycle_id == cycle_id, matches.c.round < round_no)
        .where(matches.c.approved_at.is_not(None))
        .where(match_members.c.member_id.in_(ids))
    ).all()
    return {member_id for (member_id,) in rows}


def last_saved(conn: Connection, cycle_id: int, round_no: int = 1) -> dict[frozenset[str], float]:
    """Members -> score of the newest saved matches (proposed or live) of this round."""
    rows = conn.execute(
        select(matches.c.id, matches.c.score, match_members.c.member_id)
        .join(match_members, match_members.c.match_id == matches.c.id)
        .where(matches.c.cycle_id == cycle_id, matches.c.round == round_no)
        .where(matches.c.status.in_(("proposed", *LIVE)))
    ).all()
    groups: dict[str, tuple[float, set[str]]] = {}
    for row in rows:
        groups.setdefault(row.id, (row.score, set()))[1].add(row.member_id)
    return {frozenset(ids): score for score, ids in groups.values()}


def contacts(conn: Connection, member_ids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """Member id -> (name, email, language) for mails and the organizer's export only."""
    ids = list(member_ids)
    rows = conn.execute(
        select(members.c.id, members.c.name, members.c.email, members.c.language).where(
            members.c.id.in_(ids)
        )
    ).all()
    return {r.id: (r.name or "", r.email or "", r.language or "") for r in rows}
