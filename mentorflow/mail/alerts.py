"""Mail to the program's organizers when one of its runs fails, or waits too long for their
answer: which stage, which run, where to act.

Queued through the outbox like every mail (a failure once per run: the run id is the
occurrence; a reminder once per pause: run id and pause key) and handed to the sender at once
where the spec has SMTP; when the server is the problem, the mail waits in the outbox for the
next delivery. The mail names the stage and run, never a member.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from mentorflow.clock import Clock
from mentorflow.mail import outbox
from mentorflow.mail.settings import MailRuntime
from mentorflow.store.repo import get_cycle

MAX_DETAIL = 300  # characters of the failure's message: enough to see what, not a traceback


@dataclass(frozen=True)
class RunFailure:
    stage: str
    run_name: str
    run_id: str
    state: str  # Failed | Crashed | TimedOut ...
    detail: str  # the state's message, first line
    run_url: str | None  # the run in the Prefect UI, when there is a server


def short_detail(message: str | None) -> str:
    first = (message or "").strip().splitlines()[0:1]
    text = first[0] if first else ""
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def queue_run_failure(
    engine: Engine, settings: MailRuntime, failure: RunFailure, clock: Clock
) -> int:
    """Queue the `run_failed` mail for every organizer; the number of mails newly queued."""
    return _to_organizers(
        engine,
        settings,
        "run_failed",
        {
            "stage": failure.stage,
            "run_name": failure.run_name,
            "run_id": failure.run_id,
            "state": failure.state,
            "detail": failure.detail,
            "run_url": failure.run_url,
        },
        clock,
        failure.run_id,
    )


def _to_organizers(
    engine: Engine,
    settings: MailRuntime,
    template: str,
    context: dict[str, object],
    clock: Clock,
    occurrence: str,
) -> int:
    """Queue `template` (also the purpose) for every organizer of the spec's current cycle."""
    spec = settings.spec
    with engine.connect() as conn:
        cycle = get_cycle(conn, spec.program.id, spec.cycle.label)
    return outbox.enqueue_to_organizers(
        engine,
        settings=settings,
        cycle_id=cycle.id if cycle else None,
        cycle_label=spec.cycle.label,
        purpose=template,
        template=template,
        context=context,
        clock=clock,
        occurrence=occurrence,
    )


@dataclass(frozen=True)
class UnansweredRun:
    """A flow run that waits for the organizers' answer (paused or suspended)."""

    stage: str  # intake | matching
    question: str  # screening | approval
    run_name: str
    run_id: str
    pause_key: str  # one pause of the run: a run that asks again is a new pause
    since: datetime  # when it began to wait
    expires: datetime | None  # when Prefect fails it unanswered
    review_url: str | None  # the organizer page (names behind sign-in), when base_url is set
    command: str  # the terminal command that answers it
    run_url: str | None  # the run in the Prefect UI


def queue_answer_reminders(
    engine: Engine,
    settings: MailRuntime,
    waiting: Iterable[UnansweredRun],
    now: datetime,
    clock: Clock,
) -> int:
    """The `answer_reminder` mail for each run waiting at least the spec's
    `engagement.answer_reminder_after`: once per pause, to every organizer; mails newly queued."""
    after = settings.spec.engagement.answer_reminder_after
    return sum(
        _to_organizers(
            engine,
            settings,
            "answer_reminder",
            _reminder_context(run, now),
            clock,
            f"{run.run_id}/{run.pause_key}",
        )
        for run in waiting
        if now - run.since >= after
    )


def _reminder_context(run: UnansweredRun, now: datetime) -> dict[str, object]:
    left = run.expires - now if run.expires else None
    return {
        "stage": run.stage,
        "question": run.question,
        "run_name": run.run_name,
        "run_id": run.run_id,
        "waited_hours": int((now - run.since).total_seconds() // 3600),
        "expires_hours": max(0, int(left.total_seconds() // 3600)) if left is not None else None,
        "review_url": run.review_url,
        "command": run.command,
        "run_url": run.run_url,
    }
