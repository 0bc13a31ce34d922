"""`mentorflow run <stage> SPEC`: run one stage's Prefect flow locally, in this process.

Each stage is one small command on the `run` sub-app; add the next one beside `intake`.
Prefect is imported inside the command bodies, so `mentorflow --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

run_app = typer.Typer(
    name="run",
    help="Run one stage of a program locally as a Prefect flow.",
    no_args_is_help=True,
)

SpecArgument = typer.Argument(
    ..., exists=True, dir_okay=False, readable=True, help="The program spec (YAML)."
)


def register(app: typer.Typer) -> None:
    app.add_typer(run_app, name="run")


@run_app.command("intake")
def run_intake(spec: Path = SpecArgument) -> None:
    """Read the sign-up form, enrol new rows, quarantine bad ones, queue and send intake mails."""
    from mentorflow.cli._flows import run_flow_quietly

    counts = run_flow_quietly(spec, lambda: _intake(spec))
    typer.echo(
        "intake: {rows_read} rows read ({new_rows} new): {accepted} accepted, "
        "{quarantined} quarantined, {not_consented} not consented, "
        "{duplicates} duplicates".format(**counts)
    )


def _intake(spec: Path) -> dict[str, int]:
    from flows.intake import intake

    return intake(str(spec))
