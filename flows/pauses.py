"""Pauses that wait for the organizer: tag the run so the CLI finds it, and say how to answer it.

A run with a deployment waits with `suspend_flow_run`: its process (and the worker's
`python -m prefect.engine`) ends, and once answered the worker runs the same flow run again from
the top; `suspend_flow_run` with the same key then returns the answer at once. A run without a
deployment (`mentorflow run`, tests, subflows of `cycle`) cannot be suspended and waits with
`pause_flow_run`, which keeps its process. Both are Prefect's PAUSED state type (a suspended run
is named "Suspended"), so `mentorflow screen`/`approve` and the organizer pages answer both alike.
What the pause showed is kept in the store (`mentorflow.store.reviews`), so the run started
again decides on exactly that.
"""

from __future__ import annotations

import logging
import shlex
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import get_run_context
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.settings import PREFECT_API_URL
from prefect.utilities.urls import url_for

from mentorflow.mail.alerts import UnansweredRun
from mentorflow.spec import ProgramSpec
from mentorflow.web.organizer_auth import review_url

# The CLI shows this logger's lines in the terminal; a worker's run shows the run logger's copy.
NOTICE_LOGGER = "mentorflow.pauses"
T = TypeVar("T", bound=RunInput)


def run_tags(program_id: str, cycle_label: str) -> list[str]:
    """The tags by which `mentorflow screen` and `approve` find this program's paused runs."""
    return [f"program:{program_id}", f"cycle:{cycle_label}"]


def stage_of(run: Any) -> str:
    """The stage a flow run's `stage:` tag names ("" for a run mentorflow did not label)."""
    return next((t.split(":", 1)[1] for t in run.tags if t.startswith("stage:")), "")


def waiting_runs(
    program_id: str, cycle_label: str, flow_name: str | None = None, resuming: bool = False
) -> list[Any]:
    """This program's and cycle's runs that wait for the organizer (paused or suspended).

    `resuming`: also suspended runs that were answered and wait for the worker to start them
    again ("Resuming", SCHEDULED): they still own their question.
    """
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateName,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    tags = FlowRunFilterTags(all_=run_tags(program_id, cycle_label))
    states = [FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))]
    if resuming:
        states.append(FlowRunFilterState(name=FlowRunFilterStateName(any_=["Resuming"])))
    flows = FlowFilter(name=FlowFilterName(any_=[flow_name])) if flow_name else None
    found: list[Any] = []
    with get_client(sync_client=True) as client:
        for state in states:
            found += client.read_flow_runs(
                flow_filter=flows, flow_run_filter=FlowRunFilter(state=state, tags=tags)
            )
    return found


def waiting_run(program_id: str, cycle_label: str) -> Any | None:
    """Another run of this flow for the same program and cycle that waits for the organizer."""
    context = get_run_context()
    run, flow_name = context.flow_run, context.flow.name  # type: ignore[union-attr]
    found = waiting_runs(program_id, cycle_label, flow_name, resuming=True)
    return next((r for r in found if run is None or r.id != run.id), None)


# What each stage's pause asks, the organizer page that shows it and the command that answers it
QUESTIONS = {
    "intake": (
        "screening",
        "applicants",
        "mentorflow screen {spec} --all  (or --approve ID... / --decline ID...)",
    ),
    "matching": (
        "approval",
        "proposal",
        "mentorflow approve {spec} --all  (or --drop MATCH_ID... / --hold-back ID...)",
    ),
}
SCREEN_COMMAND = QUESTIONS["intake"][2]
APPROVE_COMMAND = QUESTIONS["matching"][2]


def unanswered(spec: ProgramSpec) -> list[UnansweredRun]:
    """The spec's program and cycle runs that wait for the organizers now, ids only."""
    out = []
    for run in waiting_runs(spec.program.id, spec.cycle.label):
        stage = stage_of(run)
        if stage not in QUESTIONS or run.state is None:
            continue  # a pause mentorflow did not open: not ours to answer
        question, page, command = QUESTIONS[stage]
        details = run.state.state_details
        out.append(
            UnansweredRun(
                stage=stage,
                question=question,
                run_name=run.name,
                run_id=str(run.id),
                pause_key=str(details.pause_key or ""),
                since=run.state.timestamp,
                expires=details.pause_timeout,
                review_url=review_url(spec, page),
                command=command.format(spec=shlex.quote(str(spec.path))),
                run_url=url_for("flow-run", obj_id=run.id) if PREFECT_API_URL.value() else None,
            )
        )
    return out


