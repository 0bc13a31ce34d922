"""`mentorflow validate` checks program specs; `mentorflow init` writes a starter spec."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class ModelChoice(StrEnum):
    one_to_one = "one_to_one"
    group = "group"
    peer = "peer"
    reverse = "reverse"
    rotational = "rotational"


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("init")(init)


def validate(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Program spec files to check.")
    ],
    runtime: Annotated[
        bool,
        typer.Option(
            "--runtime", help="Also check that the environment variables the spec uses are set."
        ),
    ] = False,
) -> None:
    """Check program specs and print every problem as file:line:col: $.path: message."""
    from mentorflow.spec import check_spec

    bad_files = 0
    for path in paths:
        problems = check_spec(path, runtime=runtime)
        for problem in problems:
            typer.echo(str(problem))
        if not problems:
            typer.echo(f"ok: {path}")
        bad_files += bool(problems)
    if bad_files:
        typer.echo(f"{bad_files} of {len(paths)} spec(s) have problems", err=True)
        raise typer.Exit(1)


SCHEMA_COPY = Path("schemas") / "program_spec.schema.json"


def _write_schema_copy(folder: Path) -> str:
    """Copy the schema into `folder`/schemas/ and return the modeline's path to it.

    A modeline into site-packages or a checkout breaks when the organizer's folder is committed,
    shared or moved; a copy beside the spec travels with it (and no network is needed).
    """
    from mentorflow.spec.schema import SCHEMA_PATH

    copy = folder / SCHEMA_COPY
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    if not copy.is_file() or copy.read_text(encoding="utf-8") != text:
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {copy} (the schema, for editor completion)")
    return SCHEMA_COPY.as_posix()


def _spec_file(name: str) -> Path:
    """NAME.yaml when NAME is a plain file name (`x_group` stays `x_group`), else the slug."""
    from mentorflow.spec.starter import slugify

    plain = re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", name) is not None
    return Path(f"{name if plain else slugify(name)}.yaml")


def _write_form(path: Path, model: str) -> str:
    """Write the starter form export (header row only) unless a file is already there."""
    from mentorflow.spec.starter import starter_form

    if path.exists():
        return f"kept {path} (it exists; its header must match intake.columns)"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(starter_form(model), encoding="utf-8")
    return f"wrote {path}: the form's header row, no answers yet"


def init(
    name: Annotated[
        str,
        typer.Argument(
            help="Program name; also the file name (NAME.yaml) unless --output. DIR/NAME writes"
            " into DIR/."
        ),
    ],
    model: Annotated[
        ModelChoice, typer.Option("--model", "-m", help="Mentoring model.")
    ] = ModelChoice.one_to_one,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write (default NAME.yaml).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing spec (never the form export).")
    ] = False,
) -> None:
    """Write a commented starter spec and an empty form export for it; the spec validates clean."""
    from mentorflow.spec.starter import default_start, form_path, slugify, starter_spec

    folder, name = Path(name).parent, Path(name).name  # `init dir/name` writes into dir/
    target = output or folder / _spec_file(name)
    if target.exists() and not force:
        typer.echo(f"{target} exists; choose another --output or add --force", err=True)
        raise typer.Exit(1)
    target.parent.mkdir(parents=True, exist_ok=True)
    schema = _write_schema_copy(target.parent)
    text = starter_spec(name, model.value, default_start(date.today()), schema, target.name)
    target.write_text(text, encoding="utf-8")
    form = target.parent / form_path(name)
    typer.echo(f"wrote {target} ({model.value}, program id {slugify(name)})")
    typer.echo(_write_form(form, model.value))
    typer.echo(
        f"next: fill the form export into {form} (same header row), "
        f"then mentorflow run intake {target}"
    )
    typer.echo(f"after each edit of the spec: mentorflow validate {target}")
