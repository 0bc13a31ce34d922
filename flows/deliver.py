"""Mail delivery flow: send the program's pending outbox over one connection, retrying on 4xx.

A server that cannot be reached at all is not retried within the run: one warning line, and the
mail waits, pending, for the next run (retries at 10/60/300 s held every stage for minutes).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from sqlalchemy import Engine

from flows.labels import labelled
from mentorflow.clock import SystemClock
from mentorflow.errors import SmtpUnreachableError, TemporaryMailError
from mentorflow.mail.outbox import DeliveryReport, deliver_pending
from mentorflow.mail.sender import sender_for
from mentorflow.mail.settings import MailRuntime, mail_runtime
from mentorflow.spec import load_spec, require_runtime
from mentorflow.spec.model import ProgramSpec, SecretRef
from mentorflow.store.db import open_store

RETRIES = 3


def _temporary(_task: Any, _run: Any, state: Any) -> bool:
    error = state.result(raise_on_failure=False)
    return isinstance(error, TemporaryMailError) and not isinstance(error, SmtpUnreachableError)


def _secret_block(ref: SecretRef) -> str:
    from prefect.blocks.system import Secret

    return str(Secret.load(ref.name).get())  # type: ignore[union-attr]


def mail_settings(spec: ProgramSpec) -> MailRuntime:
    """The mail runtime, `{secret_block: NAME}` credentials resolved from Prefect Secret blocks."""
    return mail_runtime(spec, resolve_secret=_secret_block)


def _last_attempt() -> bool:
    run = get_run_context().task_run  # type: ignore[union-attr]
    return run.run_count > RETRIES


@task(
    retries=RETRIES,
    retry_delay_seconds=[10, 60, 300],
    retry_condition_fn=_temporary,
    cache_policy=NO_CACHE,
)
def deliver_mail(engine: Engine, settings: MailRuntime) -> DeliveryReport:
    """Deliver pending mail; temporary failures retry the task, then mail waits for the next run."""
    logger = get_run_logger()
    try:
        report = deliver_pending(
            engine, settings=settings, sender=sender_for(settings), clock=SystemClock()
        )
    except SmtpUnreachableError as error:
        logger.warning("mail for %s: %s", settings.program_id, error)
        return getattr(error, "report", DeliveryReport())
    except TemporaryMailError as error:
        if not _last_attempt():
            raise
        # Mail stays pending in the outbox; the next run sends it. The stage itself succeeded.
        logger.warning("mail for %s still pending after retries: %s", settings.program_id, error)
        return getattr(error, "report", DeliveryReport())
    logger.info("mail for %s: %s", settings.program_id, asdict(report))
    return report


@flow(name="send_mail", **labelled("mail"))
def send_mail(spec_path: str) -> dict[str, int]:
    """Deliver the pending mail of the program in `spec_path`; returns the counts.

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
    """
    spec = load_spec(spec_path)
    require_runtime(spec)  # an unset {env: NAME} fails here, with its line in the spec
    settings = mail_settings(spec)
    return asdict(deliver_mail(open_store(), settings))
