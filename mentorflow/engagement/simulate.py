"""Walking a whole cycle's schedule in simulated time (the demo): hour by hour, in one process.

Not a flow run per simulated hour (Prefect costs about a second per run): the core tick is
called directly, and hours with nothing due cost one read of the store and no write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Engine, update

from mentorflow.engagement import run
from mentorflow.mail.settings import MailRuntime
from mentorflow.spec.model import ProgramSpec
from mentorflow.store import repo
from mentorflow.store.tables import matches


def cycle_hours(spec: ProgramSpec) -> tuple[datetime, datetime]:
    """From midnight UTC before the start to a week after the end (late digests, nudges)."""
    start = datetime.combine(spec.cycle.start - timedelta(days=1), time(0), tzinfo=UTC)
    end = datetime.combine(spec.cycle.end + timedelta(days=7), time(0), tzinfo=UTC)
    return start, end


def backdate_approvals(engine: Engine, spec: ProgramSpec) -> None:
    """The demo's pairs count as approved before the start, whatever today's date is."""
    with engine.begin() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        if cycle is None:
            return
        before = datetime.combine(spec.cycle.start - timedelta(days=1), time(12), tzinfo=UTC)
        conn.execute(
            update(matches)
            .where(matches.c.cycle_id == cycle.id, matches.c.approved_at.is_not(None))
            .values(approved_at=before)
        )


def walk(
    engine: Engine,
    spec: ProgramSpec,
    settings: MailRuntime,
    before_tick: Callable[[datetime], None] | None = None,
) -> dict[int, Counter[str]]:
    """Every hour of the cycle, ticked; week number (1 = the start week) -> mails by kind.

    `before_tick(moment)` runs first in every simulated hour: the demo's members answer there.
    """
    start, end = cycle_hours(spec)
    weeks: dict[int, Counter[str]] = {}
    moment = start
    while moment < end:
        if before_tick is not None:
            before_tick(moment)
        prepared = run.prepare(engine, spec, moment)
        if prepared is not None and not prepared.plan.empty:
            summary = run.run_tick(engine, spec, settings, moment)
            week = (moment.date() - spec.cycle.start).days // 7 + 1
            weeks.setdefault(week, Counter()).update(summary.queued)
        moment += timedelta(hours=1)
    return weeks
