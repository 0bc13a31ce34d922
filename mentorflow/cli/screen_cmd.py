"""`mentorflow screen`: answer the intake run that waits for the organizer's screening."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mentorflow.cli._flows import fail
from mentorflow.errors import MentorflowError

if TYPE_CHECKING:
    from mentorflow.spec import ProgramSpec

SpecArgument = typer.Argument(
    ..., exists=True, dir_okay=False, readable=True, help="The program spec (YAML)."
)


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)


def screen(
    spec: Path = SpecArgument,
    approve: Annotated[
        list[str] | None, typer.Option("--approve", help="Member id to enrol (repeat).")
    ] = None,
    decline: Annotated[
        list[str] | None, typer.Option("--decline", help="Member id to decline (repeat).")
    ] = None,
    approve_all: Annotated[
        bool, typer.Option("--all", help="Approve everyone who waits (but those --decline'd).")
    ] = False,
    run_id: Annotated[
        str | None, typer.Option("--run", help="The flow run to answer, when two wait.")
    ] = None,
) -> None:
    """Approve or decline the applicants that this spec's intake run waits for (via Prefect).

    Exit 0 when answered, 1 when no run of this program and cycle waits or an id is not pending.
    """
    approve, decline = list(dict.fromkeys(approve or [])), list(dict.fromkeys(decline or []))
    if not (approve or decline or approve_all):
        raise typer.BadParameter("say --approve ID..., --decline ID... or --all")
    try:
        from mentorflow.spec import load_spec

        typer.echo(answer_screening(load_spec(spec), approve, decline, approve_all, run_id))
    except MentorflowError as error:
        fail(error)


def answer_screening(
    spec: ProgramSpec,
    approve: list[str],
    decline: list[str],
    approve_all: bool = False,
    run_id: str | None = None,
) -> str:
    """Resume the paused intake run of the spec's cycle with this screening; what was said.

    `mentorflow screen` and the organizer's applicants page both answer through here.
    Raises MentorflowError (nothing answered) when no run waits or an id is not pending.
    """
    from mentorflow.cli._pauses import paused_run, resume
    from mentorflow.intake import screening
    from mentorflow.store.db import open_store

    program, cycle = spec.program.id, spec.cycle.label
    run = paused_run("intake", program, cycle, run_id)
    pending = {a.member_id for a in screening.waiting(open_store(), program, cycle)}
    unknown = [m for m in [*approve, *decline] if m not in pending]
    if unknown:
        raise MentorflowError(
            f"not waiting for screening in {program} {cycle}: {', '.join(unknown)}"
            f" ({len(pending)} applicant(s) wait; nothing was answered)"
        )
    if set(approve) & set(decline):
        raise MentorflowError(
            f"both approved and declined: {', '.join(set(approve) & set(decline))}"
        )
    resume(run, {"approve": approve, "decline": decline, "approve_all": approve_all})
    enrolled = len(pending - set(decline)) if approve_all else len(approve)
    return (
        f"answered the screening of {program} {cycle} (flow run {run.id}): "
        f"{enrolled} approved, {len(decline)} declined, {len(pending) - enrolled - len(decline)}"
        " left waiting for the next run"
    )
