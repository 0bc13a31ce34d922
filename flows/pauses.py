"""Pauses that wait for the organizer: tag the run so the CLI finds it, and say how to answer it."""

from __future__ import annotations

import logging
import shlex
from typing import Any

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import get_run_context
from prefect.settings import PREFECT_API_URL
from prefect.utilities.urls import url_for

# The CLI shows this logger's lines in the terminal; a worker's run shows the run logger's copy.
NOTICE_LOGGER = "mentorflow.pauses"


def run_tags(program_id: str, cycle_label: str) -> list[str]:
    """The tags by which `mentorflow screen` and `approve` find this program's paused runs."""
    return [f"program:{program_id}", f"cycle:{cycle_label}"]


def waiting_run(program_id: str, cycle_label: str) -> Any | None:
    """Another run of this flow for the same program and cycle that waits for the organizer."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    context = get_run_context()
    run, flow_name = context.flow_run, context.flow.name  # type: ignore[union-attr]
    paused = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
        tags=FlowRunFilterTags(all_=run_tags(program_id, cycle_label)),
    )
    with get_client(sync_client=True) as client:
        found = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])), flow_run_filter=paused
        )
    return next((r for r in found if run is None or r.id != run.id), None)


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
    text = notice(what, command.format(spec=shlex.quote(spec_path)), run.id, review)
    get_run_logger().info(text)
    notices = logging.getLogger(NOTICE_LOGGER)
    # Prefect's logging setup (dictConfig) disables loggers that existed before it ran, so a
    # second flow in the same process would silence the notice: it must always reach the CLI.
    notices.disabled = False
    notices.info(text)


def notice(what: str, command: str, run_id: Any, review: str | None = None) -> str:
    """The lines an organizer reads: what waits, where to answer it, and the command."""
    head = f"Waiting for the organizer: {what} (flow run {run_id})."
    if review:  # an address with the program id only: names stay behind the sign-in
        head += f"\n  Review with names (organizer sign-in): {review}"
    if PREFECT_API_URL.value():
        address = url_for("flow-run", obj_id=run_id) or "the Prefect UI"
        return f"{head}\n  Answer in the Prefect UI: {address}\n  or in a terminal: {command}"
    # Without PREFECT_API_URL this process runs its own temporary Prefect server: no UI, and
    # gone when the process ends. Another process with the same PREFECT_HOME shares its
    # database, so the command answers the run from a second terminal.
    return (
        f"{head}\n  No Prefect server is set (PREFECT_API_URL), so this run has no UI and ends"
        " with this command: keep it running and answer from another terminal (same"
        f" PREFECT_HOME):\n  {command}\n  For the Prefect UI next time, start `prefect server"
        " start` and set PREFECT_API_URL before running."
    )
