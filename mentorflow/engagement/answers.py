"""Recording what members answer on the pages: a check-in, a pause, leaving, accepting a rematch.

Each function checks every claim of the signed link against the store (the pair exists, the
member is in it, it is still live) and changes nothing when a check fails or the answer was
recorded before. Outcomes: `recorded`, `already`, or `refused` (the page says the link is invalid).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mentorflow.engagement.links import ANSWERS
from mentorflow.engagement.run import request_rematch
from mentorflow.engagement.state import aware
from mentorflow.matching.store_io import LIVE
from mentorflow.store.repo import get_cycle, log_event
from mentorflow.store.tables import (
    checkins,
    match_members,
    matches,
    member_pauses,
    members,
    rematch_requests,
)

PAUSE_WEEKS = (1, 2, 4, 8)
LEAVE_REASONS = ("no_time", "not_a_fit", "goal_reached", "other")
RECORDED, ALREADY, REFUSED = "recorded", "already", "refused"


def member_row(conn: Connection, member_id: str) -> Any:
    """The member, or None when unknown or erased."""
    row = conn.execute(select(members).where(members.c.id == member_id)).first()
    return None if row is None or row.erased_at is not None else row


def live_match(conn: Connection, match_id: str, member_id: str) -> Any:
    """The match if it is live and `member_id` is in it, else None."""
    row = conn.execute(select(matches).where(matches.c.id == match_id)).first()
    if row is None or row.status not in LIVE:
        return None
    found = conn.execute(
        select(match_members.c.member_id).where(
            match_members.c.match_id == match_id, match_members.c.member_id == member_id
        )
    ).first()
    return row if found is not None else None


def already_answered(conn: Connection, match_id: str, member_id: str, occurrence: str) -> bool:
    found = conn.execute(
        select(checkins.c.id).where(
            checkins.c.match_id == match_id,
            checkins.c.member_id == member_id,
            checkins.c.occurrence == occurrence,
        )
    ).first()
    return found is not None


def record_check_in(conn: Connection, payload: dict[str, str], now: datetime) -> str:
    """Store a check-in answer once; `cannot` ends the pair without fault and asks for rematches."""
    member_id, match_id = payload["m"], payload.get("p", "")
    occurrence, answer = payload.get("o", ""), payload.get("a", "")
    member = member_row(conn, member_id)
    if answer not in ANSWERS or member is None:
        return REFUSED
    if already_answered(conn, match_id, member_id, occurrence):
        return ALREADY
    match = live_match(conn, match_id, member_id)
    if match is None:
        return REFUSED
    conn.execute(
        insert(checkins).values(
            cycle_id=match.cycle_id,
            match_id=match_id,
            member_id=member_id,
            occurrence=occurrence,
            answer=answer,
            answered_at=now,
        )
    )
    log_event(
        conn,
        program_id=member.program_id,
        cycle_id=match.cycle_id,
        member_id=member_id,
        kind="check_in_answered",
        at=now,
        data={"match": match_id, "occurrence": occurrence, "answer": answer},
    )
    if answer == "cannot":
        _end_without_fault(conn, member.program_id, match, member_id, now)
    return RECORDED


def _people(conn: Connection, match_id: str) -> list[str]:
    query = select(match_members.c.member_id).where(match_members.c.match_id == match_id)
    return [r.member_id for r in conn.execute(query)]


def _end(conn: Connection, match: Any, reason: str, now: datetime) -> None:
    conn.execute(
        update(matches)
        .where(matches.c.id == match.id, matches.c.status.in_(LIVE))
        .values(status="ended", ended_at=now, end_reason=reason)
    )


def _end_without_fault(
    conn: Connection, program_id: str, match: Any, by: str, now: datetime
) -> None:
    """Both (all) members want a new match: never with each other (ended pairs never repeat)."""
    _end(conn, match, f"no-fault rematch requested by {by}", now)
    for member_id in _people(conn, match.id):
        request_rematch(conn, match.cycle_id, member_id, match.id, "cannot", now, "open")
    log_event(
        conn,
        program_id=program_id,
        cycle_id=match.cycle_id,
        kind="rematch_requested",
        at=now,
        data={"match": match.id, "by": by, "members": _people(conn, match.id)},
    )


def _cycle_id(conn: Connection, member: Any, cycle_label: str) -> int | None:
    cycle = get_cycle(conn, member.program_id, cycle_label)
    return cycle.id if cycle is not None else None


def _absent(conn: Connection, cycle_id: int, member_id: str, now: datetime) -> Any:
    rows = conn.execute(
        select(member_pauses).where(
            member_pauses.c.cycle_id == cycle_id, member_pauses.c.member_id == member_id
        )
    ).all()
    for row in rows:
        if row.kind == "leave" or aware(row.ends_at) > now:
            return row
    return None


def record_pause(conn: Connection, payload: dict[str, str], weeks: int, now: datetime) -> str:
    """Pause the member's mail for `weeks` weeks from now (one pause at a time)."""
    member = member_row(conn, payload["m"])
    cycle_id = _cycle_id(conn, member, payload.get("c", "")) if member is not None else None
    if member is None or cycle_id is None or weeks not in PAUSE_WEEKS:
        return REFUSED
    if _absent(conn, cycle_id, member.id, now) is not None:
        return ALREADY
    conn.execute(
        insert(member_pauses).values(
            cycle_id=cycle_id,
            member_id=member.id,
            kind="pause",
            starts_at=now,
            ends_at=now + timedelta(weeks=weeks),
            reason=None,
            created_at=now,
        )
    )
    log_event(
        conn,
        program_id=member.program_id,
        cycle_id=cycle_id,
        member_id=member.id,
        kind="paused",
        at=now,
        data={"weeks": weeks},
    )
    return RECORDED


