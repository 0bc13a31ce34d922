"""What a pause showed the organizer, kept until it is decided, so its answer decides on that.

A run waiting with `suspend_flow_run` ends its process; once answered, the worker starts the same
flow run again from the top. That run finds its open review here and applies the answer to what
the organizer saw (the applicants listed, the proposal with its match ids), never to a list or a
proposal computed again in between. The id goes into the pause key, so an answer given to one
review can never come back at the pause of another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from mentorflow.store.repo import new_review_id
from mentorflow.store.tables import reviews


@dataclass(frozen=True)
class Review:
    id: str
    kind: str  # screening | proposal
    round: int
    flow_run: str
    shown: dict[str, Any]
    created_at: datetime


def open_review(
    conn: Connection,
    *,
    program_id: str,
    cycle_id: int,
    kind: str,
    flow_run: str,
    shown: dict[str, Any],
    now: datetime,
    round_no: int = 1,
) -> str:
    """Record what `flow_run` shows now; an older open review of the same question is superseded."""
    _close(conn, cycle_id, kind, round_no, now, "superseded")
    review_id = new_review_id()
    conn.execute(
        reviews.insert().values(
            id=review_id,
            program_id=program_id,
            cycle_id=cycle_id,
            kind=kind,
            round=round_no,
            flow_run=flow_run,
            shown=shown,
            created_at=now,
        )
    )
    return review_id


def open_review_of(
    conn: Connection, cycle_id: int, kind: str, flow_run: str, round_no: int = 1
) -> Review | None:
    """The undecided review that `flow_run` showed for this question, if one is open."""
    row = conn.execute(
        select(reviews)
        .where(reviews.c.cycle_id == cycle_id, reviews.c.kind == kind)
        .where(reviews.c.round == round_no, reviews.c.flow_run == flow_run)
        .where(reviews.c.closed_at.is_(None))
        .order_by(reviews.c.created_at.desc())
    ).first()
    if row is None:
        return None
    return Review(row.id, row.kind, row.round, row.flow_run, dict(row.shown), row.created_at)


def decide_review(
    conn: Connection, cycle_id: int, kind: str, now: datetime, round_no: int = 1
) -> None:
    """The open review of this question is decided: what it kept is no longer needed."""
    _close(conn, cycle_id, kind, round_no, now, "decided")


def _close(
    conn: Connection, cycle_id: int, kind: str, round_no: int, now: datetime, closed_as: str
) -> None:
    conn.execute(
        update(reviews)
        .where(reviews.c.cycle_id == cycle_id, reviews.c.kind == kind)
        .where(reviews.c.round == round_no, reviews.c.closed_at.is_(None))
        # data minimisation: ids and figures kept only while someone may still answer them
        .values(closed_at=now, closed_as=closed_as, shown={})
    )
