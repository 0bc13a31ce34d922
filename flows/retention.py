"""Retention flow: erase everyone past the spec's retention period, daily (as `erase --expired`)."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from flows.labels import labelled
from mentorflow.closure.protection import run_retention
from mentorflow.spec import ProgramSpec, load_spec
from mentorflow.store.db import open_store


@task(cache_policy=NO_CACHE)
def erase_expired(engine: Engine, spec: ProgramSpec, now: datetime) -> list[str]:
    """Erase every member past retention (store, mail files, certificates); their ids."""
    today = now.astimezone(spec.program.zone).date()
    days = spec.retention.days_after_cycle_end
    return run_retention(engine, spec.program.id, days, today, now)


@flow(name="retention", **labelled("retention"))
def retention(spec_path: str) -> dict[str, int]:
    """Erase the personal data of the program's members whose retention period is over.

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
    """
    spec = load_spec(spec_path)
    erased = erase_expired(open_store(), spec, datetime.now(UTC))
    lines = [f"# Retention {spec.program.id}", "", f"Erased: {len(erased)}", ""]
    lines += [f"- {member_id}" for member_id in erased]
    create_markdown_artifact(markdown="\n".join(lines), key=f"{spec.program.id}-retention")
    get_run_logger().info("retention %s: erased %d", spec.program.id, len(erased))
    return {"erased": len(erased)}
