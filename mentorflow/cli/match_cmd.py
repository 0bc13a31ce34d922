"""`mentorflow match`, `approve` and `rematch`: run or try matching, answer a paused approval."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mentorflow.cli._flows import run_flow_quietly
from mentorflow.errors import MentorflowError

if TYPE_CHECKING:
    from mentorflow.spec import ProgramSpec

SpecArgument = typer.Argument(
    ..., exists=True, dir_okay=False, readable=True, help="The program spec (YAML)."
)


def register(app: typer.Typer) -> None:
    app.command("match")(match)
    app.command("approve")(approve)
    app.command("rematch")(rematch)


def _fail(error: Exception) -> None:
    typer.secho(str(error), err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def _weights(path: Path | None) -> dict[str, float]:
    if path is None:
        return {}
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise typer.BadParameter("the weights file maps criterion names or fields to numbers")
    return {str(k): float(v) for k, v in data.items()}


def match(
    spec: Path = SpecArgument,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Solve and compare; save and send nothing.")
    ] = False,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights", exists=True, dir_okay=False, help="YAML/JSON: criterion -> weight."
        ),
    ] = None,
    round_no: Annotated[int, typer.Option("--round", help="Round (rotational programs).")] = 1,
) -> None:
    """Match the enrolled members of the current cycle (the matching flow), or try it out."""
    try:
        if dry_run:
            typer.echo(what_if(spec, _weights(weights), round_no))
            return
        if weights:
            raise typer.BadParameter("--weights only works with --dry-run; change the spec instead")
        outcome = run_flow_quietly(spec, lambda: _run_matching(spec, round_no))
        typer.echo(", ".join(f"{k}: {v}" for k, v in outcome.items()))
    except (MentorflowError, KeyError) as error:
        _fail(error)


def _run_matching(spec: Path, round_no: int) -> dict[str, Any]:
    from flows.matching import matching

    return matching(str(spec), round_no)


def what_if(spec_path: Path, weights: dict[str, float], round_no: int = 1) -> str:
    """Solve without saving or sending; the summary and the change against the saved result."""
    from mentorflow.matching import build_pool, report, solve, store_io
    from mentorflow.matching.settings import settings_from_spec
    from mentorflow.spec import load_spec
    from mentorflow.store import repo
    from mentorflow.store.db import open_store

    spec = load_spec(spec_path)
    settings = settings_from_spec(spec)
    if weights:
        settings = settings.with_weights(weights)
    engine = open_store()
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        if cycle is None:
            raise MentorflowError(f"no cycle {spec.cycle.label} in the store: run the intake first")
        found = store_io.load_pool_input(conn, spec.program.id, cycle.id, round_no)
        saved = store_io.last_saved(conn, cycle.id, round_no)
    pool = build_pool(found.records, settings, week_of=spec.cycle.start)
    result = solve(pool, settings, earlier_pairs=found.earlier_pairs, round_no=round_no)
    head = report.summary_markdown(result, "What-if (nothing saved or sent)")
    full = f"{head}\n\nCompared with the last saved result:\n{report.compare(result, saved)}\n"
    path = _what_if_file(spec.program.id, spec.cycle.label, round_no)
    path.write_text(full, encoding="utf-8")
    short = report.compare(result, saved, most=WHAT_IF_SHOWN)
    return f"{head}\n\nCompared with the last saved result:\n{short}\nFull comparison: {path}"


WHAT_IF_SHOWN = 10  # changed pairs the terminal lists; the file has all of them


def _what_if_file(program_id: str, cycle_label: str, round_no: int) -> Path:
    from mentorflow.paths import home

    folder = home() / "reports" / program_id / cycle_label
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"what-if-round-{round_no}.md"


def approve(
    spec: Path = SpecArgument,
    approve_all: Annotated[
        bool, typer.Option("--all", help="Approve the proposal as shown.")
    ] = False,
    drop: Annotated[
        list[str] | None, typer.Option("--drop", help="Match id or mentorId+menteeId (repeat).")
    ] = None,
    hold_back: Annotated[
        list[str] | None, typer.Option("--hold-back", help="Member id to keep out (repeat).")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run", help="The flow run to answer, when two wait.")
    ] = None,
) -> None:
    """Answer the matching run of this spec's program and cycle that waits for approval.

    Exit 0 when answered, 1 when no run of this program and cycle waits or a --drop names no
    proposed pair (then nothing is answered).
    """
    from mentorflow.spec import load_spec

    if not (approve_all or drop or hold_back):
        raise typer.BadParameter("say --all, --drop MATCH_ID... or --hold-back MEMBER_ID...")
    try:
        typer.echo(
            answer_approval(load_spec(spec), approve_all, drop or [], hold_back or [], run_id)
        )
    except MentorflowError as error:
        _fail(error)


def answer_approval(
    spec: ProgramSpec,
    approve_all: bool,
    drop: list[str],
    hold_back: list[str],
    run_id: str | None = None,
) -> str:
    """Resume the paused matching run of the spec's cycle with this decision; what was said.

    `mentorflow approve` and the organizer's proposal page both answer through here.
    Raises MentorflowError (nothing answered) when no run waits or a drop names no pair.
    """
    from mentorflow.cli._pauses import paused_run, resume

    run = paused_run("matching", spec.program.id, spec.cycle.label, run_id)
    _check_drops(spec, drop, int(run.parameters.get("round_no", 1)))
    answer = {"approve_all": approve_all, "drop_pairs": drop, "hold_back": hold_back}
    resume(run, answer)
    return f"answered flow run {run.id}: {answer}"


def _check_drops(spec: ProgramSpec, names: list[str], round_no: int) -> None:
    """Refuse, before answering, drops that name no proposed pair (the run would fail on them)."""
    from mentorflow.matching import store_io
    from mentorflow.store import repo
    from mentorflow.store.db import open_store

    if not names:
        return
    with open_store().connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        assert cycle is not None  # a matching run of this cycle waits, so the cycle is stored
        store_io.resolve_drops(conn, cycle.id, names, round_no)


def rematch(
    spec: Path = SpecArgument,
    match_id: str = typer.Argument(..., help="The match to end (id from the export)."),
    by: Annotated[
        str, typer.Option("--by", help="Who asked: 'organizer' or a member id.")
    ] = "organizer",
) -> None:
    """End a pair without fault; the next `mentorflow match` pairs its members again."""
    from mentorflow.clock import SystemClock
    from mentorflow.matching import store_io
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    try:
        program = load_spec(spec).program.id
        with open_store().begin() as conn:
            people = store_io.end_match(conn, program, match_id, by, SystemClock().now())
    except MentorflowError as error:
        _fail(error)
        return
    typer.echo(f"ended {match_id}; {', '.join(people)} will be matched again on the next run")
