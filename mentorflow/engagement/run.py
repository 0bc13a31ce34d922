"""One tick end to end: read the store, plan, queue in batches, record skips, digest, tick record.

Each step is a function the flow can make a task of (a few tasks per tick, never one per mail).
A tick that stops halfway resumes safely: every queued batch is committed with its outbox keys,
and the next tick treats those keys as handled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from mentorflow import progress
from mentorflow.clock import FixedClock
from mentorflow.engagement.digest import (
    DigestReport,
    artifact_markdown,
    build_report,
    digest_context,
)
from mentorflow.engagement.mailing import (
    Contacts,
    MailJob,
    build_job,
    preview,
    queue_member_mails,
    queue_organizer_mail,
)
from mentorflow.engagement.schedule import ORGANIZERS, DueItem, TickPlan, plan_tick
from mentorflow.engagement.state import ProgramState, aware, load_state
from mentorflow.engagement.window import in_window, zone
from mentorflow.errors import TemplateError
from mentorflow.mail.outbox import message_key
from mentorflow.mail.settings import MailRuntime
from mentorflow.matching.store_io import LIVE, end_match
from mentorflow.matching.store_io import contacts as load_contacts
from mentorflow.spec.model import ProgramSpec
from mentorflow.store import repo
from mentorflow.store.tables import (
    engagement_skips,
    match_members,
    matches,
    members,
    outbox,
    rematch_requests,
    ticks,
)

BATCH = 1000


@dataclass(frozen=True)
class PreparedTick:
    cycle_id: int
    state: ProgramState
    plan: TickPlan


@dataclass
class TickSummary:
    """What one tick did, by kind and reason; member ids only (it becomes the artifact)."""

    as_of: datetime
    dry_run: bool = False
    queued: Counter[str] = field(default_factory=Counter)  # by kind
    skipped: Counter[str] = field(default_factory=Counter)  # by reason
    skipped_items: list[tuple[str, str, str]] = field(default_factory=list)  # member, kind, reason
    waiting: int = 0
    errors: int = 0
    digest: bool = False
    previews: list[tuple[str, str, str]] = field(default_factory=list)  # member, kind, template
    report: DigestReport | None = None
    closure: dict[str, int] = field(default_factory=dict)  # issue 11: what closure did, counts

    def counts(self) -> dict[str, int]:
        closure = {f"closure_{k}": v for k, v in self.closure.items() if v}
        return {
            **closure,
            "queued": sum(self.queued.values()),
            "skipped": sum(self.skipped.values()),
            "waiting": self.waiting,
            "errors": self.errors,
            "digest": int(self.digest),
            **{f"queued_{k}": v for k, v in sorted(self.queued.items())},
            **{f"skipped_{k}": v for k, v in sorted(self.skipped.items())},
        }

    def markdown(self) -> str:
        return artifact_markdown(
            self.as_of,
            self.queued,
            self.skipped,
            self.skipped_items,
            self.waiting,
            self.report,
            self.dry_run,
        )


def prepare(engine: Engine, spec: ProgramSpec, as_of: datetime) -> PreparedTick | None:
    """Read the store and plan; None when the cycle is not in the store yet (no intake run)."""
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        if cycle is None:
            return None
        closed = cycle.status == "closed"  # the cycle row was just read: no second query
        state = load_state(conn, spec.program.id, cycle.id, cycle.label, spec.program.zone, closed)
    return PreparedTick(cycle.id, state, plan_tick(spec, state, as_of))


def settle(engine: Engine, spec: ProgramSpec, as_of: datetime) -> int:
    """Pairs with an erased member end cleanly; their partners are offered a rematch."""
    with engine.begin() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        if cycle is None:
            return 0
        affected = _pairs_with_erased_members(conn, cycle.id)
        for match_id, people in affected.items():
            end_match(conn, spec.program.id, match_id, "erasure", as_of)
            for member_id, erased in people:
                if not erased:
                    request_rematch(conn, cycle.id, member_id, match_id, "erased", as_of, "offered")
    return len(affected)


def _pairs_with_erased_members(conn, cycle_id: int) -> dict[str, list[tuple[str, bool]]]:  # type: ignore[no-untyped-def]
    """Live pairs of the cycle with an erased member: match id -> (member id, erased) each."""
    live = (matches.c.cycle_id == cycle_id) & matches.c.status.in_(LIVE)
    hit = (
        select(match_members.c.match_id)
        .join(matches, matches.c.id == match_members.c.match_id)
        .join(members, members.c.id == match_members.c.member_id)
        .where(live, members.c.erased_at.is_not(None))
    )
    rows = conn.execute(
        select(match_members.c.match_id, members.c.id, members.c.erased_at)
        .join(members, members.c.id == match_members.c.member_id)
        .where(match_members.c.match_id.in_(hit))
    )
    found: dict[str, list[tuple[str, bool]]] = {}
    for row in rows:
        found.setdefault(row.match_id, []).append((row.id, row.erased_at is not None))
    return found


def rematch_after_settle(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, as_of: datetime
) -> int:
    """Rotational rounds started and open rematch requests matched again (automatic approval),
    before the schedule is read."""
    from mentorflow.engagement.rematch import mark_matched, rematch_open

    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
    if cycle is None or cycle.status == "closed":
        return 0  # a closed cycle is matched no more
    from mentorflow.engagement.rounds import start_due_rounds

    start_due_rounds(engine, spec, settings, cycle.id, as_of)
    mark_matched(engine, cycle.id, as_of)  # the organizer may have run `mentorflow match`
    return rematch_open(engine, spec, settings, cycle.id, as_of)


def close_due(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, as_of: datetime
) -> dict[str, int]:
    """Closure mails of pairs that ended, and the cycle's closure on its last day (issue 11),
    before the schedule is read: a closed cycle's members then get only the exit survey nudges."""
    from mentorflow.closure.run import tick_close

    return tick_close(engine, spec, settings, as_of).counts()


