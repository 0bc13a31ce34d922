"""Google Form answers: check each row's token, keep the latest, quarantine the rest with a reason.

The token travels in a prefilled short-answer field, so it is visible and editable: every row is
checked like a page visit (signature, closing time, survey, member enrolled, pair). Rows are in
submission order; for one member and occurrence the last valid row wins and the earlier ones are
quarantined as superseded. Every row read ends up accepted or quarantined with a reason:
read == accepted + quarantined, nothing is dropped. The store is read and written in bulk.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from mentorflow.errors import TokenError
from mentorflow.spec.model import ProgramSpec, Survey, in_language
from mentorflow.store.repo import get_cycle
from mentorflow.store.tables import (
    enrolments,
    match_members,
    matches,
    members,
    survey_quarantine,
    survey_responses,
)
from mentorflow.surveys.definitions import check_answers
from mentorflow.surveys.responses import FIT_THRESHOLD, offer_rematch, score_of
from mentorflow.surveys.tokens import SurveyClaim, read_survey_token


@dataclass(frozen=True)
class Roster:
    """Who may answer in the cycle: enrolled, not erased members of the program, and the pairs."""

    members: frozenset[str]
    pairs: dict[str, frozenset[str]]


@dataclass(frozen=True)
class Accepted:
    row_number: int
    claim: SurveyClaim
    answers: dict[str, Any]


@dataclass
class FormCheck:
    read: int = 0
    accepted: dict[tuple[str, str], Accepted] = field(default_factory=dict)
    quarantined: list[tuple[int, str, str]] = field(default_factory=list)  # (row, hash, reason)


@dataclass(frozen=True)
class FormReport:
    survey_id: str
    read: int
    accepted: int
    stored: int  # new answers
    updated: int
    unchanged: int
    quarantined: int
    reasons: dict[str, int]
    member_ids: tuple[str, ...]  # whose answers were accepted (ids only, for the artifact)

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "accepted": self.accepted,
            "stored": self.stored,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
        }


def load_roster(engine: Engine, program_id: str, cycle_id: int) -> Roster:
    with engine.connect() as conn:
        enrolled = conn.execute(
            select(enrolments.c.member_id)
            .join(members, members.c.id == enrolments.c.member_id)
            .where(
                enrolments.c.cycle_id == cycle_id,
                members.c.program_id == program_id,
                members.c.erased_at.is_(None),
            )
        )
        ids = frozenset(r.member_id for r in enrolled)
        found: dict[str, set[str]] = {}
        rows = conn.execute(
            select(match_members.c.match_id, match_members.c.member_id)
            .join(matches, matches.c.id == match_members.c.match_id)
            .where(matches.c.cycle_id == cycle_id)
        )
        for row in rows:
            found.setdefault(row.match_id, set()).add(row.member_id)
    return Roster(ids, {k: frozenset(v) for k, v in found.items()})


def check_rows(
    spec: ProgramSpec,
    survey: Survey,
    values: Sequence[Sequence[str]],
    roster: Roster,
    now: datetime,
    key: str | None = None,
) -> FormCheck:
    """Sort every data row of the sheet (header first) into accepted and quarantined."""
    form = survey.google_form
    assert form is not None
    check = FormCheck()
    if not values:
        return check
    header = [h.strip() for h in values[0]]
    token_at = header.index(form.token_column) if form.token_column in header else None
    for number, row in enumerate(values[1:], start=2):  # the sheet's own row numbers
        check.read += 1
        cells = dict(zip(header, row, strict=False))
        digest = hashlib.sha256(json.dumps(list(row)).encode()).hexdigest()
        result = _check_row(spec, survey, cells, token_at, row, roster, now, key)
        if isinstance(result, str):
            check.quarantined.append((number, digest, result))
            continue
        claim, answers = result
        slot = (claim.member_id, claim.occurrence)
        earlier = check.accepted.get(slot)
        if earlier is not None:
            check.quarantined.append(
                (earlier.row_number, "", f"superseded by the later row {number}")
            )
        check.accepted[slot] = Accepted(number, claim, answers)
    check.quarantined = [_with_hash(values, q) for q in check.quarantined]
    return check


def _with_hash(values: Sequence[Sequence[str]], item: tuple[int, str, str]) -> tuple[int, str, str]:
    number, digest, reason = item
    if digest:
        return item
    row = values[number - 1]
    return number, hashlib.sha256(json.dumps(list(row)).encode()).hexdigest(), reason


def _check_row(
    spec: ProgramSpec,
    survey: Survey,
    cells: dict[str, str],
    token_at: int | None,
    row: Sequence[str],
    roster: Roster,
    now: datetime,
    key: str | None,
) -> tuple[SurveyClaim, dict[str, Any]] | str:
    token = row[token_at].strip() if token_at is not None and token_at < len(row) else ""
    if not token:
        return "no token in the row"
    try:
        claim = read_survey_token(token, now, key)
    except TokenError as error:
        return f"token: {error}"
    if claim.survey_id != survey.id or claim.cycle_label != spec.cycle.label:
        return "token of another survey or cycle"
    if claim.member_id not in roster.members:
        return "member unknown, erased or not enrolled"
    if claim.match_id and claim.member_id not in roster.pairs.get(claim.match_id, ()):
        return "token names a pair the member is not in"
    answers, errors = check_answers(survey, _as_form(survey, cells), spec.program.language)
    if errors:
        return "answers: " + ", ".join(f"{q} {e}" for q, e in sorted(errors.items()))
    return claim, answers


def _as_form(survey: Survey, cells: dict[str, str]) -> dict[str, list[str]]:
    """Sheet cells as the page's form values: choices become option positions."""
    form = survey.google_form
    assert form is not None
    by_id = {q.id: q for q in survey.questions}
    found: dict[str, list[str]] = {}
    for header, question_id in form.columns.items():
        question = by_id.get(question_id)
        text = cells.get(header, "").strip()
        if question is None or not text:
            continue
        if question.type in ("single_choice", "multiple_choice"):
            parts = [text] if question.type == "single_choice" else text.split(", ")
            found[f"q_{question_id}"] = [_option(question.options, p) for p in parts]
        else:
            found[f"q_{question_id}"] = [text]
    return found


