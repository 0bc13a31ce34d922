"""Intake flow: read the sign-up form, enrol new rows, screen if asked, mail, publish a report."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import Engine

from flows.deliver import deliver_mail, mail_settings
from flows.labels import labelled
from flows.pauses import announce, waiting_run
from flows.sheets import SHEET_RETRIES, client_for
from mentorflow.clock import SystemClock
from mentorflow.closure import alumni
from mentorflow.intake import mails, report, screening, service, sources
from mentorflow.mail.settings import MailRuntime
from mentorflow.spec import ProgramSpec, load_spec, require_runtime
from mentorflow.spec.model import CsvSource
from mentorflow.store.db import open_store
from mentorflow.store.repo import get_cycle
from mentorflow.web.organizer_auth import review_note, review_url


class ScreeningDecision(RunInput):
    """The organizer's answer in the Prefect UI: member ids to approve or decline."""

    approve: list[str] = Field(default_factory=list)
    decline: list[str] = Field(default_factory=list)
    approve_all: bool = False


@task(**SHEET_RETRIES, cache_policy=NO_CACHE)
def read_source(spec: ProgramSpec, client: Any = None) -> sources.SourceTable:
    source = spec.intake.source
    if isinstance(source, CsvSource):
        return sources.read_csv(source)
    return sources.read_sheet(client or sheet_client(spec), source)


def sheet_client(spec: ProgramSpec) -> Any:
    """A gspread client for the spec's Google Sheet: credentials from env or a Secret block."""
    source = spec.intake.source
    assert not isinstance(source, CsvSource)
    return client_for(source.credentials)


@task(cache_policy=NO_CACHE)
def ingest_rows(
    engine: Engine, table: sources.SourceTable, spec: ProgramSpec
) -> service.IntakeReport:
    run_id = str(get_run_context().task_run.flow_run_id or "")  # type: ignore[union-attr]
    found = service.ingest(engine, table, spec, SystemClock(), run_id)
    get_run_logger().info("intake %s: %s", spec.program.id, found.counts())
    return found


@task(cache_policy=NO_CACHE)
def decide_applicants(
    engine: Engine, spec: ProgramSpec, decision: Any, shown: list[screening.Applicant]
) -> None:
    outcome = screening.apply_decision(
        engine,
        spec,
        SystemClock(),
        approve=decision.approve,
        decline=decision.decline,
        approve_all=decision.approve_all,
        shown=[a.member_id for a in shown],
    )
    get_run_logger().info(
        "screening: approved %s, declined %s, not pending %s",
        *map(list, (outcome.approved, outcome.declined, outcome.unknown)),
    )


@task(cache_policy=NO_CACHE)
def queue_mails(engine: Engine, spec: ProgramSpec, mail: MailRuntime) -> mails.QueuedMails:
    return mails.queue_intake_mails(engine, spec, mail, SystemClock())


@task(cache_policy=NO_CACHE)
def publish_report(found: service.IntakeReport, queued: mails.QueuedMails, program_id: str) -> None:
    create_table_artifact(
        table=report.quarantine_table(found) or [{"sheet row": "", "member": "", "reasons": ""}],
        key=report.artifact_key(program_id),
        description=report.summary_markdown(found, queued),
    )


SCREEN_COMMAND = "mentorflow screen {spec} --all  (or --approve ID... / --decline ID...)"


def wait_for_screening(
    spec_path: str,
    spec: ProgramSpec,
    pending: list[screening.Applicant],
    timeout: int,
    poll: int,
) -> ScreeningDecision:
    """Pause until the organizer approves or declines someone who waits; say how to answer."""
    what = f"screening of {len(pending)} applicant(s) of {spec.program.id}"
    review = review_url(spec, "applicants")
    announce(what, SCREEN_COMMAND, spec_path, spec.program.id, spec.cycle.label, review)
    form = ScreeningDecision.with_initial_data(
        description=screening.describe_pending(pending) + review_note(review)
    )
    waiting = [a.member_id for a in pending]
    while True:
        decision = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=poll)
        if screening.decides_anything(
            waiting, decision.approve, decision.decline, decision.approve_all
        ):
            return decision
        # a count, not the ids: what was typed into the form may be anything, even an address
        get_run_logger().warning(
            "screening: the answer approves or declines nobody who waits (%d id(s) given, none "
            "pending; approve_all not ticked): still waiting for a decision",
            len({*decision.approve, *decision.decline}),
        )


@task(cache_policy=NO_CACHE)
def carry_alumni(engine: Engine, spec: ProgramSpec) -> int:
    """Alumni who said yes in an earlier cycle get a pending-consent mentor enrolment here
    (docs/closure.md); how many still wait for their sign-up."""
    with engine.begin() as conn:
        cycle = get_cycle(conn, spec.program.id, spec.cycle.label)
        if cycle is None:
            return 0
        alumni.carry_alumni(conn, spec.program.id, cycle.id, SystemClock().now())
        return alumni.pending_alumni(conn, cycle.id)


@flow(name="intake", **labelled("intake"))
def intake(
    spec_path: str, screening_timeout_seconds: int = 86400, screening_poll_seconds: int = 10
) -> dict[str, int]:
    """Run the intake stage of the program in `spec_path`; returns the counts.

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
        screening_timeout_seconds: How long a screening question waits for the organizer.
        screening_poll_seconds: How often the waiting run looks for the answer.
    """
    spec = load_spec(spec_path)
    require_runtime(spec)  # an unset {env: NAME} fails here, not halfway through
    mail = mail_settings(spec)
    engine = open_store()
    found = ingest_rows(engine, read_source(spec), spec)
    carried = carry_alumni(engine, spec)
    pending = screening.pending_applicants(engine, spec) if spec.intake.screening else []
    if pending and (waiting := waiting_run(spec.program.id, spec.cycle.label)) is not None:
        # an hourly run must not open a second pause: the waiting one decides for everybody
        get_run_logger().warning(
            "screening: %d applicant(s) wait; flow run %s already waits for the organizer's"
            " decision, so this run does not pause again",
            len(pending),
            waiting.id,
        )
        pending = []
    if pending:
        decision = wait_for_screening(
            spec_path, spec, pending, screening_timeout_seconds, screening_poll_seconds
        )
        decide_applicants(engine, spec, decision, pending)
    queued = queue_mails(engine, spec, mail)
    deliver_mail(engine, mail)
    publish_report(found, queued, spec.program.id)
    # not form rows: the rows identity (accepted + ... == rows_read) is about the form alone
    return {**found.counts(), "alumni_pending_consent": carried}
