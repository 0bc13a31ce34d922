"""Storing survey answers and what they set off: a no-fault rematch offer, a story request.

Every claim of a token is checked against the store before anything is written: the member exists
and is not erased, belongs to the spec's program and is enrolled in the token's cycle, the survey
exists, and a pair named in the token has the member in it. One row per member and occurrence: a
second submission updates it (`updated`), it never adds a second row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mentorflow.engagement.run import request_rematch
from mentorflow.spec.model import ProgramSpec, Survey
from mentorflow.store.repo import get_cycle, log_event
from mentorflow.store.tables import (
    enrolments,
    match_members,
    matches,
    members,
    survey_responses,
    survey_stories,
)
from mentorflow.surveys.definitions import SCALES, score_question
from mentorflow.surveys.tokens import SurveyClaim

RECORDED, UPDATED, REFUSED = "recorded", "updated", "refused"
LIVE = ("approved", "active")
FIT_THRESHOLD = 2.0


def member_for(conn: Connection, spec: ProgramSpec, claim: SurveyClaim) -> Any:
    """The member row when every claim of the token holds, else None."""
    checked = check_claim(conn, spec, claim)
    return checked[0] if checked else None


def check_claim(conn: Connection, spec: ProgramSpec, claim: SurveyClaim) -> tuple[Any, int] | None:
    """(member row, cycle id) when every claim of the token holds against the store, else None."""
    row = conn.execute(select(members).where(members.c.id == claim.member_id)).first()
    if row is None or row.erased_at is not None or row.program_id != spec.program.id:
        return None
    if claim.survey_id not in spec.surveys:
        return None
    cycle = get_cycle(conn, spec.program.id, claim.cycle_label)
    if cycle is None or not _enrolled(conn, cycle.id, row.id):
        return None
    if claim.match_id and not _in_match(conn, claim.match_id, row.id, cycle.id):
        return None
    return row, cycle.id


def _enrolled(conn: Connection, cycle_id: int, member_id: str) -> bool:
    found = conn.execute(
        select(enrolments.c.id).where(
            enrolments.c.cycle_id == cycle_id, enrolments.c.member_id == member_id
        )
    ).first()
    return found is not None


def _in_match(conn: Connection, match_id: str, member_id: str, cycle_id: int) -> bool:
    found = conn.execute(
        select(matches.c.id)
        .join(match_members, match_members.c.match_id == matches.c.id)
        .where(
            matches.c.id == match_id,
            matches.c.cycle_id == cycle_id,
            match_members.c.member_id == member_id,
        )
    ).first()
    return found is not None


def cycle_id_of(conn: Connection, spec: ProgramSpec, claim: SurveyClaim) -> int:
    cycle = get_cycle(conn, spec.program.id, claim.cycle_label)
    assert cycle is not None  # member_for checked it
    return cycle.id


def stored_answers(conn: Connection, cycle_id: int, claim: SurveyClaim) -> dict[str, Any] | None:
    row = conn.execute(_one(cycle_id, claim)).first()
    return dict(row.answers) if row is not None else None


def _one(cycle_id: int, claim: SurveyClaim):  # type: ignore[no-untyped-def]
    return select(survey_responses).where(
        survey_responses.c.cycle_id == cycle_id,
        survey_responses.c.member_id == claim.member_id,
        survey_responses.c.survey_id == claim.survey_id,
        survey_responses.c.occurrence == claim.occurrence,
    )


def save_response(
    conn: Connection,
    cycle_id: int,
    claim: SurveyClaim,
    answers: Mapping[str, Any],
    channel: str,
    now: datetime,
) -> str:
    """Insert the answer, or update the member's earlier one for the same occurrence."""
    row = conn.execute(_one(cycle_id, claim)).first()
    if row is not None:
        conn.execute(
            update(survey_responses)
            .where(survey_responses.c.id == row.id)
            .values(answers=dict(answers), channel=channel, updated_at=now)
        )
        return UPDATED
    conn.execute(
        insert(survey_responses).values(
            cycle_id=cycle_id,
            member_id=claim.member_id,
            survey_id=claim.survey_id,
            occurrence=claim.occurrence,
            answers=dict(answers),
            channel=channel,
            submitted_at=now,
            match_id=claim.match_id or None,
        )
    )
    return RECORDED


