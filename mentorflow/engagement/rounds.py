"""Rotational programs: when a round starts, the last round's pairs end and the next is matched.

With `matching.approval: automatic` the tick matches the new round at once (the matching core,
`round_no` = the round: earlier rounds' pairs never repeat) and sends the introductions; with
`organizer` approval it only ends the old round, and the organizer runs `mentorflow match
--round N` (the matching flow asks for approval). Milestones of the new round then reach the new
pairs, because a pair only gets milestones from the day it started.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, update

from mentorflow.clock import FixedClock
from mentorflow.mail.settings import MailRuntime
from mentorflow.matching import build_pool, handover, solve, store_io
from mentorflow.matching.settings import settings_from_spec
from mentorflow.spec.model import ProgramSpec
from mentorflow.store.tables import matches


def start_due_rounds(
    engine: Engine, spec: ProgramSpec, mail: MailRuntime, cycle_id: int, as_of: datetime
) -> list[int]:
    """The rounds started by this tick (empty for other models and on most hours)."""
    if spec.model.type != "rotational":
        return []
    today = as_of.astimezone(spec.program.zone).date()
    started = []
    for number, first_day in enumerate(spec.model.rounds[1:], start=2):
        if first_day > today or _round_begun(engine, cycle_id, number):
            continue
        _end_round(engine, cycle_id, number - 1, as_of)
        if spec.matching.approval == "automatic":
            _match_round(engine, spec, mail, cycle_id, number, as_of)
        started.append(number)
    return started


def _round_begun(engine: Engine, cycle_id: int, number: int) -> bool:
    """A round has begun once it has matches, or its predecessor's pairs have ended."""
    with engine.connect() as conn:
        if store_io.last_saved(conn, cycle_id, number):
            return True
        previous = conn.execute(
            select(matches.c.id).where(
                matches.c.cycle_id == cycle_id,
                matches.c.round == number - 1,
                matches.c.end_reason == f"round {number - 1} ended",
            )
        ).first()
    return previous is not None


def _end_round(engine: Engine, cycle_id: int, number: int, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(matches)
            .where(matches.c.cycle_id == cycle_id, matches.c.round == number)
            .where(matches.c.status.in_(store_io.LIVE))
            .values(status="ended", ended_at=now, end_reason=f"round {number} ended")
        )


def _match_round(
    engine: Engine,
    spec: ProgramSpec,
    mail: MailRuntime,
    cycle_id: int,
    number: int,
    as_of: datetime,
) -> int:
    settings = settings_from_spec(spec)
    with engine.connect() as conn:
        found = store_io.load_pool_input(conn, spec.program.id, cycle_id, number)
    if not found.records:
        return 0
    pool = build_pool(found.records, settings, week_of=spec.model.rounds[number - 1])
    result = solve(pool, settings, earlier_pairs=found.earlier_pairs, round_no=number)
    with engine.begin() as conn:
        ids = store_io.save_proposal(conn, cycle_id, result, as_of)
        store_io.approve(conn, spec.program.id, cycle_id, as_of, number)
    handover.introduce(engine, spec, mail, cycle_id, result, ids, FixedClock(as_of))
    return len(result.matches)