def wait_for_answer(form: type[T], *, key: str, timeout: int, poll: int = 10) -> T:
    """The organizer's answer to `form`: suspended when the run has a deployment, else paused.

    `key` names this question for good: the run started again after a suspension gets the
    answer back from the pause with the same key, and an answer never reaches another key.
    """
    if suspends():
        return suspend_flow_run(wait_for_input=form, timeout=timeout, key=key)
    return pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=poll, key=key)


def suspends() -> bool:
    """Whether this run's waits suspend it: a top-level run of a deployment (Prefect refuses
    to suspend subflows and runs without one)."""
    run = get_run_context().flow_run  # type: ignore[union-attr]
    assert run is not None
    return run.deployment_id is not None and run.parent_task_run_id is None


def pause_key(question: str, review_id: str, attempt: int) -> str:
    """The key of one wait: the question, its review in the store, the how-manieth answer.

    Prefect keeps the answer under this key (lowercase letters, digits and dashes only).
    """
    return f"{question}-{review_id}-{attempt}".replace("_", "-").lower()


def answered(key: str) -> bool:
    """Whether this run's pause `key` has fired before (the run was started again after it)."""
    run = get_run_context().flow_run  # type: ignore[union-attr]
    assert run is not None
    with get_client(sync_client=True) as client:
        return key in (client.read_flow_run(run.id).empirical_policy.pause_keys or set())


def announce(
    what: str,
    command: str,
    spec_path: str,
    program_id: str,
    cycle_label: str,
    review: str | None = None,
) -> None:
    """Tag the current flow run with its program and cycle, then say what it waits for.

    `what` says what the organizer decides; `command` is the answering command with `{spec}`
    where the spec's path goes; `review` is the organizer page that shows it with names.
    """
    run = get_run_context().flow_run  # type: ignore[union-attr]
    assert run is not None
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(run.id).tags  # the context's copy misses later tags
        client.update_flow_run(run.id, tags=sorted({*current, *run_tags(program_id, cycle_label)}))
    answer = command.format(spec=shlex.quote(spec_path))
    text = notice(what, answer, run.id, review, suspended=suspends())
    get_run_logger().info(text)
    notices = logging.getLogger(NOTICE_LOGGER)
    # Prefect's logging setup (dictConfig) disables loggers that existed before it ran, so a
    # second flow in the same process would silence the notice: it must always reach the CLI.
    notices.disabled = False
    notices.info(text)


def notice(
    what: str, command: str, run_id: Any, review: str | None = None, suspended: bool = False
) -> str:
    """The lines an organizer reads: what waits, where to answer it, and the command."""
    head = f"Waiting for the organizer: {what} (flow run {run_id})."
    if review:  # an address with the program id only: names stay behind the sign-in
        head += f"\n  Review with names (organizer sign-in): {review}"
    if PREFECT_API_URL.value():
        address = url_for("flow-run", obj_id=run_id) or "the Prefect UI"
        how = (
            "Suspended while it waits: its process ends; once answered, the worker runs it again."
            if suspended
            else "Its process waits until answered (a run without a deployment, or a subflow,"
            " cannot be suspended)."
        )
        return (
            f"{head}\n  Answer in the Prefect UI: {address}\n  or in a terminal: {command}\n  {how}"
        )
    # Without PREFECT_API_URL this process runs its own temporary Prefect server: no UI, and
    # gone when the process ends. Another process with the same PREFECT_HOME shares its
    # database, so the command answers the run from a second terminal.
    return (
        f"{head}\n  No Prefect server is set (PREFECT_API_URL), so this run has no UI and ends"
        " with this command: keep it running and answer from another terminal (same"
        f" PREFECT_HOME):\n  {command}\n  For the Prefect UI next time, start `prefect server"
        " start` and set PREFECT_API_URL before running."
    )