def record_leave(conn: Connection, payload: dict[str, str], reason: str, now: datetime) -> str:
    """Leave the cycle: the member's pairs end with the reason, partners are offered a rematch."""
    member = member_row(conn, payload["m"])
    cycle_id = _cycle_id(conn, member, payload.get("c", "")) if member is not None else None
    if member is None or cycle_id is None or reason not in LEAVE_REASONS:
        return REFUSED
    earlier = _absent(conn, cycle_id, member.id, now)
    if earlier is not None and earlier.kind == "leave":
        return ALREADY
    conn.execute(
        insert(member_pauses).values(
            cycle_id=cycle_id,
            member_id=member.id,
            kind="leave",
            starts_at=now,
            ends_at=None,
            reason=reason,
            created_at=now,
        )
    )
    ended = _end_pairs_of(conn, cycle_id, member.id, reason, now)
    log_event(
        conn,
        program_id=member.program_id,
        cycle_id=cycle_id,
        member_id=member.id,
        kind="left",
        at=now,
        data={"reason": reason, "matches": ended},
    )
    return RECORDED


def _end_pairs_of(
    conn: Connection, cycle_id: int, member_id: str, reason: str, now: datetime
) -> list[str]:
    rows = conn.execute(
        select(matches)
        .join(match_members, match_members.c.match_id == matches.c.id)
        .where(matches.c.cycle_id == cycle_id, match_members.c.member_id == member_id)
        .where(matches.c.status.in_(LIVE))
    ).all()
    for match in rows:
        _end(conn, match, f"{member_id} left ({reason})", now)
        for partner in _people(conn, match.id):
            if partner != member_id:
                request_rematch(conn, cycle_id, partner, match.id, "partner_left", now, "offered")
    return [m.id for m in rows]


def accept_rematch(conn: Connection, payload: dict[str, str], now: datetime) -> str:
    """The partner left alone says yes to a new match: their offered request becomes open."""
    member = member_row(conn, payload["m"])
    if member is None:
        return REFUSED
    row = conn.execute(
        select(rematch_requests).where(
            rematch_requests.c.member_id == member.id,
            rematch_requests.c.from_match_id == payload.get("p", ""),
        )
    ).first()
    if row is None:
        return REFUSED
    if row.status != "offered":
        return ALREADY
    conn.execute(
        update(rematch_requests).where(rematch_requests.c.id == row.id).values(status="open")
    )
    if row.cause == "fit_check":  # issue 10: a low early-fit score; yes ends the pair, no fault
        _accept_fit_check(conn, member.program_id, row, now)
    return RECORDED


def _accept_fit_check(conn: Connection, program_id: str, row: Any, now: datetime) -> None:
    """The pair is still live: it ends without fault and everyone in it is matched again."""
    match = conn.execute(select(matches).where(matches.c.id == row.from_match_id)).first()
    if match is None or match.status not in LIVE:
        return
    _end(conn, match, f"no-fault rematch after the fit check, accepted by {row.member_id}", now)
    conn.execute(
        update(rematch_requests)
        .where(
            rematch_requests.c.from_match_id == match.id,
            rematch_requests.c.status == "offered",
        )
        .values(status="open")
    )
    log_event(
        conn,
        program_id=program_id,
        cycle_id=match.cycle_id,
        kind="rematch_requested",
        at=now,
        data={"match": match.id, "by": row.member_id, "cause": "fit_check"},
    )
