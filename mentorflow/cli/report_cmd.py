"""`mentorflow report SPEC [--cycle LABEL]`: the cycle retrospective, where it is, its headline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    spec: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The program spec (YAML).")
    ],
    cycle: Annotated[
        str | None,
        typer.Option("--cycle", help="A cycle label (its start date); default: the spec's."),
    ] = None,
) -> None:
    """Compute the retrospective: figures, HTML and Markdown report, next-cycle proposal.

    Contributions counted from a Google Sheet are read first by the retrospective flow's own
    task (`flows.retrospective.read_contributions`: credentials, retries on 429 and 5xx).
    """
    from datetime import UTC, datetime

    from mentorflow.cli._flows import fail, run_flow_quietly
    from mentorflow.errors import MentorflowError
    from mentorflow.retrospective.run import run_retrospective
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    try:
        program = load_spec(spec)
        given = program.retrospective.contributions
        rows = None
        if given is not None and given.sheet is not None:
            rows = run_flow_quietly(spec, lambda: _read_sheet(spec))
        engine = open_store()
        try:
            outcome = run_retrospective(engine, program, datetime.now(UTC), cycle, rows)
        finally:
            engine.dispose()
    except MentorflowError as error:
        fail(error)
    print_outcome(outcome)


def _read_sheet(spec: Path) -> Any:
    from flows.retrospective import read_contributions

    return read_contributions(str(spec))


def print_outcome(outcome) -> None:  # type: ignore[no-untyped-def]
    from mentorflow.retrospective.run import headline_lines

    typer.echo(f"retrospective of cycle {outcome.cycle}:")
    for line in headline_lines(outcome):
        typer.echo(f"  {line}")
    typer.echo(f"report:   {outcome.report_html}")
    typer.echo(f"          {outcome.report_md}")
    if not outcome.proposal:
        typer.echo("proposal: only for the spec's own cycle (this report is of an earlier one)")
        return
    typer.echo(f"proposal: {outcome.proposal[0]}  (diff: {outcome.proposal[1].name})")
    for note in outcome.proposal_notes:
        typer.echo(f"  - {note}")
