"""A proposed spec for the next cycle: the organizer's YAML text with a few line-level edits.

Each edit changes one scalar in place (or comments out a question's lines) and puts a comment
above it with the figure that motivates it; everything else, comments and layout included, stays
as the organizer wrote it. Places come from PyYAML's node marks (the same node tree the spec
loader reads). Every edit is kept only if the whole proposal still passes `check_spec`, checked
as a hidden file beside the spec (relative paths mean what they mean in the spec). The proposal
changes nothing by itself: it is written next to the report, with a unified diff.
"""

from __future__ import annotations

import difflib
import os
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from mentorflow.matching.settings import criterion_name
from mentorflow.retrospective.numbers import MIN_CORRELATION
from mentorflow.spec.api import check_spec
from mentorflow.spec.model import ProgramSpec

NOTE = "# next cycle:"
NOTE_WIDTH = 100
WEIGHT_STEP = 0.2  # a weight moves by at most a fifth per cycle
MAX_WEIGHT, MAX_CAPACITY = 100.0, 50
PREDICTS_RHO, PREDICTS_P = 0.3, 0.05
FLAT_RHO = 0.1


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] (one scalar) and/or comment out lines; a note goes above `line`."""

    line: int  # 0-based line the note goes above
    note: str
    start: int = 0
    end: int = 0
    new: str | None = None
    comment_out: tuple[int, int] | None = None  # 0-based lines [first, last)


@dataclass
class Proposal:
    text: str
    diff: str
    notes: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # edits that would have made it invalid
    alumni_yes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        return next((v for k, v in node.value if k.value == key), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def _node(root: yaml.Node, *path: str | int) -> yaml.Node | None:
    node: yaml.Node | None = root
    for key in path:
        node = _child(node, key)
    return node


def _key_line(root: yaml.Node, *path: str | int) -> int | None:
    """The line of a mapping key (where a note about the whole part goes)."""
    parent = _node(root, *path[:-1])
    if isinstance(parent, yaml.MappingNode):
        for k, _ in parent.value:
            if k.value == path[-1]:
                return int(k.start_mark.line)
    return None


def _scalar_edit(node: yaml.Node | None, new: str, note: str) -> Edit | None:
    if not isinstance(node, yaml.ScalarNode) or node.start_mark.line != node.end_mark.line:
        return None
    quote = node.style if node.style in ("'", '"') else ""
    return Edit(
        node.start_mark.line,
        note,
        node.start_mark.index,
        node.end_mark.index,
        f"{quote}{new}{quote}",
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _dates(spec: ProgramSpec, root: yaml.Node, duration: str) -> list[Edit]:
    shift = spec.cycle.duration
    edits = []
    start = spec.cycle.start + shift
    note = f"{NOTE} moved on by the cycle length ({duration}) from {spec.cycle.start}"
    edits.append(_scalar_edit(_node(root, "cycle", "start"), start.isoformat(), note))
    if spec.intake.closes is not None:
        closes: date = spec.intake.closes + shift
        note = f"{NOTE} moved on by {duration} from {spec.intake.closes}"
        edits.append(_scalar_edit(_node(root, "intake", "closes"), closes.isoformat(), note))
    return [e for e in edits if e is not None]


def _verdict(quality: dict[str, Any]) -> str | None:
    """`predicts` / `flat` / None from a criterion's correlations with meetings and ratings."""
    known = [c for c in (quality["met"], quality["rating"]) if c["rho"] is not None]
    if any(c["rho"] >= PREDICTS_RHO and c["p"] < PREDICTS_P for c in known):
        return "predicts"
    if known and all(abs(c["rho"]) < FLAT_RHO and c["n"] >= 2 * MIN_CORRELATION for c in known):
        return "flat"
    return None


