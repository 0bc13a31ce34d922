"""`mentorflow demo`: one whole cycle on the shipped German one-to-one example, mails as .eml."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer

from mentorflow.errors import MentorflowError
from mentorflow.paths import PROGRAM_SPECS_DIR

DEMO_SPEC = PROGRAM_SPECS_DIR / "one_to_one.yaml"
_MARKER = ".mentorflow-demo"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


HomeOption = Annotated[Path, typer.Option(help="Working folder for the demo's database and mails.")]
KeepOption = Annotated[
    bool, typer.Option("--keep", help="Keep the previous demo's store: a rerun sends nothing new.")
]


def demo(home: HomeOption = Path(".mentorflow/demo"), keep: KeepOption = False) -> None:
    """Run a cycle on the embedded example: intake, matching, 90 days of engagement, surveys,
    closure with certificates and alumni answers."""
    from mentorflow.cli._flows import fail, run_flow_quietly

    home = home.resolve()
    try:
        _prepare(home, keep)
    except MentorflowError as error:
        fail(error)
    os.environ["MENTORFLOW_HOME"] = str(home)
    os.environ.pop("MENTORFLOW_DB_URL", None)  # the demo never touches a configured database
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    typer.echo(f"mentorflow demo: {DEMO_SPEC}")
    typer.echo(f"working folder: {home}  (starting a local Prefect engine, a few seconds)")
    result = run_flow_quietly(DEMO_SPEC, _run_cycle)
    _print_summary(result, home)
    from mentorflow.cli.tick_cmd import walk_demo_schedule

    walk_demo_schedule(DEMO_SPEC, home)
    _answer_surveys()
    _closure()
    _retrospective()
    _where_to_look(home)


def _where_to_look(home: Path) -> None:
    """The last lines: where the demo's outcomes are, and how to see them in a browser."""
    spec = DEMO_SPEC
    typer.echo("where to look:")
    typer.echo(f"  mails:        {home / 'outbox'} (.eml files; `mentorflow outbox {spec}`)")
    typer.echo(f"  report:       {home / 'reports'}")
    typer.echo(
        f"  review pages: MENTORFLOW_HOME={home} mentorflow serve --spec {spec}, then open the"
        f" link `MENTORFLOW_HOME={home} mentorflow organizer-link {spec}` prints"
    )
    api = os.environ.get("PREFECT_API_URL", "")
    if api:
        typer.echo(
            f"  Prefect UI:   {api.removesuffix('/').removesuffix('/api')}/runs (tag program:...)"
        )
    else:
        typer.echo(
            "  Prefect UI:   this demo ran on a temporary Prefect server; to keep its runs and"
            " artifacts, start `prefect server start`, set PREFECT_API_URL, and run it again"
        )


def _closure() -> None:
    """The tick closed the cycle on its last day; simulated alumni answer on the real page."""
    from mentorflow.closure.demo import answer_alumni, closure_lines
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    spec, engine = load_spec(DEMO_SPEC), open_store()
    answer_alumni(engine, spec)
    for line in closure_lines(engine, spec):
        typer.echo(line)


def _answer_surveys() -> None:
    """Simulated members answer their survey mails through the real page's POST (issue 10)."""
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store
    from mentorflow.store.repo import get_cycle
    from mentorflow.surveys.demo import answer_surveys
    from mentorflow.surveys.results import rates

    spec, engine = load_spec(DEMO_SPEC), open_store()
    counts = answer_surveys(engine, spec)
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "invited")
    typer.echo(f"surveys: {counts['invited']} invitations; simulated members POSTed: {outcomes}")
    with engine.connect() as conn:
        cycle = get_cycle(conn, spec.program.id, spec.cycle.label)
        for rate in rates(conn, spec, cycle.id) if cycle else []:
            typer.echo(
                f"  {rate.survey_id}: {rate.answered} of {rate.invited} answered ({rate.rate:.0%})"
            )
    typer.echo(f"  results: mentorflow results {DEMO_SPEC}")


def _retrospective() -> None:
    """The cycle's retrospective and the next-cycle proposal (issue 11): where they are."""
    from datetime import UTC, datetime

    from mentorflow.cli.report_cmd import print_outcome
    from mentorflow.retrospective.run import run_retrospective
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    engine = open_store()
    try:
        print_outcome(run_retrospective(engine, load_spec(DEMO_SPEC), datetime.now(UTC)))
    finally:
        engine.dispose()
    typer.echo(f"  again: mentorflow report {DEMO_SPEC}")


def _prepare(home: Path, keep: bool) -> None:
    """Empty the demo's working folder, but only one the demo made: --home could name any folder."""
    marker = home / _MARKER
    if home.exists():
        if not home.is_dir() or (any(home.iterdir()) and not marker.is_file()):
            raise MentorflowError(
                f"{home} is not a folder the demo made; give --home an empty or new folder"
            )
        if not keep:
            shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by `mentorflow demo`; the next demo run empties this folder\n")


def _run_cycle() -> dict[str, dict]:
    from flows.cycle import run_cycle

    return run_cycle(str(DEMO_SPEC))


def _print_summary(result: dict[str, dict], home: Path) -> None:
    intake, matching, mail = result["intake"], result["matching"], result["mail"]
    typer.echo(
        "intake:   {rows_read} rows read: {accepted} accepted, {quarantined} quarantined, "
        "{not_consented} without consent, {duplicates} duplicates".format(**intake)
    )
    typer.echo(f"matching: {_matching_line(matching)}")
    typer.echo(f"mail:     {_mail_line(mail) or 'nothing left pending'}")
    mails = sorted((home / "outbox").rglob("*.eml"))
    typer.echo(f"{len(mails)} mails written as .eml files under {home / 'outbox'}")
    for path in mails[:3]:
        typer.echo(f"  {path.relative_to(home)}")
    typer.echo(f"organizer export: {home / 'exports'}")


def _matching_line(summary: dict) -> str:
    numbers = {key: value for key, value in summary.items() if isinstance(value, int | float)}
    return ", ".join(f"{key} {value}" for key, value in numbers.items())


def _mail_line(counts: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items() if value)
