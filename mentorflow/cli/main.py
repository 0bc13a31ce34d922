"""The `mentorflow` command: each command lives in its own module and is registered here.

Commands import their heavy dependencies (Prefect above all) inside the function body, so that
`mentorflow validate` answers in well under a second.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="mentorflow",
    help="Guided mentoring programs declared in YAML and run as Prefect flows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Each module defines `register(app)`; the order here is the order in `--help`.
    from mentorflow.cli import commands

    for module in commands.MODULES:
        module.register(app)


_register()

if __name__ == "__main__":
    app()
