"""Finding the paused flow run of one program and cycle, to answer it from the terminal."""

from __future__ import annotations

from typing import Any

from mentorflow.errors import MentorflowError


def paused_run(flow_name: str, program_id: str, cycle_label: str, run_id: str | None) -> Any:
    """The one paused `flow_name` run tagged with this program and cycle (or the run `run_id`).

    Runs of other programs or cycles are never returned; two waiting runs of the same one ask
    for `--run`. Raises MentorflowError when none waits.
    """
    from flows.pauses import run_tags

    tags = run_tags(program_id, cycle_label)
    runs = _paused(flow_name, tags)
    where = f"{program_id} {cycle_label}"
    if run_id is not None:
        runs = [r for r in runs if str(r.id) == run_id]
        if not runs:
            raise MentorflowError(f"flow run {run_id} is not a paused {flow_name} run of {where}")
    if not runs:
        raise MentorflowError(f"no {flow_name} run of {where} is waiting for an answer")
    if len(runs) > 1:
        ids = ", ".join(str(r.id) for r in runs)
        raise MentorflowError(
            f"{len(runs)} {flow_name} runs of {where} wait ({ids}): pick one with --run"
        )
    return runs[0]


def _paused(flow_name: str, tags: list[str]) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    waiting = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
        tags=FlowRunFilterTags(all_=tags),
    )
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            flow_run_filter=waiting,
            sort=FlowRunSort.START_TIME_DESC,
        )


def resume(run: Any, answer: dict[str, Any]) -> None:
    """Answer the paused run's form with `answer`, as the Prefect UI would."""
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(run.id, run_input=answer)
