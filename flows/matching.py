"""Matching flow: solve the pool, show the proposal, wait for approval, introduce, export."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.input import RunInput
from prefect.runtime import flow_run as current_run
from pydantic import Field
from sqlalchemy import Engine

from flows.deliver import deliver_mail, mail_settings
from flows.intake import sheet_client
from flows.labels import labelled
from flows.pauses import APPROVE_COMMAND, announce, answered, pause_key, wait_for_answer
from mentorflow.clock import SystemClock
from mentorflow.errors import MatchingError
from mentorflow.mail.settings import mail_runtime
from mentorflow.matching import build_pool, handover, report, solve, store_io
from mentorflow.matching.result import MatchResult, result_from_json, result_json
from mentorflow.matching.settings import settings_from_spec
from mentorflow.spec import ProgramSpec, load_spec, require_runtime
from mentorflow.spec.model import GoogleSheetSource
from mentorflow.store import repo, reviews
from mentorflow.store.db import open_store
from mentorflow.web.organizer_auth import review_note, review_url


class MatchApproval(RunInput):
    """The organizer's decision in the Prefect UI (or `mentorflow approve`)."""

    approve_all: bool = False
    drop_pairs: list[str] = Field(default_factory=list)  # match ids or "mentorId+menteeId"
    hold_back: list[str] = Field(default_factory=list)  # member ids kept out of this run


@dataclass(frozen=True)
class Proposal:
    result: MatchResult
    match_ids: dict[str, str]  # match key -> stored match id
    review: str  # the store's record of what the organizer is shown (mentorflow.store.reviews)
    held: tuple[str, ...] = ()  # member ids held back by earlier answers of this run


@task(cache_policy=NO_CACHE)
def propose_matches(
    engine: Engine,
    spec: ProgramSpec,
    cycle_id: int,
    round_no: int,
    hold_back: list[str],
    flow_run: str = "",
) -> Proposal | None:
    """Solve the pool of enrolled members and store the result as this round's proposal.

    None when everyone enrolled is matched already: a rerun of the stage has nothing to do.
    The store keeps the whole proposal as shown until it is decided (`shown_proposal`).
    """
    settings = settings_from_spec(spec)
    with engine.connect() as conn:
        found = store_io.load_pool_input(conn, spec.program.id, cycle_id, round_no)
        matched_before = bool(store_io.last_saved(conn, cycle_id, round_no))
    if not found.records and matched_before:
        get_run_logger().info("matching %s: everyone enrolled is matched", spec.program.id)
        return None
    if not found.records:
        raise MatchingError("nobody is enrolled and unmatched in this cycle")
    pool = build_pool(found.records, settings, week_of=spec.cycle.start)
    result = solve(
        pool, settings, earlier_pairs=found.earlier_pairs, hold_back=hold_back, round_no=round_no
    )
    now = SystemClock().now()
    with engine.begin() as conn:
        ids = store_io.save_proposal(conn, cycle_id, result, now)
        shown = {"result": result_json(result), "match_ids": ids, "held": hold_back}
        review = reviews.open_review(
            conn,
            program_id=spec.program.id,
            cycle_id=cycle_id,
            kind="proposal",
            flow_run=flow_run,
            shown=shown,
            now=now,
            round_no=round_no,
        )
    get_run_logger().info(
        "matching %s: %d matches, %d unmatched, certified=%s, gap=%.5f",
        spec.program.id,
        len(result.matches),
        len(result.unmatched),
        result.certified,
        result.gap,
    )
    return Proposal(result, ids, review, tuple(hold_back))


@task(cache_policy=NO_CACHE)
def shown_proposal(engine: Engine, cycle_id: int, round_no: int, flow_run: str) -> Proposal | None:
    """The proposal this flow run showed and that waits for its answer, exactly as shown.

    A suspended run starts again from the top once answered: it takes up this proposal rather
    than solving a pool that may have changed. None when the run showed none, or when its
    proposal is no longer this round's (replaced or decided since): then nothing it was told
    applies, and the run proposes again and asks again.
    """
    with engine.connect() as conn:
        review = reviews.open_review_of(conn, cycle_id, "proposal", flow_run, round_no)
        if review is None:
            return None
        current = set(store_io.proposed(conn, cycle_id, round_no))
    ids = dict(review.shown["match_ids"])
    if set(ids.values()) != current:
        return None
    result = result_from_json(review.shown["result"])
    return Proposal(result, ids, review.id, tuple(review.shown["held"]))


