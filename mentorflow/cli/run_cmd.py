"""`mentorflow run <stage> SPEC`: run one stage's Prefect flow locally, in this process.

Each stage is one small command on the `run` sub-app; add the next one beside `intake`. A stage
that has an everyday command of its own (`match`, `send`, `report`) is that command under the
stage's name, a documented alias (docs/cli.md), never a second implementation.
Prefect is imported inside the command bodies, so `mentorflow --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mentorflow.cli import mail_cmd, match_cmd, report_cmd
from mentorflow.cli._aliases import alias_help

run_app = typer.Typer(
    name="run",
    help="Run one stage of a program locally (most as a Prefect flow; aliases say so).",
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
    if counts.get("alumni_pending_consent"):
        typer.echo(
            f"  alumni who said yes last cycle, waiting for their sign-up (consent): "
            f"{counts['alumni_pending_consent']}"
        )
    _echo_quarantine(spec)


def _intake(spec: Path) -> dict[str, int]:
    from flows.intake import intake

    return intake(str(spec))


def _echo_quarantine(spec: Path) -> None:
    """The quarantine list of the run that just ended, read back from the store's event log."""
    from mentorflow.intake.service import latest_report
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    program = load_spec(spec)
    engine = open_store()
    try:
        with engine.connect() as conn:
            found = latest_report(conn, program.program.id, program.cycle.label)
    finally:
        engine.dispose()
    rows = (found or {}).get("quarantine", [])
    if rows:
        typer.echo(f"quarantined rows ({len(rows)}; fix them in the form's sheet, then run again):")
    for row in rows:
        typer.echo(f"  sheet row {row['row']}: " + "; ".join(row["reasons"]))


# Stages with an everyday command of their own are that command under the stage's name: one
# action, one implementation, the same options and output (docs/cli.md lists the aliases).
run_app.command("matching", help=alias_help("match"))(match_cmd.match)
run_app.command("mail", help=alias_help("send"))(mail_cmd.send)


@run_app.command("tick")
def run_tick(
    spec: Path = SpecArgument,
    as_of: str = typer.Option(
        None, "--as-of", help="The moment to run, ISO (2027-03-15T08:00, program time zone)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List and render what would go out; send and record nothing."
    ),
) -> None:
    """The engagement tick: milestone mails, check-ins, nudges, digest, due at that moment."""
    from mentorflow.cli._flows import run_flow_quietly
    from mentorflow.cli.tick_cmd import print_tick

    counts = run_flow_quietly(spec, lambda: _tick(spec, as_of, dry_run))
    print_tick(counts, dry_run)


def _tick(spec: Path, as_of: str | None, dry_run: bool) -> dict[str, Any]:
    from flows.tick import tick

    return tick(str(spec), as_of=as_of, dry_run=dry_run)


@run_app.command("closure")
def run_closure(
    spec: Path = SpecArgument,
    as_of: str = typer.Option(
        None, "--as-of", help="The moment to close at, ISO (program time zone); default now."
    ),
) -> None:
    """Close the cycle (on or after its last day): closure mails, certificates, alumni."""
    from mentorflow.cli._flows import run_flow_quietly

    counts = run_flow_quietly(spec, lambda: _closure(spec, as_of))
    if counts.get("not_due"):
        typer.echo(f"closure: nothing done: {counts['not_due']}")
        return
    typer.echo(
        "closure: {pairs_ended} pairs ended, {closure_mails} closure mails queued, "
        "{certificates} certificates made, {alumni_invited} alumni invited, "
        "{exit_links} exit survey links carried, {skipped} skipped".format(**counts)
    )
    for name, value in counts.items():
        if name.startswith("skipped_"):
            typer.echo(f"  skipped ({name[8:]}): {value}")
    if counts.get("already_closed"):
        typer.echo("  (the cycle was closed before; nothing is sent twice)")


def _closure(spec: Path, as_of: str | None) -> dict[str, Any]:
    from flows.closure import closure

    return closure(str(spec), as_of=as_of)


@run_app.command("surveys")
def run_surveys(spec: Path = SpecArgument) -> None:
    """Read the Google Form surveys' responses: store valid answers, quarantine the rest."""
    from mentorflow.cli._flows import run_flow_quietly

    found = run_flow_quietly(spec, lambda: _stage("flows.surveys", "read_survey_forms", spec))
    for survey, counts in found.items():
        typer.echo(f"survey {survey}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if not found:
        typer.echo("surveys: no Google Form survey in this spec (own-page answers need no run)")


run_app.command("retrospective", help=alias_help("report"))(report_cmd.report)


@run_app.command("cycle")
def run_cycle(spec: Path = SpecArgument) -> None:
    """Every stage built so far, in order: intake, matching with introductions, mail."""
    from mentorflow.cli._flows import run_flow_quietly

    result = run_flow_quietly(spec, lambda: _stage("flows.cycle", "run_cycle", spec))
    for stage, counts in result.items():
        typer.echo(f"{stage}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if stage == "intake":
            _echo_quarantine(spec)


def _stage(module: str, name: str, spec: Path) -> Any:
    from importlib import import_module

    return getattr(import_module(module), name)(str(spec))
