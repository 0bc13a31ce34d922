"""Survey flow: read each Google Form survey's responses sheet, check, store, publish a table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from flows.labels import labelled
from flows.sheets import client_for
from mentorflow.spec import ProgramSpec, load_spec
from mentorflow.spec.model import Survey
from mentorflow.store.db import open_store
from mentorflow.store.repo import get_cycle
from mentorflow.surveys import google_form


def sheet_client(survey: Survey) -> Any:
    """A gspread client with the form's credentials: an environment variable or a Secret block."""
    return client_for(survey.google_form.credentials)  # type: ignore[union-attr]


@task(retries=3, retry_delay_seconds=[5, 30, 120], cache_policy=NO_CACHE)
def read_responses(survey: Survey) -> list[list[str]]:
    """All rows of the responses sheet (the only task that touches Google)."""
    return google_form.read_worksheet(sheet_client(survey), survey)


@task(cache_policy=NO_CACHE)
def store_responses(
    engine: Engine, spec: ProgramSpec, survey: Survey, values: list[list[str]], cycle_id: int
) -> google_form.FormReport:
    """Check every row's token and answers; store the latest per member, quarantine the rest."""
    now = datetime.now(UTC)
    roster = google_form.load_roster(engine, spec.program.id, cycle_id)
    check = google_form.check_rows(spec, survey, values, roster, now)
    return google_form.store_checked(
        engine, spec, survey, check, google_form.source_label(survey), now
    )


@task(cache_policy=NO_CACHE)
def publish_table(report: google_form.FormReport, program_id: str) -> None:
    """One table artifact per survey run: counts, quarantine reasons, member ids; no names."""
    rows = [{"what": k, "count": v} for k, v in report.counts().items()]
    rows += [{"what": f"quarantined: {k}", "count": v} for k, v in sorted(report.reasons.items())]
    rows += [{"what": "answered", "count": m} for m in report.member_ids]
    key = f"{program_id}-survey-{report.survey_id}".replace("_", "-").lower()
    create_table_artifact(table=rows, key=key, description=f"survey {report.survey_id}")


@flow(name="surveys", **labelled("surveys"))
def read_survey_forms(spec_path: str) -> dict[str, dict[str, int]]:
    """Read the responses of every Google Form survey of the spec's cycle.

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
    """
    spec = load_spec(spec_path)
    engine = open_store()
    with engine.connect() as conn:
        cycle = get_cycle(conn, spec.program.id, spec.cycle.label)
    outcome: dict[str, dict[str, int]] = {}
    for survey in spec.surveys.values():
        if survey.answer_mode != "google_form" or cycle is None:
            continue
        report = store_responses(engine, spec, survey, read_responses(survey), cycle.id)
        publish_table(report, spec.program.id)
        outcome[survey.id] = report.counts()
        get_run_logger().info("survey %s: %s", survey.id, report.counts())
    return outcome