@task(cache_policy=NO_CACHE)
def publish_proposal(proposal: Proposal, program_id: str, review: str | None = None) -> None:
    """Table (member ids, score, explanation) and summary: no names or addresses.

    `review` is the organizer page showing the same proposal with names (behind sign-in).
    """
    link = review_note(review)
    rows = [
        {"match_id": proposal.match_ids.get(r["match"], ""), **r}
        for r in proposal.result.table_rows()
    ]
    key = f"{program_id}-matching".replace("_", "-")
    create_table_artifact(
        table=rows or [{"match_id": "", "members": "", "score": ""}],
        key=key,
        description=report.summary_markdown(proposal.result) + link,
    )
    create_markdown_artifact(
        markdown=report.summary_markdown(proposal.result)
        + link
        + "\n\n"
        + _unmatched_table(proposal.result),
        key=f"{key}-summary",
    )


def _unmatched_table(result: MatchResult) -> str:
    rows = report.unmatched_rows(result)
    if not rows:
        return "Everybody is matched."
    return "| member | side | reason |\n|---|---|---|\n" + "\n".join(
        f"| {r['member']} | {r['side']} | {r['reason']} |" for r in rows
    )


@task(cache_policy=NO_CACHE)
def drop_pairs(engine: Engine, cycle_id: int, names: list[str], round_no: int) -> int:
    with engine.begin() as conn:
        ids = store_io.resolve_drops(conn, cycle_id, names, round_no)
        store_io.drop(conn, ids, SystemClock().now())
    return len(ids)


@task(cache_policy=NO_CACHE)
def approve_matches(engine: Engine, spec: ProgramSpec, cycle_id: int, round_no: int) -> int:
    with engine.begin() as conn:
        now = SystemClock().now()
        ids = store_io.approve(conn, spec.program.id, cycle_id, now, round_no)
        reviews.decide_review(conn, cycle_id, "proposal", now, round_no)
        repo.set_cycle_status(conn, cycle_id, "active")
    return len(ids)


@task(cache_policy=NO_CACHE)
def queue_introductions(
    engine: Engine, spec: ProgramSpec, cycle_id: int, proposal: Proposal
) -> int:
    mail = mail_runtime(spec, with_smtp=False)
    queued, waiting = handover.introduce(
        engine, spec, mail, cycle_id, proposal.result, proposal.match_ids, SystemClock()
    )
    get_run_logger().info("queued %d introductions and %d waitlist mails", queued, waiting)
    return queued


@task(cache_policy=NO_CACHE)
def export_matches(engine: Engine, spec: ProgramSpec, proposal: Proposal) -> int:
    """The organizer's CSV (names and e-mails stay in this file; the task returns a count)."""
    rows = handover.export_rows(
        engine, proposal.result, proposal.match_ids, language=spec.program.language
    )
    handover.export_csv(rows, spec.program.id, spec.cycle.label)
    return len(rows) - 1


@task(retries=3, retry_delay_seconds=[10, 60, 300], cache_policy=NO_CACHE)
def export_sheet(engine: Engine, spec: ProgramSpec, proposal: Proposal, client: Any = None) -> None:
    """A "Matches" worksheet beside the form answers, when the intake reads a Google Sheet."""
    source = spec.intake.source
    assert isinstance(source, GoogleSheetSource)
    client = client or sheet_client(spec)
    rows = handover.export_rows(
        engine, proposal.result, proposal.match_ids, language=spec.program.language
    )
    handover.export_sheet(client, source.key, rows)