def request_rematch(
    conn, cycle_id: int, member_id: str, match_id: str, cause: str, now: datetime, status: str
) -> bool:  # type: ignore[no-untyped-def]
    """Record a rematch request once per member and pair (a second one changes nothing)."""
    found = conn.execute(
        select(rematch_requests.c.id).where(
            rematch_requests.c.member_id == member_id,
            rematch_requests.c.from_match_id == match_id,
        )
    ).first()
    if found is not None:
        return False
    conn.execute(
        insert(rematch_requests).values(
            cycle_id=cycle_id,
            member_id=member_id,
            from_match_id=match_id,
            cause=cause,
            status=status,
            created_at=now,
        )
    )
    return True


def contacts_for(engine: Engine, items: tuple[DueItem, ...], state: ProgramState) -> Contacts:
    """Names, addresses and languages of the recipients and their partners (never logged)."""
    wanted = {i.member_id for i in items if i.member_id}
    for pair in state.pairs:
        if any(p.id in wanted for p in pair.people):
            wanted.update(p.id for p in pair.people)
    ids = sorted(wanted)
    found: dict[str, tuple[str, str, str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 900):
            found.update(load_contacts(conn, ids[start : start + 900]))
    return found


def queue_plan(
    engine: Engine,
    spec: ProgramSpec,
    settings: MailRuntime,
    prepared: PreparedTick,
    *,
    batch: int = BATCH,
    stop_after: int | None = None,
) -> TickSummary:
    """Queue the plan's mails in committed batches and record its skips; the tick's summary.

    `stop_after` (tests only) stops after that many batches, as a crash would.
    """
    plan, state = prepared.plan, prepared.state
    summary = TickSummary(plan.as_of, waiting=plan.waiting)
    clock = FixedClock(plan.as_of)
    contacts = contacts_for(engine, plan.send, state)
    with progress.track("tick: mails queued", len(plan.send)) as bar:
        for number, start in enumerate(range(0, len(plan.send), batch)):
            if stop_after is not None and number >= stop_after:
                raise RuntimeError("stopped halfway (test)")
            items = plan.send[start : start + batch]
            done = _queue_batch_once(engine, spec, settings, prepared, items, contacts, clock)
            summary.queued.update(done.queued)
            summary.errors += done.errors
            bar.advance(len(items))
    _record_skips(engine, spec, prepared, summary)
    return summary


def _queue_batch_once(engine, spec, settings, prepared, items, contacts, clock) -> TickSummary:  # type: ignore[no-untyped-def]
    """Queue one batch in its own transaction; what it queued. Another tick of the program
    running at the same moment may insert some of the batch's keys first: the batch is then
    rolled back and done again, and the keys the other tick queued count as handled."""
    for attempt in range(_RETRIES):
        done = TickSummary(clock.now())
        try:
            with engine.begin() as conn:
                _queue_batch(conn, spec, settings, prepared, items, contacts, clock, done)
            return done
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


_RETRIES = 5


def _queue_batch(conn, spec, settings, prepared, items, contacts, clock, summary) -> None:  # type: ignore[no-untyped-def]
    """Build every mail of the batch, queue the members' in one go and the organizers' apart."""
    state, jobs = prepared.state, []
    for item in items:
        try:
            job = build_job(
                item,
                spec=spec,
                settings=settings,
                state=state,
                contacts=contacts,
                as_of=clock.now(),
            )
            if item.member_id is not None:
                jobs.append(job)
                continue
            job = MailJob(
                item, {**job.context, **_digest_vars(conn, spec, state, item, clock.now())}
            )
            if queue_organizer_mail(
                conn, settings, prepared.cycle_id, state.cycle_label, job, clock
            ):
                summary.queued[item.kind] += 1
        except TemplateError:
            summary.errors += 1  # not recorded: a fixed template sends on the next tick
    try:
        new = queue_member_mails(conn, settings, prepared.cycle_id, state.cycle_label, jobs, clock)
    except TemplateError:
        new = _queue_one_by_one(conn, settings, prepared, jobs, clock, summary)
    for job in jobs:
        if job.item.key in new:
            summary.queued[job.item.kind] += 1


def _queue_one_by_one(conn, settings, prepared, jobs, clock, summary) -> set[str]:  # type: ignore[no-untyped-def]
    """A template failed to render: queue the others, count the failures as errors."""
    new: set[str] = set()
    for job in jobs:
        try:
            new |= queue_member_mails(
                conn, settings, prepared.cycle_id, prepared.state.cycle_label, [job], clock
            )
        except TemplateError:
            summary.errors += 1
    return new


def _digest_vars(conn, spec, state, item, now) -> dict:  # type: ignore[no-untyped-def]
    if item.template != "organizer_digest":
        return {}
    report = build_report(conn, spec, state, now - timedelta(days=7), now)
    names = {k: v[0] for k, v in load_contacts(conn, _report_ids(report)).items()}
    return digest_context(report, spec.program.language, names, weekly=True)


def _report_ids(report: DigestReport) -> list[str]:
    ids = [i for pair in report.inactive for i in pair]
    return sorted({*ids, *report.bounced, *report.left, *report.thank})


def _record_skips(
    engine: Engine, spec: ProgramSpec, prepared: PreparedTick, summary: TickSummary
) -> None:
    if not prepared.plan.skip:
        return
    rows = [
        {
            "key": s.item.key,
            "program_id": spec.program.id,
            "cycle_id": prepared.cycle_id,
            "member_id": s.item.member_id,
            "reason": s.reason,
            "tick_at": prepared.plan.as_of,
        }
        for s in prepared.plan.skip
    ]
    try:
        with engine.begin() as conn:
            conn.execute(insert(engagement_skips), rows)
    except IntegrityError:  # a concurrent tick recorded some: record the rest one by one
        for row in rows:
            try:
                with engine.begin() as conn:
                    conn.execute(insert(engagement_skips).values(**row))
            except IntegrityError:
                continue
    for s in prepared.plan.skip:
        summary.skipped[s.reason] += 1
        summary.skipped_items.append((s.item.member_id or ORGANIZERS, s.item.kind, s.reason))


def dry_run(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, prepared: PreparedTick
) -> TickSummary:
    """Render what would go out and list what would be skipped; write nothing."""
    plan, state = prepared.plan, prepared.state
    summary = TickSummary(plan.as_of, dry_run=True, waiting=plan.waiting)
    contacts = contacts_for(engine, plan.send, state)
    for item in plan.send:
        job = build_job(
            item, spec=spec, settings=settings, state=state, contacts=contacts, as_of=plan.as_of
        )
        if item.member_id is None and item.template == "organizer_digest":
            with engine.connect() as conn:
                job = MailJob(
                    item, {**job.context, **_digest_vars(conn, spec, state, item, plan.as_of)}
                )
        try:
            mail = preview(settings, state.cycle_label, job, contacts)
        except TemplateError:
            summary.errors += 1
            continue
        summary.queued[item.kind] += 1
        summary.previews.append((item.member_id or ORGANIZERS, item.kind, item.template))
        del mail  # rendered to prove it renders; its text names people, so it stays here
    for s in plan.skip:
        summary.skipped[s.reason] += 1
        summary.skipped_items.append((s.item.member_id or ORGANIZERS, s.item.kind, s.reason))
    return summary


def tick_digest(
    engine: Engine,
    spec: ProgramSpec,
    settings: MailRuntime,
    prepared: PreparedTick,
    summary: TickSummary,
) -> None:
    """The per-tick digest (spec `digest: per_tick`) when the tick did something; the report."""
    state, as_of = prepared.state, prepared.plan.as_of
    with engine.connect() as conn:
        since = _last_tick(conn, spec.program.id, as_of) or as_of - timedelta(hours=1)
        summary.report = build_report(conn, spec, state, since, as_of)
    wants = spec.engagement.digest == "per_tick" and (summary.queued or summary.skipped)
    if not wants or not in_window(as_of, zone(spec.program.timezone), spec.engagement):
        return
    occurrence = as_of.strftime("%Y-%m-%dT%H")
    item = DueItem(
        key=message_key(spec.program.id, state.cycle_label, ORGANIZERS, "digest", occurrence),
        kind="digest",
        purpose="digest",
        occurrence=occurrence,
        template="organizer_digest",
        member_id=None,
        match_ids=(),
        due_on=as_of.date(),
        release=as_of,
    )
    with engine.begin() as conn:
        names = {k: v[0] for k, v in load_contacts(conn, _report_ids(summary.report)).items()}
        context = digest_context(summary.report, spec.program.language, names, weekly=False)
        queued = queue_organizer_mail(
            conn,
            settings,
            prepared.cycle_id,
            state.cycle_label,
            MailJob(item, context),
            FixedClock(as_of),
        )
    summary.digest = bool(queued)


def _last_tick(conn, program_id: str, as_of: datetime) -> datetime | None:  # type: ignore[no-untyped-def]
    found = conn.execute(
        select(ticks.c.as_of)
        .where(ticks.c.program_id == program_id, ticks.c.as_of < as_of)
        .where(ticks.c.finished_at.is_not(None))
        .order_by(ticks.c.as_of.desc())
        .limit(1)
    ).scalar_one_or_none()
    return aware(found)


def start_record(
    engine: Engine, spec: ProgramSpec, cycle_id: int, as_of: datetime, now: datetime
) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            insert(ticks).values(
                program_id=spec.program.id,
                cycle_id=cycle_id,
                as_of=as_of,
                started_at=now,
                queued=0,
                skipped=0,
                summary={},
            )
        )
        key = result.inserted_primary_key
        assert key is not None  # an INSERT of one row always has its key
        return int(key[0])


