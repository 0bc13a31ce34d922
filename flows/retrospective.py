"""Retrospective flow: the cycle's figures, the report to forward, the next-cycle proposal."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.labels import labelled
from mentorflow.retrospective.run import Outcome, artifact_markdown, run_retrospective
from mentorflow.spec import load_spec
from mentorflow.store.db import open_store


@task(cache_policy=NO_CACHE)
def compute_retrospective(spec_path: str, cycle: str | None) -> Outcome:
    """Read the store, store the aggregate, write report and proposal (all pure computation)."""
    spec = load_spec(spec_path)
    engine = open_store()
    try:
        return run_retrospective(engine, spec, datetime.now(UTC), cycle)
    finally:
        engine.dispose()


@task(cache_policy=NO_CACHE)
def publish_headline(program_id: str, outcome: Outcome) -> None:
    """A markdown artifact with the headline figures: ids and counts, never names."""
    key = f"{program_id}-retrospective".replace("_", "-").lower()
    create_markdown_artifact(markdown=artifact_markdown(program_id, outcome), key=key)


@flow(name="retrospective", **labelled("retrospective"))
def retrospective(spec_path: str, cycle: str | None = None) -> Outcome:
    """The retrospective of the spec's cycle (or of an earlier `cycle` label).

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
        cycle: The label of an earlier cycle to report on; empty for the spec's own cycle.
    """
    outcome = compute_retrospective(spec_path, cycle)
    publish_headline(load_spec(spec_path).program.id, outcome)
    return outcome