def wait_for_approval(
    spec_path: str, spec: ProgramSpec, proposal: Proposal, timeout: int, poll: int = 10
) -> MatchApproval:
    """Pause until the organizer approves, drops pairs or holds members back; say how to answer.

    An answer with nothing chosen (the form's defaults, sent when Submit is pressed as shown) is
    no decision: the run logs so and keeps waiting. Each wait's key names the proposal's review,
    so an answer only ever comes back to the proposal it was given to.
    """
    what = f"approval of {len(proposal.result.matches)} proposed matches of {spec.program.id}"
    review = review_url(spec, "proposal")
    form = MatchApproval.with_initial_data(
        description=approval_form_text(proposal) + review_note(review)
    )
    for attempt in itertools.count(1):
        key = pause_key("approval", proposal.review, attempt)
        if not answered(key):  # a run started again after its answer does not announce again
            announce(what, APPROVE_COMMAND, spec_path, spec.program.id, spec.cycle.label, review)
        decision = wait_for_answer(form, key=key, timeout=timeout, poll=poll)
        if decision.approve_all or decision.drop_pairs or decision.hold_back:
            return decision
        get_run_logger().warning(
            "matching: the answer chose nothing (approve_all not ticked, no drop_pairs, no "
            "hold_back): nothing is approved, still waiting for a decision"
        )
    raise AssertionError("unreachable")


def approval_form_text(proposal: Proposal) -> str:
    """The form's description: the summary, how to answer, and the match ids that can be dropped."""
    rows = "\n".join(
        f"| `{proposal.match_ids.get(r['match'], r['match'])}` | {r['members']} | {r['score']} |"
        for r in proposal.result.table_rows()
    )
    return (
        report.summary_markdown(proposal.result, "Approve the matches")
        + "\n\nTick `approve_all` to approve the proposal as shown, or put match ids into "
        "`drop_pairs` (those pairs are dropped and the rest is solved again) or member ids into "
        "`hold_back`. Submitting with nothing chosen keeps this run waiting; to end it without "
        "approving anything, cancel the run.\n\n| match id | members | score |\n|---|---|---|\n"
        + rows
    )


@flow(name="matching", **labelled("matching"))
def matching(
    spec_path: str,
    round_no: int = 1,
    approval_timeout_seconds: int = 7 * 86400,
    approval_poll_seconds: int = 10,
) -> dict:
    """Propose matches for the spec's current cycle; with organizer approval, wait for it.

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
        round_no: The matching round (rotational programs match several rounds per cycle).
        approval_timeout_seconds: How long the proposal waits for the organizer's answer.
        approval_poll_seconds: How often a run that keeps its process (no deployment) looks
            for the answer; a suspended run is started again by the worker instead.
    """
    spec = load_spec(spec_path)
    require_runtime(spec)  # an unset {env: NAME} fails here, not halfway through
    engine = open_store()
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
    if cycle is None:
        raise MatchingError(f"no cycle {spec.cycle.label} in the store: run the intake first")
    run_id = str(current_run.id or "")
    # started again after a suspension: the proposal the organizer was shown, not a new one
    proposal = shown_proposal(engine, cycle.id, round_no, run_id)
    if proposal is None:
        proposal = propose_matches(engine, spec, cycle.id, round_no, [], run_id)
        if proposal is None:
            return {"approved": 0, "unmatched": 0}
        publish_proposal(proposal, spec.program.id, review_url(spec, "proposal"))
    while spec.matching.approval == "organizer":
        decision = wait_for_approval(
            spec_path, spec, proposal, approval_timeout_seconds, approval_poll_seconds
        )
        if not (decision.drop_pairs or decision.hold_back):
            break  # approve_all: wait_for_approval returns no answer that decides nothing
        drop_pairs(engine, cycle.id, decision.drop_pairs, round_no)
        held = [*proposal.held, *decision.hold_back]
        proposal = propose_matches(engine, spec, cycle.id, round_no, held, run_id)
        if proposal is None:
            return {"approved": 0, "unmatched": 0}
        publish_proposal(proposal, spec.program.id, review_url(spec, "proposal"))
    approved = approve_matches(engine, spec, cycle.id, round_no)
    queue_introductions(engine, spec, cycle.id, proposal)
    export_matches(engine, spec, proposal)
    if isinstance(spec.intake.source, GoogleSheetSource):
        export_sheet(engine, spec, proposal)
    deliver_mail(engine, mail_settings(spec))
    return {"approved": approved, "unmatched": len(proposal.result.unmatched)}
