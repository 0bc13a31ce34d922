"""Alumni: a mentee's yes or no to mentoring next cycle, and how a yes reaches the next intake.

The answer is one `events` row, kind `alumni_answer`, data `{"answer": "yes"|"no"}`, with the
member id and the cycle id of the cycle that invited them (the retrospective counts exactly
these). One answer per member and cycle: a second POST changes nothing.

A yes carries into the next cycle's intake (`carry_alumni`, run by the intake for its cycle):
the member gets an enrolment in the new cycle with role `mentor` and status `pending_consent`,
answers empty. It is not a sign-up yet and is never matched (matching takes `enrolled` only):
consent is asked again. When the member signs up through the form, the intake updates that
enrolment like any earlier one (the row is counted as accepted, the form's role wins) and it
becomes a normal enrolment. Erased members are never carried.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from mentorflow.engagement import links
from mentorflow.engagement.answers import ALREADY, RECORDED, REFUSED
from mentorflow.store import repo
from mentorflow.store.tables import cycles, enrolments, events, members, outbox

ANSWER_EVENT = "alumni_answer"
PENDING_CONSENT = "pending_consent"
CARRIED_EVENT = "alumni.carried"


def record_answer(conn: Connection, payload: dict[str, str], now: datetime) -> str:
    """Store a yes or no from the alumni page; RECORDED, ALREADY or REFUSED."""
    answer, label, member_id = payload.get("a"), payload.get("c", ""), payload["m"]
    if answer not in links.ALUMNI_ANSWERS:
        return REFUSED
    member = conn.execute(select(members).where(members.c.id == member_id)).first()
    if member is None or member.erased_at is not None:
        return REFUSED
    cycle = repo.get_cycle(conn, member.program_id, label)
    if cycle is None or not _was_invited(conn, member.program_id, label, member_id):
        return REFUSED
    if answer_of(conn, cycle.id, member_id) is not None:
        return ALREADY
    repo.log_event(
        conn,
        program_id=member.program_id,
        kind=ANSWER_EVENT,
        at=now,
        data={"answer": answer},
        cycle_id=cycle.id,
        member_id=member_id,
    )
    return RECORDED


def _was_invited(conn: Connection, program_id: str, label: str, member_id: str) -> bool:
    key = f"{program_id}:{label}:{member_id}:alumni_invitation:cycle"
    return conn.execute(select(outbox.c.id).where(outbox.c.key == key)).first() is not None


def answer_of(conn: Connection, cycle_id: int, member_id: str) -> str | None:
    row = conn.execute(
        select(events.c.data).where(
            events.c.kind == ANSWER_EVENT,
            events.c.cycle_id == cycle_id,
            events.c.member_id == member_id,
        )
    ).first()
    return None if row is None else str((row.data or {}).get("answer", "")) or None


def carry_alumni(conn: Connection, program_id: str, cycle_id: int, now: datetime) -> list[str]:
    """Pending-consent mentor enrolments in `cycle_id` for alumni who said yes; the new ones."""
    earlier = select(cycles.c.id).where(cycles.c.program_id == program_id, cycles.c.id != cycle_id)
    query = (
        select(events.c.member_id, events.c.data)
        .join(members, members.c.id == events.c.member_id)
        .where(
            events.c.program_id == program_id,
            events.c.kind == ANSWER_EVENT,
            events.c.cycle_id.in_(earlier),
            members.c.erased_at.is_(None),
        )
    )
    yes = sorted(
        {r.member_id for r in conn.execute(query) if (r.data or {}).get("answer") == "yes"}
    )
    have = set(
        conn.execute(
            select(enrolments.c.member_id).where(
                enrolments.c.cycle_id == cycle_id, enrolments.c.member_id.in_(yes)
            )
        ).scalars()
    )
    new = [m for m in yes if m not in have]
    if new:
        conn.execute(
            insert(enrolments),
            [
                {
                    "cycle_id": cycle_id,
                    "member_id": m,
                    "role": "mentor",
                    "status": PENDING_CONSENT,
                    "answers": {},
                    "capacity": 1,
                    "priority": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for m in new
            ],
        )
        repo.log_event(
            conn,
            program_id=program_id,
            kind=CARRIED_EVENT,
            at=now,
            cycle_id=cycle_id,
            data={"count": len(new)},
        )
    return new


def pending_alumni(conn: Connection, cycle_id: int) -> int:
    """How many carried alumni have not confirmed by signing up yet (the intake prints it)."""
    query = select(func.count()).where(
        enrolments.c.cycle_id == cycle_id, enrolments.c.status == PENDING_CONSENT
    )
    return int(conn.execute(query).scalar_one())
