"""What is due at `as_of` for every pair and member, and what is skipped: pure, no store, no mail.

Every item carries the outbox key it will be queued under, so exactly-once comes from the store:
an item whose key was queued or skipped before is never due again. An item becomes sendable at
its release (the member's send window on its local due day, quiet days skipped); a tick sends it
when the tick falls inside that member's window, and skips it for good when it is stale (more
than `stale_after` past its release: ticks were missed), paused, or the member cannot get mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from mentorflow.engagement.state import Pair, Person, ProgramState
from mentorflow.engagement.window import in_window, local_day, release_at, zone
from mentorflow.mail.outbox import message_key
from mentorflow.spec.model import Milestone, ProgramSpec
from mentorflow.surveys.schedule import (
    Occurrence,
    baseline_nudge_days,
    ended_early,
    ended_occurrences,
    enrolment_occurrences,
    nudge_days,
    pair_occurrences,
)

ORGANIZERS = "org:0"  # the key of the first organizer's copy stands for all (outbox convention)
CLOSED_REASON = "cycle closed"  # closure's end reason (surveys.schedule.ended_early reads it)


@dataclass(frozen=True)
class DueItem:
    """One mail the schedule wants to send to one member (or to the organizers)."""

    key: str
    # milestone | check_in | survey | survey_nudge | nudge | rematch_offer | organizer | digest
    kind: str
    purpose: str
    occurrence: str
    template: str
    member_id: str | None  # None: the organizers
    match_ids: tuple[str, ...]  # the pairs it concerns
    due_on: date  # the local day it falls due
    release: datetime  # UTC: when the window opens on that day (or the next day not quiet)
    milestone_id: str | None = None
    survey_id: str | None = None
    first_check_in: bool = False
    survey_occurrence: str | None = None  # surveys: the occurrence the answer link is for
    survey_due: date | None = None  # surveys: the day the occurrence fell due (it closes after)


@dataclass(frozen=True)
class Skipped:
    item: DueItem
    reason: str  # stale | paused | left | unsubscribed | bounced | erased


@dataclass(frozen=True)
class TickPlan:
    as_of: datetime
    send: tuple[DueItem, ...]
    skip: tuple[Skipped, ...]
    waiting: int  # fell due but outside the member's window right now

    @property
    def empty(self) -> bool:
        return not (self.send or self.skip)


def plan_tick(spec: ProgramSpec, state: ProgramState, as_of: datetime) -> TickPlan:
    """Split the items due by `as_of` and not handled yet into send now, skip, and wait."""
    people = {p.id: p for pair in state.pairs for p in pair.people}
    send: list[DueItem] = []
    skip: list[Skipped] = []
    waiting = 0
    found = [
        item
        for item in candidates(spec, state, as_of)
        if item.key not in state.handled and item.release <= as_of
    ]
    for item in sorted(found, key=lambda i: (i.release, i.key)):
        person = people.get(item.member_id) if item.member_id else None
        reason = _skip_reason(spec, state, item, person, as_of)
        if reason is not None:
            skip.append(Skipped(item, reason))
        elif in_window(as_of, zone(_zone_name(spec, person)), spec.engagement):
            send.append(item)
        else:
            waiting += 1
    return TickPlan(as_of, tuple(send), tuple(skip), waiting)


def _zone_name(spec: ProgramSpec, person: Person | None) -> str:
    return (person.timezone if person else None) or spec.program.timezone


def _skip_reason(
    spec: ProgramSpec, state: ProgramState, item: DueItem, person: Person | None, as_of: datetime
) -> str | None:
    if person is not None:
        flag = "erased" if person.erased else "bounced" if person.bounced else None
        flag = flag or ("unsubscribed" if person.unsubscribed else None)
        if flag:
            return flag
        absence = state.absent(person.id, as_of)
        if absence is not None:
            return "left" if absence.kind == "leave" else "paused"
    if as_of - item.release > spec.engagement.stale_after:
        return "stale"
    return None


def candidates(spec: ProgramSpec, state: ProgramState, as_of: datetime) -> Iterator[DueItem]:
    """Every item whose local due day has come by `as_of` (a day of slack for far-east zones)."""
    horizon = as_of.date() + timedelta(days=1)
    if state.closed:
        yield from _after_closure(spec, state, horizon)
        return
    first_check_in = _first_check_in(spec)
    for milestone in spec.milestones:
        on = milestone.due(spec.cycle)
        if on > horizon:
            continue
        yield from _milestone_items(spec, state, milestone, on, milestone.id == first_check_in)
        survey = spec.surveys.get(milestone.survey or "")
        if survey and milestone.action == "survey":
            for number, day in enumerate(nudge_days(survey, on), 1):
                if day <= horizon:
                    yield from _survey_nudges(spec, state, milestone, day, number, on)
    yield from _scheduled_surveys(spec, state, horizon)
    yield from _no_meeting_nudges(spec, state, horizon)
    yield from _rematch_offers(spec, state, as_of)
    yield from _weekly_digests(spec, horizon)


def exit_milestones(spec: ProgramSpec) -> frozenset[str]:
    """Survey milestones on the cycle's last day (or later): the exit survey, whatever its kind."""
    return frozenset(
        m.id
        for m in spec.milestones
        if m.action == "survey" and m.due(spec.cycle) >= spec.cycle.end
    )


