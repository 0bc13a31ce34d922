"""When each survey falls due per pair, by its kind, and when its nudges do: pure dates, no store.

Practice-based defaults an organizer can change in the spec: a relationship-quality `pulse` at
day 30 and then every 60 days (the rhythm Mentorloop uses for its quality score), an early
`fit_check` the day after the pair's first meeting (its first `met` check-in answer), at week
2 at the latest, an `exit` at closure (only when no milestone sends them already) and
`ended_early` the day after a pair ended before the cycle end. A `baseline` (the "before" of
before/after) is mailed on enrolment, in the welcome: one occurrence per member and cycle, not
per pair; it closes `closes_after` past the later of enrolment and the cycle's start. `custom`
surveys are sent by milestones only. Nudges come `nudge_after` apart, at most `max_nudges`, and
never once the occurrence has closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from mentorflow.spec.model import ProgramSpec, Survey

FIRST = {"pulse": timedelta(days=30), "fit_check": timedelta(days=14)}
EVERY = {"pulse": timedelta(days=60)}


@dataclass(frozen=True)
class Occurrence:
    survey_id: str
    occurrence: str  # unique per member and survey within the cycle
    due_on: date
    match_id: str


def sent_by_milestone(spec: ProgramSpec) -> frozenset[str]:
    return frozenset(m.survey for m in spec.milestones if m.action == "survey" and m.survey)


def pair_occurrences(
    spec: ProgramSpec, pair_id: str, starts_on: date, met_on: date | None = None
) -> list[Occurrence]:
    """Every kind-scheduled occurrence for one pair that falls inside the cycle.

    `met_on`: the day the pair first reported a meeting; the fit check then goes out the day
    after, unless its week-2 default (or `first_after`) comes first.
    """
    found: list[Occurrence] = []
    by_milestone = sent_by_milestone(spec)
    start = max(starts_on, spec.cycle.start)
    for survey in spec.surveys.values():
        if survey.id in by_milestone:
            continue
        for number, due in enumerate(_dates(spec, survey, start, met_on), 1):
            found.append(Occurrence(survey.id, f"{survey.id}-{number}.{pair_id}", due, pair_id))
    return found


def baseline_surveys(spec: ProgramSpec) -> list[Survey]:
    """The `baseline` surveys the welcome mail carries (a milestone may send one instead)."""
    by_milestone = sent_by_milestone(spec)
    return [s for s in spec.surveys.values() if s.kind == "baseline" and s.id not in by_milestone]


def enrolment_occurrences(spec: ProgramSpec, enrolled_on: date) -> list[Occurrence]:
    """The baseline occurrences of a member enrolled (welcomed) on `enrolled_on`: no pair yet.

    `due_on` is the day the answers are anchored to for closing: enrolment, or the cycle's start
    when that is later (members who sign up early can answer until the cycle has begun).
    """
    anchor = max(enrolled_on, spec.cycle.start)
    return [Occurrence(s.id, f"{s.id}-1", anchor, "") for s in baseline_surveys(spec)]


def baseline_nudge_days(survey: Survey, enrolled_on: date, anchor: date) -> list[date]:
    """Nudges `nudge_after` apart from the welcome, at most `max_nudges`, before it closes."""
    if survey.nudge_after is None:
        return []
    closes = anchor + survey.closes_after
    days = [enrolled_on + survey.nudge_after * k for k in range(1, survey.max_nudges + 1)]
    return [day for day in days if day < closes]


def ended_early(reason: str | None) -> bool:
    """A pair that ended for a reason of its own: not a rotational round change, not closure."""
    text = reason or ""
    return not (text == "cycle closed" or (text.startswith("round ") and text.endswith(" ended")))


def ended_occurrences(spec: ProgramSpec, pair_id: str, ended_on: date) -> list[Occurrence]:
    """`ended_early` surveys the day after a pair ended, when that was before the cycle's end."""
    due = ended_on + timedelta(days=1)
    if ended_on >= spec.cycle.end or ended_on < spec.cycle.start:
        return []
    return [
        Occurrence(s.id, f"{s.id}-1.{pair_id}", due, pair_id)
        for s in spec.surveys.values()
        if s.kind == "ended_early" and s.id not in sent_by_milestone(spec)
    ]


def _dates(spec: ProgramSpec, survey: Survey, start: date, met_on: date | None) -> list[date]:
    if survey.kind == "exit":
        return [spec.cycle.end]
    if survey.kind not in FIRST:
        return []  # custom: milestones only; ended_early: when a pair ends early
    due = start + (survey.first_after or FIRST[survey.kind])
    if survey.kind == "fit_check" and met_on is not None:
        due = min(due, max(start, met_on + timedelta(days=1)))  # after the first meeting
    every = survey.every or EVERY.get(survey.kind)
    dates: list[date] = []
    while due < spec.cycle.end:
        dates.append(due)
        if every is None:
            break
        due += every
    return dates


def nudge_days(survey: Survey, due_on: date) -> list[date]:
    """Days of the nudges for an occurrence due on `due_on` (none after it closes)."""
    if survey.nudge_after is None:
        return []
    closes = due_on + survey.closes_after
    days = [due_on + survey.nudge_after * k for k in range(1, survey.max_nudges + 1)]
    return [day for day in days if day < closes]
