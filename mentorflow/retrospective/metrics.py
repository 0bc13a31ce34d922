"""The retrospective's figures for one cycle, from the rows `reads.read_cycle` gathered.

Every figure is an aggregate: counts, shares, medians, correlations, criteria and survey or
question ids; never a member id, a name or an answer's text (stories travel apart, see report.py).
Definitions (docs/retrospective.md has the reasons):
- applied: sign-up rows that were a person's own latest row (accepted, quarantined, not
  consented; duplicates and superseded rows are the same person again); at least `enrolled`;
- enrolled: enrolments that took a place (enrolled, withdrawn, erased later);
- matched: enrolled members in at least one approved pair (any round, rematches included);
- active at a moment: in a pair that was live then (approved before, not ended yet, or ended by
  closure), neither paused at that moment nor left before it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, time
from statistics import mean
from typing import Any

from mentorflow.retrospective.numbers import correlation, paired_test, share, spread
from mentorflow.retrospective.reads import CycleData, Pair
from mentorflow.spec.model import ProgramSpec, Survey
from mentorflow.surveys.schedule import ended_early

CLOSED = "cycle closed"
PAIRED = ("approved", "active", "ended")  # pairs that happened (proposed and dropped did not)
APPLIED = ("accepted", "quarantined", "not_consented")
MENTOR_ROLES, MENTEE_ROLES = ("mentor", "both"), ("mentee", "both")
_MEMBER_ID = re.compile(r"\bm_[A-Za-z0-9_]+")
_BY = re.compile(r"\s+by\s+\S+$")


def compute(spec: ProgramSpec, data: CycleData) -> dict[str, Any]:
    """Every figure of the cycle as plain JSON-able data."""
    pairs = [p for p in data.pairs if p.status in PAIRED]
    return {
        "cycle": data.cycle.label,
        "status": data.cycle.status,
        "participation": participation(spec, data, pairs),
        "retention": retention(data, pairs),
        "satisfaction": satisfaction(data),
        "pulse": pulse(spec, data),
        "scores": scores(spec, data),
        "response_rates": response_rates(data),
        "engagement": engagement(data, pairs),
        "mentees_to_mentors": mentees_to_mentors(data),
        "matching_quality": matching_quality(spec, data, pairs),
        "alumni": alumni(data),
        "stories_shared": len(data.stories_shared),
    }


def _moment(spec: ProgramSpec, day: Any) -> datetime:
    return datetime.combine(day, time(), tzinfo=spec.program.zone)


def participation(spec: ProgramSpec, data: CycleData, pairs: list[Pair]) -> dict[str, Any]:
    enrolled = set(data.roles)
    matched = {m for p in pairs for m in p.members} & enrolled
    mid = _moment(spec, data.cycle.starts_on) + (data.cycle.ends_on - data.cycle.starts_on) / 2
    end = _moment(spec, data.cycle.ends_on)
    applied = sum(data.intake_outcomes.get(o, 0) for o in APPLIED)
    by_role = Counter(data.roles.values())
    return {
        "applied": max(applied, len(enrolled)),
        "intake_rows": dict(sorted(data.intake_outcomes.items())),
        "enrolled": len(enrolled),
        "by_role": dict(sorted(by_role.items())),
        "matched": share(len(matched), len(enrolled)),
        "unmatched": len(enrolled - matched),
        "waitlisted": len(data.waitlisted & enrolled),
        "waitlisted_mentees": sum(data.roles.get(m) == "mentee" for m in data.waitlisted),
        "active_mid": share(len(active_at(data, pairs, mid)), len(matched)),
        "active_end": share(len(active_at(data, pairs, end, closing=True)), len(matched)),
    }


def active_at(data: CycleData, pairs: list[Pair], at: datetime, closing: bool = False) -> set[str]:
    """Members in a live pair at `at`, not paused then and not left before it."""
    live = {
        m
        for p in pairs
        if p.approved_at is not None
        and p.approved_at <= at
        and (p.ended_at is None or p.ended_at > at or (closing and p.end_reason == CLOSED))
        for m in p.members
    }
    away = {
        a.member_id
        for a in data.absences
        if a.covers(at) or (a.kind == "leave" and a.starts_at <= at)
    }
    return live - away


def end_category(reason: str | None) -> str:
    """An end reason without the member id it names: `dropped by m_x` -> `dropped`."""
    text = _BY.sub("", (reason or "").strip())
    text = _MEMBER_ID.sub("a member", text).strip()
    return text.replace("_", " ") or "unknown"


def retention(data: CycleData, pairs: list[Pair]) -> dict[str, Any]:
    closed = [p for p in pairs if p.end_reason == CLOSED]
    early = [p for p in pairs if p.end_reason is not None and ended_early(p.end_reason)]
    rounds = [
        p
        for p in pairs
        if p.end_reason and not ended_early(p.end_reason) and p.end_reason != CLOSED
    ]
    earlier = {m for c, roles in data.history if c.starts_on < data.cycle.starts_on for m in roles}
    came_back = set(data.roles) & earlier
    return {
        "pairs": len(pairs),
        "reached_closure": share(len(closed), len(pairs)),
        "ended_early": share(len(early), len(pairs)),
        "round_changes": len(rounds),
        "still_open": sum(p.end_reason is None for p in pairs),
        "early_reasons": dict(Counter(end_category(p.end_reason) for p in early).most_common()),
        "came_back": share(len(came_back), len(data.roles)),
    }


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value) if isinstance(value, str) and value.strip() else None
        except ValueError:
            return None
    return float(value)


def satisfaction(data: CycleData) -> list[dict[str, Any]]:
    """Per compare question and role: the members with both answers, median change and spread."""
    changes: dict[tuple[str, str], list[float]] = defaultdict(list)
    for pairing in data.pairings:
        before, after = _numeric(pairing.before), _numeric(pairing.after)
        if before is None or after is None:
            continue
        role = data.roles.get(pairing.member_id, "unknown")
        for key in ((pairing.question_id, role), (pairing.question_id, "all")):
            changes[key].append(after - before)
    return [
        {
            "question": question,
            "role": role,
            "change": spread(values),
            "improved": share(sum(v > 0 for v in values), len(values)),
            "test": paired_test(values),
        }
        for (question, role), values in sorted(changes.items())
    ]


def score_question(survey: Survey) -> str | None:
    """The spec's `score_question`, else the survey's first rating or scale question."""
    if survey.score_question:
        return survey.score_question
    return next((q.id for q in survey.questions if q.type in ("rating", "scale")), None)


def _occurrence_number(occurrence: str) -> int:
    """`pulse-2.p_abc` -> 2; a milestone occurrence (its id) -> 1."""
    head = occurrence.split(".", 1)[0]
    tail = head.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 1


def pulse(spec: ProgramSpec, data: CycleData) -> list[dict[str, Any]]:
    """Pulse scores per occurrence number (day 30, 90, ...): the trend over the cycle."""
    found: list[dict[str, Any]] = []
    for survey in (s for s in spec.surveys.values() if s.kind == "pulse"):
        question = score_question(survey) or ""
        by_number: dict[int, list[float]] = defaultdict(list)
        for r in data.responses:
            value = _numeric(r.answers.get(question)) if r.survey_id == survey.id else None
            if value is not None:
                by_number[_occurrence_number(r.occurrence)].append(value)
        for number, values in sorted(by_number.items()):
            found.append(
                {
                    "survey": survey.id,
                    "question": question,
                    "occurrence": number,
                    "score": spread(values),
                }
            )
    return found


def scores(spec: ProgramSpec, data: CycleData) -> list[dict[str, Any]]:
    """Every rating or scale question: how many answered, median and spread."""
    by_question: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in data.responses:
        for key, value in r.answers.items():
            number = _numeric(value)
            if number is not None:
                by_question[(r.survey_id, key)].append(number)
    found = []
    for survey in spec.surveys.values():
        for q in survey.questions:
            if q.type in ("rating", "scale"):
                found.append(
                    {
                        "survey": survey.id,
                        "question": q.id,
                        "type": q.type,
                        "score": spread(by_question.get((survey.id, q.id), [])),
                    }
                )
    return found


def unanswered_questions(spec: ProgramSpec, data: CycleData) -> list[dict[str, Any]]:
    """Questions of surveys that got answers, which no answer filled."""
    answered: dict[str, set[str]] = defaultdict(set)
    responses: Counter[str] = Counter()
    for r in data.responses:
        responses[r.survey_id] += 1
        answered[r.survey_id].update(k for k, v in r.answers.items() if v not in (None, "", []))
    return [
        {"survey": s.id, "question": q.id, "responses": responses[s.id]}
        for s in spec.surveys.values()
        if responses[s.id]
        for q in s.questions
        if q.id not in answered[s.id]
    ]


def response_rates(data: CycleData) -> list[dict[str, Any]]:
    return [
        {
            "survey": r.survey_id,
            "rate": share(min(r.answered, r.invited), r.invited),
            "answered": r.answered,
        }
        for r in data.rates
    ]


def engagement(data: CycleData, pairs: list[Pair]) -> dict[str, Any]:
    answers = Counter(answer for _, _, _, answer in data.checkins)
    met_pairs = {match for match, _, _, answer in data.checkins if answer == "met"}
    invited = data.mails.get("check_in", 0)
    absences = Counter(a.kind for a in data.absences)
    leave_reasons = Counter({end_category(k): v for k, v in data.leave_reasons.items()})
    return {
        "check_in_invitations": invited,
        "check_in_answers": {k: answers.get(k, 0) for k in ("met", "not_yet", "cannot")},
        "check_ins_unanswered": max(invited - sum(answers.values()), 0),
        "pairs_met": share(len(met_pairs & {p.id for p in pairs}), len(pairs)),
        "escalations": {
            "no_meeting_nudges": data.mails.get("nudge", 0),
            "rematch_offers": data.mails.get("rematch_offer", 0),
        },
        "rematch_requests": dict(Counter(cause for cause, _ in data.rematches)),
        "rematched": sum(status == "matched" for _, status in data.rematches),
        "pauses": absences.get("pause", 0),
        "leaves": absences.get("leave", 0),
        "leave_reasons": dict(leave_reasons.most_common()),
    }


def mentees_to_mentors(data: CycleData) -> dict[str, Any]:
    """Per cycle up to this one: its mentees, and how many of them mentored in a later cycle."""
    upto = [(c, roles) for c, roles in data.history if c.starts_on <= data.cycle.starts_on]
    rows = []
    for index, (cycle, roles) in enumerate(upto):
        mentees = {m for m, role in roles.items() if role == "mentee"}
        later = {m for _, r in upto[index + 1 :] for m, role in r.items() if role in MENTOR_ROLES}
        rows.append(
            {
                "cycle": cycle.label,
                "mentees": len(mentees),
                "mentored_later": share(len(mentees & later), len(mentees)),
            }
        )
    earlier_mentees = {m for c, r in upto[:-1] for m, role in r.items() if role == "mentee"}
    mentors_now = {m for m, role in data.roles.items() if role in MENTOR_ROLES}
    return {
        "by_cycle": rows,
        "former_mentees_mentoring_now": share(len(mentors_now & earlier_mentees), len(mentors_now)),
    }


def _pair_ratings(spec: ProgramSpec, data: CycleData, pairs: list[Pair]) -> dict[str, float]:
    """Mean fit/pulse score per pair (answers about the pair, or its members' answers)."""
    scored = {
        s.id: score_question(s) for s in spec.surveys.values() if s.kind in ("fit_check", "pulse")
    }
    pair_of = {m: p.id for p in pairs for m in p.members}
    values: dict[str, list[float]] = defaultdict(list)
    for r in data.responses:
        question = scored.get(r.survey_id)
        value = _numeric(r.answers.get(question)) if question else None
        pair = r.match_id or pair_of.get(r.member_id)
        if value is not None and pair:
            values[pair].append(value)
    return {pair: mean(v) for pair, v in values.items()}


def matching_quality(spec: ProgramSpec, data: CycleData, pairs: list[Pair]) -> list[dict[str, Any]]:
    """Per criterion (and the total score): did better-scored pairs meet more and rate higher?"""
    met = Counter(match for match, _, _, answer in data.checkins if answer == "met")
    ratings = _pair_ratings(spec, data, pairs)
    criteria: dict[str, dict[str, float]] = defaultdict(dict)
    for p in pairs:
        criteria["total score"][p.id] = p.score
        for name, value in criterion_scores(p.explanation).items():
            criteria[name][p.id] = value
    return [
        {
            "criterion": name,
            "met": correlation(*_aligned(by_pair, {p.id: float(met.get(p.id, 0)) for p in pairs})),
            "rating": correlation(*_aligned(by_pair, ratings)),
        }
        for name, by_pair in criteria.items()
    ]


def criterion_scores(explanation: list[dict[str, Any]]) -> dict[str, float]:
    """Criterion -> score of one match; a group's pair explanations averaged per criterion."""
    found: dict[str, list[float]] = defaultdict(list)
    for pair in explanation:
        parts = pair.get("contributions", [pair]) if isinstance(pair, dict) else []
        for part in parts:
            if isinstance(part, dict) and "criterion" in part and "score" in part:
                found[str(part["criterion"])].append(float(part["score"]))
    return {name: mean(values) for name, values in found.items()}


def _aligned(xs: dict[str, float], ys: dict[str, float]) -> tuple[list[float], list[float]]:
    keys = sorted(set(xs) & set(ys))
    return [xs[k] for k in keys], [ys[k] for k in keys]


def alumni(data: CycleData) -> dict[str, Any]:
    answers = Counter(data.alumni.values())
    return {
        "asked": sum(answers.values()),
        "yes": answers.get("yes", 0),
        "no": answers.get("no", 0),
    }


def alumni_yes(data: CycleData) -> list[str]:
    """Ids of the alumni who said yes: for the proposal's side file, never the figures."""
    return sorted(m for m, answer in data.alumni.items() if answer == "yes")


def headline(figures: dict[str, Any]) -> dict[str, Any]:
    """The few figures the artifact, the CLI and the comparison across cycles show."""
    p, r, e = figures["participation"], figures["retention"], figures["engagement"]
    return {
        "applied": p["applied"],
        "enrolled": p["enrolled"],
        "matched": p["matched"],
        "active_end": p["active_end"],
        "pairs": r["pairs"],
        "reached_closure": r["reached_closure"],
        "ended_early": r["ended_early"],
        "came_back": r["came_back"],
        "pairs_met": e["pairs_met"],
        "stories_shared": figures["stories_shared"],
    }


def member_ids_in(value: Any, ids: Iterable[str]) -> set[str]:
    """Which of `ids` occur anywhere in `value` (a check that the figures name nobody)."""
    text = repr(value)
    return {m for m in ids if m in text}