def is_exit(spec: ProgramSpec, item: DueItem) -> bool:
    """An exit survey invitation or nudge: kind `exit`, or sent by a last-day milestone."""
    if item.survey_id is None or item.kind not in ("survey", "survey_nudge"):
        return False
    survey = spec.surveys.get(item.survey_id)
    by_kind = survey is not None and survey.kind == "exit" and item.milestone_id is None
    return by_kind or item.milestone_id in exit_milestones(spec)


def _after_closure(spec: ProgramSpec, state: ProgramState, horizon: date) -> Iterator[DueItem]:
    """Once the cycle is closed: the organizers' mail, and the exit survey's nudges to the
    members of the pairs closure ended (its invitation went with the closure mail). Nothing
    else reaches the cycle's members."""
    reasons = dict(state.ended)
    closed = tuple(p for p in state.ended_pairs if reasons.get(p.id) == CLOSED_REASON)
    view = ProgramState(
        state.program_id,
        state.cycle_id,
        state.cycle_label,
        tuple(replace(p, starts_on=spec.cycle.start) for p in closed),
        survey_answers=state.survey_answers,
        surveyed=state.surveyed,
        handled=state.handled,
    )
    for milestone in spec.milestones:
        on = milestone.due(spec.cycle)
        if on > horizon:
            continue
        if "organizers" in milestone.to:
            yield from (
                i for i in _milestone_items(spec, view, milestone, on, False) if not i.member_id
            )
        survey = spec.surveys.get(milestone.survey or "")
        if survey and milestone.id in exit_milestones(spec):
            for number, day in enumerate(nudge_days(survey, on), 1):
                if day <= horizon:
                    yield from _survey_nudges(spec, view, milestone, day, number, on)
    for item in _scheduled_surveys(spec, view, horizon):
        if is_exit(spec, item):
            yield item
    yield from _weekly_digests(spec, horizon)


def _first_check_in(spec: ProgramSpec) -> str | None:
    check_ins = [m for m in spec.milestones if m.action == "check_in"]
    return min(check_ins, key=lambda m: m.at).id if check_ins else None


def _recipients(milestone: Milestone, pair: Pair) -> Iterator[Person]:
    wanted = set(milestone.to)
    for person in pair.people:
        side = {"mentor": "mentors", "mentee": "mentees"}.get(person.side)
        if "pairs" in wanted or side in wanted:
            yield person


def _item(
    spec: ProgramSpec, state: ProgramState, person: Person | None, on: date, **fields: object
) -> DueItem:
    recipient = person.id if person else ORGANIZERS
    purpose, occurrence = str(fields["purpose"]), str(fields["occurrence"])
    tz = zone(_zone_name(spec, person))
    return DueItem(
        key=message_key(state.program_id, state.cycle_label, recipient, purpose, occurrence),
        member_id=person.id if person else None,
        due_on=on,
        release=release_at(on, tz, spec.engagement),
        **fields,  # type: ignore[arg-type]
    )


