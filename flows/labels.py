"""Every flow run, subflows included, named and tagged by program, stage and cycle; a failed
top-level run queues a mail to the program's organizers.

`@flow(name="intake", **labelled("intake"))` gives the run a name such as
`demo-mentoring/intake/2027-spring` and the tags `program:...`, `cycle:...` and `stage:...`, so
the Prefect UI lists and filters a program's runs by what they are. Both come from the spec the
run was given; a spec that does not load leaves the stage's name alone (the flow reports why).
The failure mail (`mentorflow/mail/alerts.py`) goes out with the next delivery run; a failed
subflow is reported once, by the run that started it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run as current_run
from prefect.settings import PREFECT_API_URL
from prefect.utilities.urls import url_for

from flows.pauses import run_tags, stage_of
from mentorflow.clock import SystemClock
from mentorflow.errors import MentorflowError
from mentorflow.mail.alerts import RunFailure, queue_run_failure, short_detail
from mentorflow.spec import load_spec
from mentorflow.spec.model import ProgramSpec


def labelled(stage: str) -> dict[str, Any]:
    """Keyword arguments for `@flow`: the run's name and an on-running hook that tags it."""
    alert = _alerter(stage)
    return {
        "flow_run_name": _namer(stage),
        "on_running": [_tagger(stage)],
        "on_failure": [alert],
        "on_crashed": [alert],
    }


def run_label(spec: ProgramSpec, stage: str) -> str:
    return f"{spec.program.id}/{stage}/{spec.cycle.label}"


def stage_tags(spec: ProgramSpec, stage: str) -> list[str]:
    return [*run_tags(spec.program.id, spec.cycle.label), f"stage:{stage}"]


def _spec_of(parameters: dict[str, Any]) -> ProgramSpec | None:
    try:
        return load_spec(str(parameters["spec_path"]))
    except (KeyError, OSError, MentorflowError):
        return None


def _namer(stage: str) -> Callable[[], str]:
    def name() -> str:
        spec = _spec_of(current_run.parameters)
        return stage if spec is None else run_label(spec, stage)

    return name


def _tagger(stage: str) -> Callable[..., None]:
    def tag(flow: Any, run: Any, state: Any) -> None:
        spec = _spec_of(dict(run.parameters))
        if spec is None:
            return
        with get_client(sync_client=True) as client:
            client.update_flow_run(run.id, tags=sorted({*run.tags, *stage_tags(spec, stage)}))

    return tag


def _alerter(stage: str) -> Callable[..., None]:
    def alert(flow: Any, run: Any, state: Any) -> None:
        spec = _spec_of(dict(run.parameters))
        if spec is None or run.parent_task_run_id is not None:
            return  # no organizers to tell, or the parent run reports it
        try:
            _queue_alert(spec, stage, run, state)
        except Exception as error:  # a hook must not hide the failure it reports
            get_run_logger().warning("could not queue the failure mail: %s", type(error).__name__)

    return alert


def _queue_alert(spec: ProgramSpec, stage: str, run: Any, state: Any) -> None:
    from flows.deliver import mail_settings  # deliver's flow is labelled too: import late
    from mentorflow.store.db import open_store

    queue_run_failure(open_store(), mail_settings(spec), _failure(run, state, stage), SystemClock())


def failed_runs(spec: ProgramSpec, since: datetime) -> list[RunFailure]:
    """This program's and cycle's top-level runs that failed or crashed since `since`.

    For the tick's sweep: a run the server fails (a suspended run past its timeout: no process
    is left to run the hook) gets its mail there. The outbox key is the run id, as for the hook,
    so a run the hook reported is never mailed twice.
    """
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentTaskRunId,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    broken = FlowRunFilter(
        tags=FlowRunFilterTags(all_=run_tags(spec.program.id, spec.cycle.label)),
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])
        ),
        parent_task_run_id=FlowRunFilterParentTaskRunId(is_null_=True),
    )
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=broken)
    return [
        _failure(run, run.state)
        for run in runs
        if run.state is not None and run.state.timestamp >= since
    ]


def _failure(run: Any, state: Any, stage: str | None = None) -> RunFailure:
    url = url_for("flow-run", obj_id=run.id) if PREFECT_API_URL.value() else None
    return RunFailure(
        stage or stage_of(run),
        run.name,
        str(run.id),
        state.name,
        short_detail(state.message),
        url,
    )
