"""Closure flow: end the cycle's pairs, close it, send closure mails, certificates, alumni."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from flows.deliver import deliver_mail, mail_settings
from flows.labels import labelled
from flows.tick import _as_of
from mentorflow.closure import run
from mentorflow.mail.settings import MailRuntime
from mentorflow.spec import ProgramSpec, load_spec
from mentorflow.store.db import open_store


@task(cache_policy=NO_CACHE)
def close_cycle(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, as_of: datetime
) -> run.ClosureSummary:
    """Closure mails for pairs that ended early, then the cycle's own closure (once)."""
    early = run.close_ended_pairs(engine, spec, settings, as_of)
    summary = run.close_cycle(engine, spec, settings, as_of)
    summary.queued.update(early.queued)
    return summary


@task(cache_policy=NO_CACHE)
def publish_closure(summary: run.ClosureSummary, program_id: str) -> None:
    """The closure's markdown artifact: counts and member ids, never names or addresses."""
    key = f"{program_id}-closure".replace("_", "-").lower()
    create_markdown_artifact(markdown=summary.markdown(), key=key)


@flow(name="closure", **labelled("closure"))
def closure(spec_path: str, as_of: str | None = None) -> dict[str, Any]:
    """Close the spec's cycle at `as_of` (ISO; default now) if it has ended; deliver the mail.

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
        as_of: The moment to close at, ISO 8601; empty for now. Before the cycle's end nothing
            happens.
    """
    spec = load_spec(spec_path)
    engine = open_store()
    settings = mail_settings(spec)
    summary = close_cycle(engine, spec, settings, _as_of(as_of, spec))
    publish_closure(summary, spec.program.id)
    if summary.queued:
        deliver_mail(engine, settings)
    get_run_logger().info("closure %s: %s", spec.program.id, summary.counts())
    return {**summary.counts(), "not_due": summary.not_due or ""}
