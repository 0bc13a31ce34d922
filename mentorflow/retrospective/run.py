"""The retrospective of one cycle: read, compute, store the aggregate, write report and proposal.

The figures are stored as one `events` row (kind `retrospective`, member_id NULL) holding
aggregates only, so they survive the erasure of every member; a later report of an earlier
cycle, and the comparison across cycles, read them back from there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from mentorflow.errors import MentorflowError
from mentorflow.intake.sources import SourceTable
from mentorflow.paths import home
from mentorflow.retrospective import contributions, metrics, proposal, report
from mentorflow.retrospective.reads import CycleData, program_cycles, read_cycle
from mentorflow.spec.model import Cycle, ProgramSpec
from mentorflow.store.repo import get_cycle, log_event
from mentorflow.store.tables import events, programs

EVENT = "retrospective"
QUOTES = "quotes.json"  # member id -> story tokens, for erasure; beside the report
_ID = re.compile(r"\bm_[A-Za-z0-9_]+")


class UnknownCycleError(MentorflowError):
    """The store has no such cycle of the program."""


@dataclass(frozen=True)
class Outcome:
    cycle: str
    figures: dict[str, Any]
    headline: dict[str, Any]
    report_html: Path
    report_md: Path
    proposal: list[Path]
    proposal_notes: list[str]


def report_folder(program_id: str, cycle_label: str) -> Path:
    return home() / "reports" / program_id / cycle_label


def figures_for(
    conn: Connection, spec: ProgramSpec, cycle_id: int, sheet_rows: SourceTable | None = None
) -> tuple[dict[str, Any], CycleData]:
    """The cycle's figures; `sheet_rows` the contributions sheet when the spec names one."""
    data = read_cycle(conn, spec, cycle_id)
    figures = metrics.compute(spec, data)
    found, unknown = contributions.per_member(conn, spec, data, sheet_rows)
    figures["contributions"] = contributions.figures(spec, data, found, unknown)
    named = set(_ID.findall(json.dumps(figures))) & {m for _, r in data.history for m in r}
    if named:  # a bug, never data: the aggregate must name nobody
        raise MentorflowError(f"retrospective figures name {len(named)} member id(s)")
    return figures, data


def stored_figures(conn: Connection, program_id: str, cycle_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        select(events.c.data)
        .where(
            events.c.program_id == program_id,
            events.c.cycle_id == cycle_id,
            events.c.kind == EVENT,
        )
        .order_by(events.c.id.desc())
        .limit(1)
    ).first()
    return dict(row.data["figures"]) if row is not None else None


def _earlier(
    conn: Connection,
    spec: ProgramSpec,
    upto: Any,
    figures: dict[str, Any],
    sheet_rows: SourceTable | None,
) -> list[dict[str, Any]]:
    """Headline per cycle of the program up to this one: stored aggregates, else computed now."""
    rows = []
    for cycle in program_cycles(conn, spec.program.id):
        if cycle.starts_on > upto.starts_on:
            continue
        found = figures if cycle.id == upto.id else stored_figures(conn, spec.program.id, cycle.id)
        if found is None:
            found, _ = figures_for(conn, as_of_cycle(spec, cycle), cycle.id, sheet_rows)
        rows.append({"cycle": cycle.label, **metrics.headline(found)})
    return rows


def _recorded_sha(conn: Connection, spec: ProgramSpec) -> str | None:
    """The spec hash the flows recorded on the program, when one is recorded."""
    row = conn.execute(
        select(programs.c.spec_sha256).where(programs.c.id == spec.program.id)
    ).first()
    return str(row.spec_sha256) if row is not None and row.spec_sha256 else None


def as_of_cycle(spec: ProgramSpec, cycle: Any) -> ProgramSpec:
    """The spec with the stored cycle's dates: outbox keys and schedules name that cycle."""
    if cycle.label == spec.cycle.label:
        return spec
    return replace(spec, cycle=Cycle(cycle.starts_on, cycle.ends_on - cycle.starts_on))