def _live_pairs(state: ProgramState, on: date) -> Iterator[Pair]:
    """Pairs that existed on `on`: a pair rematched mid-cycle skips what came before it."""
    return (pair for pair in state.pairs if pair.starts_on <= on)


def _milestone_items(
    spec: ProgramSpec, state: ProgramState, milestone: Milestone, on: date, first: bool
) -> Iterator[DueItem]:
    if "organizers" in milestone.to:
        yield _item(
            spec,
            state,
            None,
            on,
            kind="organizer",
            purpose="milestone",
            occurrence=milestone.id,
            template=milestone.template,
            match_ids=(),
            milestone_id=milestone.id,
        )
    if milestone.action == "check_in":
        yield from _check_ins(spec, state, milestone, on, first)
        return
    kind = "survey" if milestone.action == "survey" else "milestone"
    for person, match_ids in _per_member(state, milestone, on).items():
        yield _item(
            spec,
            state,
            person,
            on,
            kind=kind,
            purpose=kind,
            occurrence=milestone.id,
            template=milestone.template,
            match_ids=match_ids,
            milestone_id=milestone.id,
            survey_id=milestone.survey,
            survey_occurrence=milestone.id if kind == "survey" else None,
            survey_due=on if kind == "survey" else None,
        )


def _per_member(
    state: ProgramState, milestone: Milestone, on: date
) -> dict[Person, tuple[str, ...]]:
    """One mail per member per milestone, naming all their pairs (a mentor with three mentees)."""
    found: dict[Person, tuple[str, ...]] = {}
    for pair in _live_pairs(state, on):
        for person in _recipients(milestone, pair):
            found[person] = (*found.get(person, ()), pair.id)
    return found


def _check_ins(
    spec: ProgramSpec, state: ProgramState, milestone: Milestone, on: date, first: bool
) -> Iterator[DueItem]:
    for pair in _live_pairs(state, on):
        for person in _recipients(milestone, pair):
            yield _item(
                spec,
                state,
                person,
                on,
                kind="check_in",
                purpose="check_in",
                occurrence=f"{milestone.id}.{pair.id}",
                template=milestone.template,
                match_ids=(pair.id,),
                milestone_id=milestone.id,
                first_check_in=first,
            )


def _survey_nudges(
    spec: ProgramSpec,
    state: ProgramState,
    milestone: Milestone,
    on: date,
    number: int = 1,
    due: date | None = None,
) -> Iterator[DueItem]:
    for person, match_ids in _per_member(state, milestone, on).items():
        if (person.id, milestone.survey) in state.surveyed:
            continue
        yield _item(
            spec,
            state,
            person,
            on,
            kind="survey_nudge",
            purpose="survey_nudge",
            occurrence=milestone.id if number == 1 else f"{milestone.id}.{number}",
            template="survey_nudge",
            match_ids=match_ids,
            milestone_id=milestone.id,
            survey_id=milestone.survey,
            survey_occurrence=milestone.id,
            survey_due=due or on,
        )


def _scheduled_surveys(spec: ProgramSpec, state: ProgramState, horizon: date) -> Iterator[DueItem]:
    """Surveys their kind schedules per pair (pulse, fit check, baseline, exit), with nudges;
    "why did it end" the day after a pair ended before the cycle's end."""
    reasons = dict(state.ended)
    ended = [
        (pair, ended_occurrences(spec, pair.id, pair.starts_on))
        for pair in state.ended_pairs
        if ended_early(reasons.get(pair.id))
    ]
    live = [
        (pair, pair_occurrences(spec, pair.id, pair.starts_on, state.met_on.get(pair.id)))
        for pair in state.pairs
    ]
    yield from _baseline_nudges(spec, state, horizon)
    for pair, occurrences in (*live, *ended):
        for occ in occurrences:
            survey = spec.surveys[occ.survey_id]
            people = [p for p in pair.people if _in_audience(survey.audience, p)]
            days = [(0, occ.due_on), *enumerate(nudge_days(survey, occ.due_on), 1)]
            for number, day in days:
                if day > horizon:
                    break
                for person in people:
                    if (person.id, occ.survey_id, occ.occurrence) in state.survey_answers:
                        continue
                    yield _survey_item(spec, state, person, occ, day, number)