def record(
    conn: Connection,
    spec: ProgramSpec,
    claim: SurveyClaim,
    answers: Mapping[str, Any],
    channel: str,
    now: datetime,
    checked: tuple[Any, int] | None = None,
) -> tuple[str, bool]:
    """(outcome, ask for a story) for checked answers; the effects of the score run here too.

    `checked` is what `check_claim` returned in the same transaction (saves the queries again).
    """
    checked = checked or check_claim(conn, spec, claim)
    if checked is None:
        return REFUSED, False
    cycle_id = checked[1]
    outcome = save_response(conn, cycle_id, claim, answers, channel, now)
    survey = spec.surveys[claim.survey_id]
    log_event(
        conn,
        program_id=spec.program.id,
        cycle_id=cycle_id,
        member_id=claim.member_id,
        kind=f"survey_{outcome}",
        at=now,
        data={"survey": claim.survey_id, "occurrence": claim.occurrence, "channel": channel},
    )
    score = score_of(survey, answers)
    if survey.kind == "fit_check" and score is not None and score <= _fit_threshold(survey):
        offer_rematch(conn, spec.program.id, cycle_id, claim, now)
    return outcome, asks_story(survey, answers)


def asks_story(survey: Survey, answers: Mapping[str, Any]) -> bool:
    """A top score in a pulse asks the member for a short story."""
    score = score_of(survey, answers)
    return survey.kind == "pulse" and score is not None and score >= _top(survey)


def score_of(survey: Survey, answers: Mapping[str, Any]) -> float | None:
    question = score_question(survey)
    value = answers.get(question.id) if question else None
    return float(value) if isinstance(value, int | float) else None


def _fit_threshold(survey: Survey) -> float:
    return survey.threshold if survey.threshold is not None else FIT_THRESHOLD


def _top(survey: Survey) -> float:
    if survey.threshold is not None:
        return survey.threshold
    question = score_question(survey)
    return float(max(SCALES[question.type])) if question else float("inf")


def offer_rematch(
    conn: Connection, program_id: str, cycle_id: int, claim: SurveyClaim, now: datetime
) -> list[str]:
    """A low fit score: everyone in the member's live pair(s) is offered a no-fault rematch.

    Offered, not decided: the tick mails each member a rematch offer (the engagement issue's
    `offered` request), and a member who says yes opens the request.
    """
    match_ids = [claim.match_id] if claim.match_id else _live_matches(conn, cycle_id, claim)
    offered: list[str] = []
    for match_id in match_ids:
        for member_id in _people(conn, match_id):
            if request_rematch(conn, cycle_id, member_id, match_id, "fit_check", now, "offered"):
                offered.append(member_id)
    if offered:
        log_event(
            conn,
            program_id=program_id,
            cycle_id=cycle_id,
            kind="rematch_offered",
            at=now,
            data={"matches": match_ids, "members": offered, "cause": "fit_check"},
        )
    return offered


def _live_matches(conn: Connection, cycle_id: int, claim: SurveyClaim) -> list[str]:
    query = (
        select(matches.c.id)
        .join(match_members, match_members.c.match_id == matches.c.id)
        .where(
            matches.c.cycle_id == cycle_id,
            matches.c.status.in_(LIVE),
            match_members.c.member_id == claim.member_id,
        )
    )
    return [r.id for r in conn.execute(query)]


def _people(conn: Connection, match_id: str) -> list[str]:
    query = select(match_members.c.member_id).where(match_members.c.match_id == match_id)
    return [r.member_id for r in conn.execute(query)]


def save_story(
    conn: Connection,
    cycle_id: int,
    claim: SurveyClaim,
    text: str,
    share: bool,
    consent_version: str,
    now: datetime,
) -> str:
    """The member's story with its own consent to share (only shared stories reach reports)."""
    values = {
        "text": text,
        "share": share,
        "consent_at": now if share else None,
        "consent_text_version": consent_version if share else None,
        "updated_at": now,
    }
    where = (
        (survey_stories.c.cycle_id == cycle_id)
        & (survey_stories.c.member_id == claim.member_id)
        & (survey_stories.c.survey_id == claim.survey_id)
        & (survey_stories.c.occurrence == claim.occurrence)
    )
    if conn.execute(select(survey_stories.c.id).where(where)).first() is not None:
        conn.execute(update(survey_stories).where(where).values(**values))
        return UPDATED
    conn.execute(
        insert(survey_stories).values(
            cycle_id=cycle_id,
            member_id=claim.member_id,
            survey_id=claim.survey_id,
            occurrence=claim.occurrence,
            created_at=now,
            **values,
        )
    )
    return RECORDED
