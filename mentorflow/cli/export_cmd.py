"""`mentorflow export --member ID SPEC`: one member's data as JSON (right of access, art. 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mentorflow.cli._flows import fail
from mentorflow.errors import MentorflowError

SpecArg = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, help="The program spec (YAML)."),
]


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    spec: SpecArg,
    member: Annotated[str, typer.Option(help="The member id (m_...) whose data to print.")],
) -> None:
    """Print everything stored about one member as JSON: rows, answers, pairs, mails, files."""
    from mentorflow.closure.protection import export_json
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    try:
        program = load_spec(spec)
        typer.echo(export_json(open_store(), program.program.id, member))
    except MentorflowError as error:
        fail(error)
