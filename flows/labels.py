"""Every flow run, subflows included, named and tagged by program, stage and cycle.

`@flow(name="intake", **labelled("intake"))` gives the run a name such as
`demo-mentoring/intake/2027-spring` and the tags `program:...`, `cycle:...` and `stage:...`, so
the Prefect UI lists and filters a program's runs by what they are. Both come from the spec the
run was given; a spec that does not load leaves the stage's name alone (the flow reports why).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect.client.orchestration import get_client
from prefect.runtime import flow_run as current_run

from flows.pauses import run_tags
from mentorflow.errors import MentorflowError
from mentorflow.spec import load_spec
from mentorflow.spec.model import ProgramSpec


def labelled(stage: str) -> dict[str, Any]:
    """Keyword arguments for `@flow`: the run's name and an on-running hook that tags it."""
    return {"flow_run_name": _namer(stage), "on_running": [_tagger(stage)]}


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
