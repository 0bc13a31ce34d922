"""The `mentorflow` command: each command lives in its own module and is registered here.

Commands import their heavy dependencies (Prefect above all) inside the function body, so that
`mentorflow validate` answers in well under a second.
"""

from __future__ import annotations

import os

import typer

from mentorflow import __version__

app = typer.Typer(
    name="mentorflow",
    help="Guided mentoring programs declared in YAML and run as Prefect flows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mentorflow {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show Prefect's own INFO lines in the terminal as well."
    ),
) -> None:
    # Prefect reads its logging settings when a command first imports it, after this runs. Only
    # the terminal handler is raised to WARNING: run logs still reach a Prefect server's UI.
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    # A temporary Prefect server would report usage to Prefect (and print a traceback offline);
    # an organizer who wants that sets PREFECT_SERVER_ANALYTICS_ENABLED=true.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # https://no-color.org: any non-empty NO_COLOR turns colour off, even on a terminal.
    if os.environ.get("NO_COLOR"):
        ctx.color = False
    _bars_on_a_terminal(ctx)


def _bars_on_a_terminal(ctx: typer.Context) -> None:
    """Progress bars for the core's long work while this command runs, on a terminal only."""
    from mentorflow import progress
    from mentorflow.cli import _progress

    if _progress.wanted():
        previous = progress.install(_progress.RichReporter())
        ctx.call_on_close(lambda: progress.install(previous))


def _register() -> None:
    # Each module defines `register(app)`; the order here is the order in `--help`.
    from mentorflow.cli import commands

    for module in commands.MODULES:
        module.register(app)


_register()

if __name__ == "__main__":
    app()