def _option(options: Sequence[Any], text: str) -> str:
    for index, option in enumerate(options):
        if text in option.values() or text == in_language(option, ""):
            return str(index)
    return "unknown"


def store_checked(
    engine: Engine, spec: ProgramSpec, survey: Survey, check: FormCheck, source: str, now: datetime
) -> FormReport:
    """Insert new answers, update changed ones, record quarantined rows once; in one transaction."""
    with engine.begin() as conn:
        cycle = get_cycle(conn, spec.program.id, spec.cycle.label)
        assert cycle is not None
        existing = {
            (r.member_id, r.occurrence): r
            for r in conn.execute(
                select(survey_responses).where(
                    survey_responses.c.cycle_id == cycle.id,
                    survey_responses.c.survey_id == survey.id,
                )
            )
        }
        new, changed, same = [], [], 0
        for slot, item in check.accepted.items():
            row = existing.get(slot)
            if row is None:
                new.append(_new_row(cycle.id, item, now))
            elif dict(row.answers) != item.answers:
                changed.append((row.id, item))
            else:
                same += 1
        if new:
            conn.execute(insert(survey_responses), new)
        for row_id, item in changed:
            conn.execute(
                update(survey_responses)
                .where(survey_responses.c.id == row_id)
                .values(answers=item.answers, channel="google_form", updated_at=now)
            )
        _quarantine(conn, cycle.id, survey.id, source, check, now)
        if survey.kind == "fit_check":
            _fit_effects(conn, spec, survey, cycle.id, check, now)
    return FormReport(
        survey.id,
        check.read,
        len(check.accepted),
        len(new),
        len(changed),
        same,
        len(check.quarantined),
        dict(Counter(_reason_kind(r) for _, _, r in check.quarantined)),
        tuple(sorted({m for m, _ in check.accepted})),
    )


def _new_row(cycle_id: int, item: Accepted, now: datetime) -> dict[str, Any]:
    return {
        "cycle_id": cycle_id,
        "member_id": item.claim.member_id,
        "survey_id": item.claim.survey_id,
        "occurrence": item.claim.occurrence,
        "answers": item.answers,
        "channel": "google_form",
        "submitted_at": now,
        "match_id": item.claim.match_id or None,
    }


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0].split(" by ")[0]


def _quarantine(conn, cycle_id, survey_id, source, check, now) -> None:  # type: ignore[no-untyped-def]
    known = {
        r.row_hash
        for r in conn.execute(
            select(survey_quarantine.c.row_hash).where(
                survey_quarantine.c.cycle_id == cycle_id, survey_quarantine.c.source == source
            )
        )
    }
    rows = []
    for number, digest, reason in check.quarantined:
        if digest in known:
            continue
        known.add(digest)
        rows.append(
            {
                "cycle_id": cycle_id,
                "survey_id": survey_id,
                "source": source,
                "row_number": number,
                "row_hash": digest,
                "reason": reason,
                "created_at": now,
            }
        )
    if rows:
        conn.execute(insert(survey_quarantine), rows)


def _fit_effects(conn, spec, survey, cycle_id, check, now) -> None:  # type: ignore[no-untyped-def]
    """A low fit score through the form offers the rematch too (once per pair, as on the page).

    Stories are asked on our own page only: a Google Form has no follow-up step of ours.
    """
    threshold = survey.threshold if survey.threshold is not None else FIT_THRESHOLD
    for item in check.accepted.values():
        score = score_of(survey, item.answers)
        if score is not None and score <= threshold:
            offer_rematch(conn, spec.program.id, cycle_id, item.claim, now)


def read_worksheet(client: Any, survey: Survey) -> list[list[str]]:
    """All values of the responses worksheet as displayed (nothing numericised): 3 requests."""
    form = survey.google_form
    assert form is not None
    return client.open_by_key(form.sheet_key).worksheet(form.worksheet).get_all_values()


def source_label(survey: Survey) -> str:
    form = survey.google_form
    assert form is not None
    return f"sheet:{form.sheet_key}/{form.worksheet}"
