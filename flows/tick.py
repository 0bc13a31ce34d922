"""Engagement tick flow: every hour, send what is due for every pair and member, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote
from sqlalchemy import Engine

from flows.deliver import deliver_mail, mail_settings
from flows.labels import failed_runs, labelled
from flows.pauses import unanswered
from mentorflow.clock import SystemClock
from mentorflow.engagement import run
from mentorflow.mail.alerts import queue_answer_reminders, queue_run_failure
from mentorflow.mail.settings import MailRuntime
from mentorflow.spec import ProgramSpec, load_spec
from mentorflow.store.db import open_store


@task(cache_policy=NO_CACHE)
def remind_unanswered(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, as_of: datetime
) -> int:
    """A mail to the organizers for each pause waiting past `engagement.answer_reminder_after`
    (once per pause: a later tick adds none)."""
    return queue_answer_reminders(engine, settings, unanswered(spec), as_of, SystemClock())


# How far back the tick looks for failed runs that no hook reported (a tick missed for longer
# than this loses nothing else: the hook has reported every run that still had a process).
FAILURE_SWEEP = timedelta(days=8)


@task(cache_policy=NO_CACHE)
def report_failed_runs(engine: Engine, settings: MailRuntime) -> int:
    """The `run_failed` mail for runs that failed without their hook (a suspended run that timed
    out on the server); runs already reported are skipped by their outbox key."""
    since = _now() - FAILURE_SWEEP
    return sum(
        queue_run_failure(engine, settings, failure, SystemClock())
        for failure in failed_runs(settings.spec, since)
    )


@task(cache_policy=NO_CACHE)
def plan_tick(engine: Engine, spec: ProgramSpec, as_of: datetime) -> run.PreparedTick | None:
    """Read the store and plan what is due."""
    return run.prepare(engine, spec, as_of)


@task(cache_policy=NO_CACHE)
def settle_pairs(engine: Engine, spec: ProgramSpec, settings: MailRuntime, as_of: datetime) -> int:
    """End pairs whose member was erased; match open rematch requests again (automatic)."""
    run.settle(engine, spec, as_of)
    return run.rematch_after_settle(engine, spec, settings, as_of)


@task(cache_policy=NO_CACHE)
def close_due(engine: Engine, spec: ProgramSpec, settings: MailRuntime, as_of: datetime) -> dict:
    """Closure mails for pairs that ended; the cycle's closure on its last day (issue 11)."""
    return run.close_due(engine, spec, settings, as_of)


@task(cache_policy=NO_CACHE)
def queue_due(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, prepared: run.PreparedTick
) -> run.TickSummary:
    """Queue every due mail in committed batches, record skips, add the per-tick digest."""
    tick_id = run.start_record(engine, spec, prepared.cycle_id, prepared.plan.as_of, _now())
    summary = run.queue_plan(engine, spec, settings, prepared)
    run.tick_digest(engine, spec, settings, prepared, summary)
    run.finish_record(engine, tick_id, summary, _now())
    return summary


@task(cache_policy=NO_CACHE)
def preview_due(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, prepared: run.PreparedTick
) -> run.TickSummary:
    """Dry run: render what would go out, list what would be skipped; write nothing."""
    return run.dry_run(engine, spec, settings, prepared)


@task(cache_policy=NO_CACHE)
def publish_summary(summary: run.TickSummary, program_id: str) -> None:
    """The tick's markdown artifact: counts and member ids, never names or addresses."""
    key = f"{program_id}-tick".replace("_", "-").lower()
    create_markdown_artifact(markdown=summary.markdown(), key=key)


def _now() -> datetime:
    return datetime.now(UTC)


def _as_of(text: str | None, spec: ProgramSpec) -> datetime:
    """ISO time; without an offset it is read in the program's time zone, as organizers think."""
    if not text:
        return _now()
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=spec.program.zone)).astimezone(UTC)


@flow(name="tick", **labelled("tick"))
def tick(spec_path: str, as_of: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Run the engagement schedule of the spec's cycle at `as_of` (ISO; default now).

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
        as_of: The moment to tick at, ISO 8601 (e.g. 2027-03-15T08:00); empty for now.
        dry_run: Say what is due without queuing or sending anything.
    """
    spec = load_spec(spec_path)
    engine = open_store()
    settings = mail_settings(spec)
    moment = _as_of(as_of, spec)
    closure: dict = {}
    if not dry_run:
        settle_pairs(engine, spec, settings, moment)
        closure = close_due(engine, spec, settings, moment)
        remind_unanswered(engine, spec, settings, moment)
        report_failed_runs(engine, settings)
    prepared = plan_tick(engine, spec, moment)
    if prepared is None:
        get_run_logger().info(
            "tick %s: no cycle %s in the store yet", spec.program.id, spec.cycle.label
        )
        return {"queued": 0, "skipped": 0}
    step = preview_due if dry_run else queue_due
    # quote: Prefect would otherwise walk every pair and person of the plan looking for futures
    summary = step(engine, spec, settings, quote(prepared))  # type: ignore[call-overload]
    summary.closure = closure
    publish_summary(quote(summary), spec.program.id)  # type: ignore[call-overload]
    # also what a tick that stopped halfway left pending; an empty tick skips the task
    if not dry_run and run.has_pending_mail(engine, spec.program.id, _now()):
        deliver_mail(engine, settings)
    get_run_logger().info(
        "tick %s at %s: %s", spec.program.id, moment.isoformat(), summary.counts()
    )
    outcome: dict[str, Any] = summary.counts()
    if dry_run:
        outcome["would_send"] = [" ".join(p) for p in summary.previews]
    return outcome
