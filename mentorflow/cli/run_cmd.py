"""`mentorflow run <stage> SPEC`: run one stage's Prefect flow locally, in this process.

Each stage is one small command on the `run` sub-app; add the next one beside `intake`.
Prefect is imported inside the command bodies, so `mentorflow --help` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from mentorflow.errors import MentorflowError

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


class _NoTracebackForOurErrors(logging.Filter):
    """Our errors say what to fix in their message; Prefect need not print a traceback for them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], MentorflowError):
            record.exc_info, record.exc_text = None, None
        return True


def _fail(error: MentorflowError) -> None:
    typer.secho(str(error), err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


@run_app.command("intake")
def run_intake(spec: Path = SpecArgument) -> None:
    """Read the sign-up form, enrol new rows, quarantine bad ones, queue and send intake mails."""
    from mentorflow.spec import load_spec

    try:
        load_spec(spec)  # a bad spec stops here, before Prefect starts and logs a traceback
        from flows.intake import intake

        logging.getLogger("prefect.flow_runs").addFilter(_NoTracebackForOurErrors())
        counts = intake(str(spec))
    except MentorflowError as error:
        _fail(error)
        return
    typer.echo(
        "intake: {rows_read} rows read ({new_rows} new): {accepted} accepted, "
        "{quarantined} quarantined, {not_consented} not consented, "
        "{duplicates} duplicates".format(**counts)
    )