def run_retrospective(
    engine: Engine,
    spec: ProgramSpec,
    now: datetime,
    cycle_label: str | None = None,
    sheet_rows: SourceTable | None = None,
) -> Outcome:
    """Figures, stored aggregate, report; the proposal only for the spec's own cycle.

    `sheet_rows`: the contributions sheet (`contributions.read_contributions_sheet`), read by the
    caller when the spec counts contributions from a Google Sheet.
    """
    label = cycle_label or spec.cycle.label
    with engine.connect() as conn:
        cycle = get_cycle(conn, spec.program.id, label)
        if cycle is None:
            raise UnknownCycleError(f"cycle {label} of {spec.program.id} is not in the store")
        current = label == spec.cycle.label
        spec = as_of_cycle(spec, cycle)
        figures, data = figures_for(conn, spec, cycle.id, sheet_rows)
        earlier = _earlier(conn, spec, cycle, figures, sheet_rows)
        recorded = _recorded_sha(conn, spec)
    with engine.begin() as conn:
        log_event(
            conn,
            program_id=spec.program.id,
            cycle_id=cycle.id,
            kind=EVENT,
            at=now,
            data={"figures": figures, "spec_sha256": spec.sha256, "spec_file": spec.path.name},
        )
    folder = report_folder(spec.program.id, label)
    html, md = write_report(folder, spec, label, figures, earlier, data, recorded, now)
    if not current:
        return Outcome(label, figures, metrics.headline(figures), html, md, [], [])
    unanswered = metrics.unanswered_questions(spec, data)
    made = proposal.propose(spec, figures, unanswered, metrics.alumni_yes(data), label)
    paths = proposal.write(made, folder)
    return Outcome(label, figures, metrics.headline(figures), html, md, paths, made.notes)


def write_report(
    folder: Path,
    spec: ProgramSpec,
    label: str,
    figures: dict[str, Any],
    earlier: list[dict[str, Any]],
    data: CycleData,
    recorded_sha: str | None,
    now: datetime,
) -> tuple[Path, Path]:
    context = report.Context(
        spec.program.id,
        spec.program.name,
        label,
        spec.path.name,
        spec.sha256,
        now.isoformat(timespec="minutes"),
        recorded_sha if recorded_sha != spec.sha256 else None,
    )
    made = report.build(context, figures, earlier, data.stories_shared)
    folder.mkdir(parents=True, exist_ok=True)
    html, md = folder / "retrospective.html", folder / "retrospective.md"
    html.write_text(made.html, encoding="utf-8")
    md.write_text(made.markdown, encoding="utf-8")
    quotes = json.dumps(made.quotes, indent=1, sort_keys=True)
    (folder / QUOTES).write_text(quotes, encoding="utf-8")
    return html, md


def headline_lines(outcome: Outcome) -> list[str]:
    """The headline figures as short lines (program and cycle ids, counts; no names)."""
    from mentorflow.retrospective.numbers import share_text

    h = outcome.headline
    return [
        f"applied {h['applied']}, enrolled {h['enrolled']}, matched {share_text(h['matched'])}",
        f"active at the end {share_text(h['active_end'])} of matched",
        f"pairs {h['pairs']}: reached closure {share_text(h['reached_closure'])}, "
        f"ended early {share_text(h['ended_early'])}",
        f"pairs that met at least once {share_text(h['pairs_met'])}",
        f"came back from an earlier cycle {share_text(h['came_back'])}",
        f"stories shared with consent {h['stories_shared']}",
    ]


def artifact_markdown(program_id: str, outcome: Outcome) -> str:
    """The Prefect artifact: headline figures and where the files are; ids only."""
    lines = [f"# Retrospective {program_id} {outcome.cycle}", ""]
    lines += [f"- {line}" for line in headline_lines(outcome)]
    lines += [
        "",
        f"Report: `{outcome.report_html}`",
        f"Next-cycle proposal: `{outcome.proposal[0]}`",
    ]
    lines += [f"- proposed: {note}" for note in outcome.proposal_notes]
    return "\n".join(lines) + "\n"