def _baseline_nudges(spec: ProgramSpec, state: ProgramState, horizon: date) -> Iterator[DueItem]:
    """The welcome carried the baseline link; paired members who have not answered are nudged
    (a nudge that fell due before they had a pair is not sent: the tick knows only pairs)."""
    seen: set[str] = set()
    for pair in state.pairs:
        for person in pair.people:
            welcomed = state.welcomed.get(person.id)
            if welcomed is None or person.id in seen:
                continue
            seen.add(person.id)
            for occ in enrolment_occurrences(spec, welcomed):
                survey = spec.surveys[occ.survey_id]
                if not _in_audience(survey.audience, person):
                    continue
                if (person.id, occ.survey_id, occ.occurrence) in state.survey_answers:
                    continue
                for number, day in enumerate(baseline_nudge_days(survey, welcomed, occ.due_on), 1):
                    if pair.starts_on <= day <= horizon:
                        yield _survey_item(spec, state, person, occ, day, number)


def _in_audience(audience: tuple[str, ...], person: Person) -> bool:
    side = {"mentor": "mentors", "mentee": "mentees"}.get(person.side)
    return "pairs" in audience or side in audience


def _survey_item(
    spec: ProgramSpec, state: ProgramState, person: Person, occ: Occurrence, on: date, number: int
) -> DueItem:
    kind = "survey" if number == 0 else "survey_nudge"
    return _item(
        spec,
        state,
        person,
        on,
        kind=kind,
        purpose=kind,
        occurrence=occ.occurrence if number <= 1 else f"{occ.occurrence}.{number}",
        template="survey_invitation" if number == 0 else "survey_nudge",
        match_ids=(occ.match_id,) if occ.match_id else (),  # a baseline: no pair yet
        survey_id=occ.survey_id,
        survey_occurrence=occ.occurrence,
        survey_due=occ.due_on,
    )


def _no_meeting_nudges(spec: ProgramSpec, state: ProgramState, horizon: date) -> Iterator[DueItem]:
    after = spec.engagement.no_meeting_nudge_after
    for pair in state.pairs:
        on = max(pair.starts_on, spec.cycle.start) + after
        if pair.id in state.met or on > horizon or on >= spec.cycle.end:
            continue
        for person in pair.people:
            yield _item(
                spec,
                state,
                person,
                on,
                kind="nudge",
                purpose="nudge",
                occurrence=f"no_meeting.{pair.id}",
                template="reminder",
                match_ids=(pair.id,),
            )


def _rematch_offers(spec: ProgramSpec, state: ProgramState, as_of: datetime) -> Iterator[DueItem]:
    """A partner who lost their pair (the other left or was erased) is offered a new match."""
    people = {p.id: p for pair in state.pairs for p in pair.people}
    for member_id, from_match, _cause in state.offers:
        person = people.get(member_id) or Person(member_id, "", None, None)
        on = local_day(as_of, zone(_zone_name(spec, person)))
        yield _item(
            spec,
            state,
            person,
            on,
            kind="rematch_offer",
            purpose="rematch_offer",
            occurrence=from_match,
            template="rematch_offer",
            match_ids=(from_match,),
        )


def _weekly_digests(spec: ProgramSpec, horizon: date) -> Iterator[DueItem]:
    """Weekly digests are scheduled here; a per-tick digest is decided by the tick itself."""
    if spec.engagement.digest != "weekly":
        return
    day = spec.cycle.start + timedelta(
        days=(spec.engagement.digest_day - spec.cycle.start.weekday()) % 7
    )
    if day == spec.cycle.start:
        day += timedelta(days=7)  # the first week has nothing to report yet
    state_free = ProgramState(spec.program.id, 0, spec.cycle.label, ())
    while day <= min(horizon, spec.cycle.end + timedelta(days=7)):
        yield _item(
            spec,
            state_free,
            None,
            day,
            kind="digest",
            purpose="digest",
            occurrence=day.isoformat(),
            template="organizer_digest",
            match_ids=(),
        )
        day += timedelta(days=7)