def _weights(spec: ProgramSpec, root: yaml.Node, figures: dict[str, Any]) -> list[Edit]:
    quality = {q["criterion"]: q for q in figures["matching_quality"]}
    edits = []
    for index, criterion in enumerate(spec.matching.criteria):
        found = quality.get(criterion_name(criterion))
        verdict = _verdict(found) if found and not criterion.is_hard else None
        if verdict is None:
            continue
        factor = 1 + WEIGHT_STEP if verdict == "predicts" else 1 - WEIGHT_STEP
        new = min(MAX_WEIGHT, max(0.1, round(criterion.weight * factor, 1)))
        figures_text = "; ".join(
            f"{what}: rho {c['rho']:+.2f}, p {c['p']}, n {c['n']}"
            for what, c in (("meetings", found["met"]), ("ratings", found["rating"]))  # type: ignore[index]
            if c["rho"] is not None
        )
        said = "predicted outcomes" if verdict == "predicts" else "did not predict outcomes"
        note = (
            f"{NOTE} {criterion_name(criterion)} {said} ({figures_text}): "
            f"weight {_number(criterion.weight)} -> {_number(new)}"
        )
        edit = _scalar_edit(
            _node(root, "matching", "criteria", index, "weight"), _number(new), note
        )
        if edit is not None:
            edits.append(edit)
    return edits


def _capacity(spec: ProgramSpec, root: yaml.Node, figures: dict[str, Any]) -> list[Edit]:
    waiting = figures["participation"]["waitlisted_mentees"]
    if not waiting:
        return []
    old = spec.matching.capacity.default
    new = min(MAX_CAPACITY, old + 1)
    note = (
        f"{NOTE} {waiting} mentee(s) waitlisted, mentors were short: "
        f"default capacity {old} -> {new} (better still: recruit {waiting} more mentor place(s))"
    )
    edit = _scalar_edit(_node(root, "matching", "capacity", "default"), str(new), note)
    if edit is not None and new != old:
        return [edit]
    line = _key_line(root, "matching")
    return [Edit(line, note.split(": default")[0] + ": recruit more mentors")] if line else []


def _referenced(spec: ProgramSpec) -> set[tuple[str, str]]:
    """(survey, question) pairs something else names: never commented out."""
    found = {(s.id, s.score_question) for s in spec.surveys.values() if s.score_question}
    for s in spec.surveys.values():
        if s.google_form is not None:
            found.update((s.id, q) for q in s.google_form.columns.values())
    given = spec.retrospective.contributions
    if given is not None and given.question:
        survey, question = given.question.split(".", 1)
        found.add((survey, question))
    return found


def _questions(
    spec: ProgramSpec, root: yaml.Node, text: str, unanswered: list[dict[str, Any]]
) -> list[Edit]:
    lines = text.splitlines(keepends=True)
    surveys = list(spec.surveys)
    edits = []
    skip = _referenced(spec)
    for item in unanswered:
        survey = spec.surveys[item["survey"]]
        ids = [q.id for q in survey.questions]
        if len(ids) < 2 or (survey.id, item["question"]) in skip:
            continue
        seq = _node(root, "surveys", surveys.index(survey.id), "questions")
        node = _child(seq, ids.index(item["question"]))
        span = _block_item_lines(seq, node, lines)
        if span is None:
            continue
        note = (
            f"{NOTE} nobody answered `{item['question']}` in {item['responses']} response(s) "
            f"to `{survey.id}`: left out (delete these lines, or keep it and ask differently)"
        )
        edits.append(Edit(span[0], note, comment_out=span))
    return edits


def _block_item_lines(
    seq: yaml.Node | None, node: yaml.Node | None, lines: list[str]
) -> tuple[int, int] | None:
    """The lines [first, last) of a block sequence item that holds nothing else."""
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style or node is None:
        return None
    first = node.start_mark.line
    if not lines[first].lstrip().startswith("- "):
        return None
    text = "".join(lines)
    span = text[node.start_mark.index : node.end_mark.index].rstrip()
    last = first + span.count("\n") + 1
    end_col = (
        len(span) - (span.rfind("\n") + 1) + (node.start_mark.column if "\n" not in span else 0)
    )
    rest = lines[last - 1][end_col:].strip()
    if rest and not rest.startswith("#"):
        return None
    return first, last


def _alumni(root: yaml.Node, yes: list[str], side_file: str) -> list[Edit]:
    if not yes:
        return []
    line = _key_line(root, "intake")
    note = (
        f"{NOTE} {len(yes)} alumni said yes to mentoring next cycle (ids in {side_file}); "
        "they sign up as mentors through the form, giving consent again"
    )
    return [Edit(line, note)] if line is not None else []


