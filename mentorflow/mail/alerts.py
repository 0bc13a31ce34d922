"""Mail to the program's organizers when one of its runs fails: which stage, which run, where.

Queued through the outbox like every mail (once per run: the run id is the occurrence) and
handed to the sender at once where the spec has SMTP; when the server is the problem, the mail
waits in the outbox for the next delivery. The mail names the stage and run, never a member.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    spec = settings.spec
    with engine.connect() as conn:
        cycle = get_cycle(conn, spec.program.id, spec.cycle.label)
    return outbox.enqueue_to_organizers(
        engine,
        settings=settings,
        cycle_id=cycle.id if cycle else None,
        cycle_label=spec.cycle.label,
        purpose="run_failed",
        template="run_failed",
        context={
            "stage": failure.stage,
            "run_name": failure.run_name,
            "run_id": failure.run_id,
            "state": failure.state,
            "detail": failure.detail,
            "run_url": failure.run_url,
        },
        clock=clock,
        occurrence=failure.run_id,
    )
