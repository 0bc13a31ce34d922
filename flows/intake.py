"""Intake flow: read the sign-up form, enrol new rows, screen if asked, mail, publish a report."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.input import RunInput
from prefect.runtime import flow_run as current_run
from pydantic import Field
from sqlalchemy import Engine

from flows.deliver import deliver_mail, mail_settings
from flows.labels import labelled
from flows.pauses import SCREEN_COMMAND, announce, answered, pause_key, wait_for_answer, waiting_run
from flows.sheets import SHEET_RETRIES, client_for
from mentorflow.clock import SystemClock
from mentorflow.closure import alumni
from mentorflow.intake import mails, report, screening, service, sources
from mentorflow.mail.settings import MailRuntime
from mentorflow.spec import ProgramSpec, load_spec, require_runtime
from mentorflow.spec.model import CsvSource
from mentorflow.store import reviews
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


@dataclass(frozen=True)
class Question:
    """The applicants one pause shows the organizer, and the store's record of them."""

    review: str
    applicants: list[screening.Applicant]


def screening_question(engine: Engine, spec: ProgramSpec, flow_run: str) -> Question | None:
    """Who this run asks about: after a suspension, exactly those it asked about before.

    None when nobody waits, or when another run of this program and cycle waits for the
    organizer already (an hourly run must not open a second pause: that one decides).
    """
    pending = screening.pending_applicants(engine, spec)
    with engine.begin() as conn:
        cycle = get_cycle(conn, spec.program.id, spec.cycle.label)
        if cycle is None:
            return None
        asked = reviews.open_review_of(conn, cycle.id, "screening", flow_run)
        if asked is not None:  # still waiting ones of those shown; new sign-ups wait their turn
            shown = set(asked.shown["members"])
            return Question(asked.id, [a for a in pending if a.member_id in shown])
        if not pending:
            return None
        if (waiting := waiting_run(spec.program.id, spec.cycle.label)) is not None:
            get_run_logger().warning(
                "screening: %d applicant(s) wait; flow run %s already waits for the organizer's"
                " decision, so this run does not pause again",
                len(pending),
                waiting.id,
            )
            return None
        review = reviews.open_review(
            conn,
            program_id=spec.program.id,
            cycle_id=cycle.id,
            kind="screening",
            flow_run=flow_run,
            shown={"members": [a.member_id for a in pending]},
            now=SystemClock().now(),
        )
    return Question(review, pending)


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
    with engine.begin() as conn:
        cycle = get_cycle(conn, spec.program.id, spec.cycle.label)
        assert cycle is not None  # applicants were shown, so the cycle is stored
        reviews.decide_review(conn, cycle.id, "screening", SystemClock().now())
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


def wait_for_screening(
    spec_path: str, spec: ProgramSpec, question: Question, timeout: int, poll: int
) -> ScreeningDecision:
    """Wait until the organizer approves or declines someone who waits; say how to answer.

    Each wait's key names the question's review: an answer comes back to that question only.
    """
    pending = question.applicants
    what = f"screening of {len(pending)} applicant(s) of {spec.program.id}"
    review = review_url(spec, "applicants")
    form = ScreeningDecision.with_initial_data(
        description=screening.describe_pending(pending) + review_note(review)
    )
    waiting = [a.member_id for a in pending]
    for attempt in itertools.count(1):
        key = pause_key("screening", question.review, attempt)
        if not answered(key):  # a run started again after its answer does not announce again
            announce(what, SCREEN_COMMAND, spec_path, spec.program.id, spec.cycle.label, review)
        decision = wait_for_answer(form, key=key, timeout=timeout, poll=poll)
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
    raise AssertionError("unreachable")


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
    spec_path: str, screening_timeout_seconds: int = 7 * 86400, screening_poll_seconds: int = 10
) -> dict[str, int]:
    """Run the intake stage of the program in `spec_path`; returns the counts.

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
        screening_timeout_seconds: How long a screening question waits for the organizer
            (then Prefect fails the run; the next run asks again).
        screening_poll_seconds: How often the waiting run looks for the answer.
    """
    spec = load_spec(spec_path)
    require_runtime(spec)  # an unset {env: NAME} fails here, not halfway through
    mail = mail_settings(spec)
    engine = open_store()
    found = ingest_rows(engine, read_source(spec), spec)
    carried = carry_alumni(engine, spec)
    run_id = str(current_run.id or "")
    question = screening_question(engine, spec, run_id) if spec.intake.screening else None
    if question is not None and question.applicants:
        decision = wait_for_screening(
            spec_path, spec, question, screening_timeout_seconds, screening_poll_seconds
        )
        decide_applicants(engine, spec, decision, question.applicants)
    queued = queue_mails(engine, spec, mail)
    deliver_mail(engine, mail)
    publish_report(found, queued, spec.program.id)
    # not form rows: the rows identity (accepted + ... == rows_read) is about the form alone
    return {**found.counts(), "alumni_pending_consent": carried}