def _apply(text: str, edits: list[Edit]) -> str:
    for edit in sorted((e for e in edits if e.new is not None), key=lambda e: -e.start):
        text = text[: edit.start] + str(edit.new) + text[edit.end :]
    lines = text.splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: -e.line):
        indent = len(lines[edit.line]) - len(lines[edit.line].lstrip())
        if edit.comment_out is not None:
            first, last = edit.comment_out
            for i in range(first, last):  # at the item's own indentation: it reads as a block
                lines[i] = lines[i][:indent] + "# " + lines[i][indent:]
        wrapped = textwrap.wrap(edit.note, NOTE_WIDTH - indent, subsequent_indent="#   ")
        lines[edit.line : edit.line] = [" " * indent + part + "\n" for part in wrapped]
    return "".join(lines)


def _header(spec: ProgramSpec, cycle: str, text: str) -> str:
    lines = text.splitlines(keepends=True)
    at = 1 if lines and lines[0].startswith("# yaml-language-server") else 0
    note = (
        f"# Proposed by `mentorflow report` after cycle {cycle} of {spec.path.name}\n"
        f"# (sha256 {spec.sha256[:12]}). Review it like a code change, then copy it over the spec\n"
        "# (relative paths are the spec's own). It changes nothing by itself.\n"
    )
    return "".join([*lines[:at], note, *lines[at:]])


def validator(spec: ProgramSpec) -> Callable[[str], list[str]]:
    """Checks a proposed text as a hidden file beside the spec; returns its problems."""

    def check(text: str) -> list[str]:
        try:
            handle, name = tempfile.mkstemp(
                prefix=".next-cycle-", suffix=".yaml", dir=spec.path.parent
            )
        except OSError:
            return []  # a read-only spec folder (an installed example): not checked here
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            return [f"{p.json_path}: {p.message}" for p in check_spec(name)]
        finally:
            os.unlink(name)

    return check


def propose(
    spec: ProgramSpec,
    figures: dict[str, Any],
    unanswered: list[dict[str, Any]],
    alumni_yes: list[str],
    cycle: str,
    side_file: str = "next_cycle.alumni.txt",
    check: Callable[[str], list[str]] | None = None,
) -> Proposal:
    original = spec.path.read_text(encoding="utf-8")
    root = yaml.compose(original, Loader=yaml.SafeLoader)
    assert root is not None  # the spec loaded: it is a mapping
    duration = _duration_text(root)
    candidates = [
        *_dates(spec, root, duration),
        *_weights(spec, root, figures),
        *_capacity(spec, root, figures),
        *_questions(spec, root, original, unanswered),
        *_alumni(root, alumni_yes, side_file),
    ]
    check = check or validator(spec)
    kept, dropped = _keep_valid(spec, cycle, original, candidates, check)
    text = _header(spec, cycle, _apply(original, kept))
    diff = "".join(
        difflib.unified_diff(
            original.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=spec.path.name,
            tofile="next_cycle.yaml",
        )
    )
    notes = [e.note.removeprefix(NOTE).strip() for e in kept]
    problems = check(text) if dropped else []  # without a dropped edit, `text` passed already
    return Proposal(text, diff, notes, dropped, alumni_yes, problems)


def _keep_valid(
    spec: ProgramSpec,
    cycle: str,
    original: str,
    candidates: list[Edit],
    check: Callable[[str], list[str]],
) -> tuple[list[Edit], list[str]]:
    """All edits when together they pass the checks; else one at a time, the breaking ones out."""
    if not check(_header(spec, cycle, _apply(original, candidates))):
        return candidates, []
    kept: list[Edit] = []
    dropped: list[str] = []
    for edit in candidates:
        if check(_header(spec, cycle, _apply(original, [*kept, edit]))):
            dropped.append(edit.note.removeprefix(NOTE).strip())
        else:
            kept.append(edit)
    return kept, dropped


def _duration_text(root: yaml.Node) -> str:
    node = _node(root, "cycle", "duration")
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "the cycle length"


def write(proposal: Proposal, folder: Path, side_file: str = "next_cycle.alumni.txt") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "next_cycle.yaml", folder / "next_cycle.diff"]
    paths[0].write_text(proposal.text, encoding="utf-8")
    paths[1].write_text(proposal.diff, encoding="utf-8")
    side = folder / side_file
    if proposal.alumni_yes:
        side.write_text("".join(f"{m}\n" for m in proposal.alumni_yes), encoding="utf-8")
        paths.append(side)
    elif side.exists():
        side.unlink()
    return paths
