"""Survey results: response rates, answers per question, before/after pairs, a CSV export.

Rates count members invited (a survey mail in the outbox) against members who answered. Before
and after: for each `compare` question of an exit survey, the before answer is the sign-up field
named by `intake_field`, else the member's answer to the same question in a `baseline` survey;
every member with both keeps one pair. Only shared stories are listed.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import mean
from typing import Any, TextIO

from sqlalchemy import Connection, select

from mentorflow.spec.model import ProgramSpec, Question, Survey
from mentorflow.store.tables import (
    engagement_skips,
    enrolments,
    outbox,
    survey_responses,
    survey_stories,
)


@dataclass(frozen=True)
class Rate:
    survey_id: str
    invited: int
    answered: int

    @property
    def rate(self) -> float:
        return self.answered / self.invited if self.invited else 0.0


@dataclass(frozen=True)
class QuestionResult:
    survey_id: str
    question_id: str
    type: str
    answers: int
    mean: float | None  # rating and scale
    counts: dict[str, int]  # choices


@dataclass(frozen=True)
class Pairing:
    member_id: str
    question_id: str
    before: Any
    after: Any


def _responses(conn: Connection, cycle_id: int, survey_id: str | None = None) -> list[Any]:
    query = select(survey_responses).where(survey_responses.c.cycle_id == cycle_id)
    if survey_id:
        query = query.where(survey_responses.c.survey_id == survey_id)
    return list(conn.execute(query.order_by(survey_responses.c.id)))


def rates(conn: Connection, spec: ProgramSpec, cycle_id: int) -> list[Rate]:
    invited: dict[str, set[str]] = {}
    prefix = f"{spec.program.id}:{spec.cycle.label}:"
    # an exit survey the closure mail carried is recorded under the invitation's key (issue 11)
    carried = select(engagement_skips.c.key, engagement_skips.c.member_id).where(
        engagement_skips.c.cycle_id == cycle_id, engagement_skips.c.reason == "closure"
    )
    rows = conn.execute(
        select(outbox.c.key, outbox.c.member_id)
        .where(outbox.c.cycle_id == cycle_id, outbox.c.purpose == "survey")
        .union_all(carried)
    )
    occurrences = _occurrence_surveys(spec)
    for row in rows:
        occurrence = row.key.removeprefix(prefix).split(":", 2)[-1]
        survey_id = occurrences.get(occurrence) or occurrence.split("-", 1)[0]
        invited.setdefault(survey_id, set()).add(f"{row.member_id}|{occurrence}")
    answered: Counter[str] = Counter(r.survey_id for r in _responses(conn, cycle_id))
    return [
        Rate(s.id, len(invited.get(s.id, ())), answered.get(s.id, 0)) for s in spec.surveys.values()
    ]


def _occurrence_surveys(spec: ProgramSpec) -> dict[str, str]:
    return {m.id: m.survey for m in spec.milestones if m.action == "survey" and m.survey}


def question_results(conn: Connection, survey: Survey, cycle_id: int) -> list[QuestionResult]:
    rows = _responses(conn, cycle_id, survey.id)
    return [_question(survey.id, q, [r.answers.get(q.id) for r in rows]) for q in survey.questions]


def _question(survey_id: str, question: Question, values: list[Any]) -> QuestionResult:
    given = [v for v in values if v not in (None, "", [])]
    numbers = [float(v) for v in given if isinstance(v, int | float)]
    counts: Counter[str] = Counter()
    if question.type in ("single_choice", "multiple_choice"):
        for value in given:
            counts.update(value if isinstance(value, list) else [value])
    return QuestionResult(
        survey_id,
        question.id,
        question.type,
        len(given),
        round(mean(numbers), 2) if numbers else None,
        dict(counts),
    )


def before_after(conn: Connection, spec: ProgramSpec, cycle_id: int) -> list[Pairing]:
    """One (before, after) per member and compare question of every exit survey."""
    baseline = _by_member(
        r
        for s in spec.surveys.values()
        if s.kind == "baseline"
        for r in _responses(conn, cycle_id, s.id)
    )
    signup = {
        r.member_id: dict(r.answers or {})
        for r in conn.execute(select(enrolments).where(enrolments.c.cycle_id == cycle_id))
    }
    found: list[Pairing] = []
    for survey in (s for s in spec.surveys.values() if s.kind == "exit"):
        after = _by_member(_responses(conn, cycle_id, survey.id))
        for question in (q for q in survey.questions if q.compare):
            for member_id, answers in sorted(after.items()):
                if question.id not in answers:
                    continue
                source = (
                    signup.get(member_id, {})
                    if question.intake_field
                    else baseline.get(member_id, {})
                )
                before = source.get(question.intake_field or question.id)
                if before not in (None, ""):
                    found.append(Pairing(member_id, question.id, before, answers[question.id]))
    return found


def _by_member(rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The latest answers per member (later occurrences win)."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        found[row.member_id] = dict(row.answers)
    return found


def shared_stories(conn: Connection, cycle_id: int) -> list[tuple[str, str, str]]:
    """(member id, survey id, text) of stories the member agreed to share; never the others."""
    query = select(survey_stories).where(
        survey_stories.c.cycle_id == cycle_id, survey_stories.c.share.is_(True)
    )
    return [(r.member_id, r.survey_id, r.text) for r in conn.execute(query)]


def write_csv(
    conn: Connection, spec: ProgramSpec, cycle_id: int, out: TextIO, survey_id: str | None
) -> int:
    """One line per response and question (member id, never a name): the organizer's export."""
    writer = csv.writer(out)
    writer.writerow(
        ["survey", "occurrence", "member_id", "channel", "submitted_at", "question", "answer"]
    )
    count = 0
    for row in _responses(conn, cycle_id, survey_id):
        survey = spec.surveys.get(row.survey_id)
        for question in survey.questions if survey else ():
            value = row.answers.get(question.id)
            text = "; ".join(value) if isinstance(value, list) else "" if value is None else value
            stamp = (row.updated_at or row.submitted_at).isoformat()
            writer.writerow(
                [
                    row.survey_id,
                    row.occurrence,
                    row.member_id,
                    row.channel,
                    stamp,
                    question.id,
                    text,
                ]
            )
            count += 1
    return count