def finish_record(engine: Engine, tick_id: int, summary: TickSummary, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(ticks)
            .where(ticks.c.id == tick_id)
            .values(
                finished_at=now,
                queued=sum(summary.queued.values()),
                skipped=sum(summary.skipped.values()),
                summary=summary.counts(),
            )
        )


def run_tick(
    engine: Engine,
    spec: ProgramSpec,
    settings: MailRuntime,
    as_of: datetime,
    *,
    dry: bool = False,
    now: datetime | None = None,
    batch: int = BATCH,
) -> TickSummary:
    """The whole tick in one call (the demo, tests and benchmarks use it; the flow splits it).

    `batch`: mails queued per commit (the fault suite makes it small to kill a tick midway).
    """
    closure: dict[str, int] = {}
    if not dry:
        settle(engine, spec, as_of)
        rematch_after_settle(engine, spec, settings, as_of)
        closure = close_due(engine, spec, settings, as_of)
    prepared = prepare(engine, spec, as_of)
    if prepared is None:
        return TickSummary(as_of, dry_run=dry)
    if dry:
        return dry_run(engine, spec, settings, prepared)
    tick_id = start_record(engine, spec, prepared.cycle_id, as_of, now or as_of)
    summary = queue_plan(engine, spec, settings, prepared, batch=batch)
    summary.closure = closure
    tick_digest(engine, spec, settings, prepared, summary)
    finish_record(engine, tick_id, summary, now or as_of)
    return summary


def has_pending_mail(engine: Engine, program_id: str, now: datetime) -> bool:
    """Whether delivery has anything to do (an empty tick then skips the delivery task)."""
    due = (outbox.c.not_before.is_(None)) | (outbox.c.not_before <= now)
    query = select(outbox.c.id).where(
        outbox.c.program_id == program_id,
        outbox.c.status.in_(("pending", "claimed", "sending")),
        due,
    )
    with engine.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None
