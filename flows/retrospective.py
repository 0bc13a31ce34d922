"""Retrospective flow: the cycle's figures, the report to forward, the next-cycle proposal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows import sheets
from flows.labels import labelled
from mentorflow.intake.sources import SourceTable
from mentorflow.retrospective.contributions import read_contributions_sheet
from mentorflow.retrospective.run import Outcome, artifact_markdown, run_retrospective
from mentorflow.spec import load_spec
from mentorflow.store.db import open_store


@task(**sheets.SHEET_RETRIES, cache_policy=NO_CACHE)
def read_contributions(spec_path: str, client: Any = None) -> SourceTable | None:
    """The contributions sheet's rows when the spec counts from a Google Sheet (else None)."""
    given = load_spec(spec_path).retrospective.contributions
    if given is None or given.sheet is None:
        return None
    return read_contributions_sheet(
        client or sheets.client_for(given.sheet.credentials), given.sheet
    )


@task(cache_policy=NO_CACHE)
def compute_retrospective(
    spec_path: str, cycle: str | None, sheet_rows: SourceTable | None = None
) -> Outcome:
    """Read the store, store the aggregate, write report and proposal (all pure computation)."""
    spec = load_spec(spec_path)
    engine = open_store()
    try:
        return run_retrospective(engine, spec, datetime.now(UTC), cycle, sheet_rows)
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
    outcome = compute_retrospective(spec_path, cycle, read_contributions(spec_path))
    publish_headline(load_spec(spec_path).program.id, outcome)
    return outcome
