"""`mentorflow results SPEC [--survey ID] [--csv FILE]`: response rates and results as tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    app.command("results")(results)


def results(
    spec: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The program spec (YAML).")
    ],
    survey: Annotated[str | None, typer.Option("--survey", help="Only this survey.")] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write every answer to this CSV file.")
    ] = None,
) -> None:
    """Print response rates, answers per question and before/after pairs of the current cycle."""
    from rich.console import Console

    from mentorflow.cli._flows import fail
    from mentorflow.errors import MentorflowError
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store
    from mentorflow.store.repo import get_cycle

    try:
        program = load_spec(spec)
    except MentorflowError as error:
        fail(error)
    if survey and survey not in program.surveys:
        fail(MentorflowError(f"no survey `{survey}` in {spec}"))
    engine = open_store()
    with engine.connect() as conn:
        cycle = get_cycle(conn, program.program.id, program.cycle.label)
        if cycle is None:
            fail(MentorflowError(f"cycle {program.cycle.label} is not in the store yet"))
        console = Console()
        for table in tables(conn, program, cycle.id, survey):
            console.print(table)
        if csv_path is not None:
            with csv_path.open("w", newline="", encoding="utf-8") as out:
                from mentorflow.surveys.results import write_csv

                lines = write_csv(conn, program, cycle.id, out, survey)
            typer.echo(f"wrote {lines} answer line(s) to {csv_path}")


def tables(conn, spec, cycle_id: int, only: str | None) -> list:  # type: ignore[no-untyped-def]
    """The rich tables: rates, then per survey its questions, then before/after pairs."""
    from rich.table import Table

    from mentorflow.surveys import results

    rates = Table(title="Response rates")
    for column in ("survey", "kind", "invited", "answered", "rate"):
        rates.add_column(column)
    for rate in results.rates(conn, spec, cycle_id):
        if only and rate.survey_id != only:
            continue
        kind = spec.surveys[rate.survey_id].kind
        rate_text = f"{rate.rate:.0%}" if rate.invited else "-"
        rates.add_row(rate.survey_id, kind, str(rate.invited), str(rate.answered), rate_text)
    found = [rates]
    for survey in spec.surveys.values():
        if only and survey.id != only:
            continue
        table = Table(title=f"Survey {survey.id}")
        for column in ("question", "type", "answers", "mean", "choices"):
            table.add_column(column)
        for q in results.question_results(conn, survey, cycle_id):
            choices = ", ".join(f"{k}: {v}" for k, v in sorted(q.counts.items()))
            mean = "-" if q.mean is None else f"{q.mean:.2f}"
            table.add_row(q.question_id, q.type, str(q.answers), mean, choices)
        found.append(table)
    pairs = results.before_after(conn, spec, cycle_id)
    if pairs:
        found.append(_before_after(pairs))
    return found


def _before_after(pairs) -> Any:  # type: ignore[no-untyped-def]
    from collections import defaultdict

    from rich.table import Table

    by_question: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for p in pairs:
        if isinstance(p.before, int | float) and isinstance(p.after, int | float):
            by_question[p.question_id].append((float(p.before), float(p.after)))
    table = Table(title="Before and after (members with both answers)")
    for column in ("question", "members", "before (mean)", "after (mean)", "change"):
        table.add_column(column)
    for question, values in sorted(by_question.items()):
        before = sum(b for b, _ in values) / len(values)
        after = sum(a for _, a in values) / len(values)
        table.add_row(
            question, str(len(values)), f"{before:.2f}", f"{after:.2f}", f"{after - before:+.2f}"
        )
    return table
