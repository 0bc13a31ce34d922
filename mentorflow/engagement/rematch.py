"""No-fault rematches from the tick: requesters are matched again from the current pool.

With `matching.approval: automatic` the tick solves, approves and introduces at once (the
matching core as it is: ended pairs count as earlier pairs, so nobody meets the same partner
again). With `approval: organizer` the tick only reports the open requests in the digest; the
organizer runs `mentorflow match`, whose flow asks for approval as for the first matching.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, update

from mentorflow.clock import FixedClock
from mentorflow.mail.settings import MailRuntime
from mentorflow.matching import build_pool, handover, solve, store_io
from mentorflow.matching.settings import settings_from_spec
from mentorflow.spec.model import ProgramSpec
from mentorflow.store.tables import match_members, matches, rematch_requests


def rematch_open(
    engine: Engine, spec: ProgramSpec, mail: MailRuntime, cycle_id: int, as_of: datetime
) -> int:
    """Match the open requesters again (automatic approval only); the number of new matches."""
    if spec.matching.approval != "automatic":
        return 0
    with engine.connect() as conn:
        wanted = _open_members(conn, cycle_id)
        if not wanted:
            return 0
        found = store_io.load_pool_input(conn, spec.program.id, cycle_id, 1)
    if not wanted & {r["id"] for r in found.records}:
        return 0
    settings = settings_from_spec(spec)
    pool = build_pool(found.records, settings, week_of=spec.cycle.start)
    result = solve(pool, settings, earlier_pairs=found.earlier_pairs, round_no=1)
    if not result.matches:
        return 0
    with engine.begin() as conn:
        ids = store_io.save_proposal(conn, cycle_id, result, as_of)
        store_io.approve(conn, spec.program.id, cycle_id, as_of, 1)
    handover.introduce(engine, spec, mail, cycle_id, result, ids, FixedClock(as_of))
    mark_matched(engine, cycle_id, as_of)
    return len(result.matches)


def _open_members(conn, cycle_id: int) -> set[str]:  # type: ignore[no-untyped-def]
    query = select(rematch_requests.c.member_id).where(
        rematch_requests.c.cycle_id == cycle_id, rematch_requests.c.status == "open"
    )
    return {r.member_id for r in conn.execute(query)}


def mark_matched(engine: Engine, cycle_id: int, now: datetime) -> int:
    """Open requests whose member is in a live pair other than the one that ended: matched."""
    with engine.begin() as conn:
        if not _open_members(conn, cycle_id):
            return 0  # the usual hour: nothing open, no need to read every live pair
        live = {
            (r.member_id, r.match_id)
            for r in conn.execute(
                select(match_members.c.member_id, match_members.c.match_id)
                .join(matches, matches.c.id == match_members.c.match_id)
                .where(matches.c.cycle_id == cycle_id, matches.c.status.in_(store_io.LIVE))
            )
        }
        done = 0
        for row in conn.execute(
            select(rematch_requests).where(
                rematch_requests.c.cycle_id == cycle_id, rematch_requests.c.status == "open"
            )
        ).all():
            if any(m == row.member_id and p != row.from_match_id for m, p in live):
                conn.execute(
                    update(rematch_requests)
                    .where(rematch_requests.c.id == row.id)
                    .values(status="matched", resolved_at=now)
                )
                done += 1
    return done
