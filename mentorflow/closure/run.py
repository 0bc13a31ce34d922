"""Closing a cycle, and the closure mail of a pair that ended before it: pure store and outbox work.

`close_cycle` (on or after `spec.cycle.end`): pairs still live end with the reason `cycle closed`,
the cycle's status becomes `closed` with `closed_at`; every member of those pairs gets one
`closure` mail (key `closure:cycle`) with a final-meeting prompt, a reflection and the links of
the exit surveys the tick had not sent yet; those survey keys are recorded in
`engagement_skips` with reason `closure`, so the tick never sends them again (exactly once).
Mentors get their figures and, with `closure.recognition`, a certificate PDF attached. Mentees
get the `alumni_invitation` (`closure.invite_alumni`). `close_ended_pairs`: a pair that ended
before the cycle's end (a rotational round, or early) gets a `closure:<match id>` mail each.

Everything is keyed: running either again queues nothing twice and makes no second certificate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from mentorflow.clock import FixedClock
from mentorflow.closure.certificates import Certificate, relative, write_certificate
from mentorflow.closure.figures import MentorFigures, mentor_figures
from mentorflow.engagement import links
from mentorflow.engagement.mailing import survey_claim
from mentorflow.engagement.schedule import CLOSED_REASON, DueItem, candidates, is_exit
from mentorflow.engagement.state import Pair, Person, ProgramState, load_state
from mentorflow.engagement.window import in_window, local_day, release_at, zone
from mentorflow.mail import outbox
from mentorflow.mail.settings import MailRuntime
from mentorflow.matching.store_io import LIVE
from mentorflow.matching.store_io import contacts as load_contacts
from mentorflow.spec.model import ProgramSpec, in_language
from mentorflow.store import repo
from mentorflow.store.tables import cycles, engagement_skips, matches
from mentorflow.surveys.links import survey_url
from mentorflow.surveys.schedule import ended_early

CLOSED_EVENT = "cycle.closed"
SKIP_REASON = "closure"  # engagement_skips: the exit survey went with the closure mail
CYCLE_OCCURRENCE = "cycle"


@dataclass
class ClosureSummary:
    """What one closure run did; member ids only (it becomes the CLI lines and the artifact)."""

    as_of: datetime
    cycle_closed: bool = False  # closed by this run
    already_closed: bool = False
    pairs_ended: int = 0
    queued: Counter[str] = field(default_factory=Counter)  # closure | alumni_invitation
    certificates: int = 0  # made by this run
    exit_links: int = 0  # exit survey invitations carried by closure mails
    skipped: Counter[str] = field(default_factory=Counter)  # by reason
    skipped_items: list[tuple[str, str, str]] = field(default_factory=list)  # member, kind, reason
    mailed: list[str] = field(default_factory=list)  # member ids newly sent a closure mail
    not_due: str | None = None  # why nothing happened (no cycle, not over yet)

    def counts(self) -> dict[str, int]:
        return {
            "cycle_closed": int(self.cycle_closed),
            "already_closed": int(self.already_closed),
            "pairs_ended": self.pairs_ended,
            "closure_mails": self.queued["closure"],
            "certificates": self.certificates,
            "alumni_invited": self.queued["alumni_invitation"],
            "exit_links": self.exit_links,
            "skipped": sum(self.skipped.values()),
            **{f"skipped_{k}": v for k, v in sorted(self.skipped.items())},
        }

    def markdown(self) -> str:
        lines = [f"# Closure at {self.as_of.isoformat()}", ""]
        if self.not_due:
            return "\n".join([*lines, f"Nothing done: {self.not_due}."])
        lines += ["| outcome | count |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self.counts().items()]
        if self.skipped_items:
            lines += ["", "| member | mail | skipped because |", "|---|---|---|"]
            lines += [f"| {m} | {k} | {r} |" for m, k, r in self.skipped_items]
        return "\n".join(lines) + "\n"

    def skip(self, member_id: str, kind: str, reason: str) -> None:
        self.skipped[reason] += 1
        self.skipped_items.append((member_id, kind, reason))


def closure_due(spec: ProgramSpec, as_of: datetime, *, tick: bool = False) -> bool:
    """On or after the cycle's last day (program time); the tick waits for the program's send
    window on that day, so the closure mail does not arrive at midnight."""
    if tick:
        return as_of >= release_at(spec.cycle.end, spec.program.zone, spec.engagement)
    return as_of.astimezone(spec.program.zone).date() >= spec.cycle.end


def close_cycle(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, as_of: datetime
) -> ClosureSummary:
    """Close the spec's cycle at `as_of` (see the module docstring); safe to run again."""
    summary = ClosureSummary(as_of)
    if not closure_due(spec, as_of):
        summary.not_due = f"the cycle ends on {spec.cycle.end}"
        return summary
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        if cycle is None:
            summary.not_due = f"no cycle {spec.cycle.label} in the store"
            return summary
        state = _closing_state(conn, spec, cycle.id, cycle.label)
    summary.already_closed = cycle.status == "closed"
    exits = _exit_items(spec, state, as_of)
    with engine.begin() as conn:  # first: from here on the tick sends the pairs nothing
        summary.pairs_ended = _end_live_pairs(conn, cycle.id, as_of)
    with engine.connect() as conn:
        figures = mentor_figures(conn, cycle.id)
        people = _people(state)
        contacts = load_contacts(conn, list(people))
    for person in people.values():
        _close_member(engine, spec, settings, state, person, exits, figures, contacts, summary)
    if not summary.already_closed:  # last: a run that stopped halfway is resumed by the next
        with engine.begin() as conn:
            _mark_closed(conn, spec, cycle.id, as_of, summary.pairs_ended)
        summary.cycle_closed = True
    return summary


def tick_close(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, as_of: datetime
) -> ClosureSummary:
    """What the hourly tick does: closure mails for pairs that ended since the last tick, and
    the cycle's closure once its last day's send window opened (once: a closed cycle is left)."""
    summary = close_ended_pairs(engine, spec, settings, as_of)
    if not closure_due(spec, as_of, tick=True):
        return summary
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
    if cycle is None or cycle.status == "closed":
        return summary
    closed = close_cycle(engine, spec, settings, as_of)
    closed.queued.update(summary.queued)
    closed.mailed[:0] = summary.mailed
    for item in summary.skipped_items:
        closed.skip(*item)
    return closed


def _closing_state(conn: Connection, spec: ProgramSpec, cycle_id: int, label: str) -> ProgramState:
    """The cycle's pairs at its end: the live ones and those closure ended (a run that stopped
    halfway resumes with the same people and the same exit surveys)."""
    state = load_state(conn, spec.program.id, cycle_id, label, spec.program.zone)
    reasons = dict(state.ended)
    closed = [
        replace(pair, starts_on=spec.cycle.start)  # for the schedule: they lasted the cycle
        for pair in state.ended_pairs
        if reasons.get(pair.id) == CLOSED_REASON
    ]
    return replace(state, pairs=(*state.pairs, *closed))


def _people(state: ProgramState) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for pair in state.pairs:
        for person in pair.people:
            found.setdefault(person.id, person)
    return dict(sorted(found.items()))


def _exit_items(
    spec: ProgramSpec, state: ProgramState, as_of: datetime
) -> dict[str, list[DueItem]]:
    """The exit survey invitations the tick would send, by member, that it has not sent yet."""
    found: dict[str, list[DueItem]] = {}
    for item in candidates(spec, state, max(as_of, _end_moment(spec))):
        fresh = item.kind == "survey" and item.key not in state.handled
        if fresh and item.member_id and is_exit(spec, item):
            found.setdefault(item.member_id, []).append(item)
    return found


def _end_moment(spec: ProgramSpec) -> datetime:
    return release_at(spec.cycle.end, spec.program.zone, spec.engagement)


def _end_live_pairs(conn: Connection, cycle_id: int, now: datetime) -> int:
    result = conn.execute(
        update(matches)
        .where(matches.c.cycle_id == cycle_id, matches.c.status.in_(LIVE))
        .values(status="ended", ended_at=now, end_reason=CLOSED_REASON)
    )
    return result.rowcount or 0


def _mark_closed(
    conn: Connection, spec: ProgramSpec, cycle_id: int, now: datetime, pairs: int
) -> None:
    conn.execute(
        update(cycles).where(cycles.c.id == cycle_id).values(status="closed", closed_at=now)
    )
    repo.log_event(
        conn,
        program_id=spec.program.id,
        kind=CLOSED_EVENT,
        at=now,
        cycle_id=cycle_id,
        data={"pairs_ended": pairs},
    )


def member_release(spec: ProgramSpec, person: Person, as_of: datetime) -> datetime | None:
    """When the member's send window next opens, if it is closed at `as_of` (else None): closure
    runs once for everybody, each mail waits for its reader's morning."""
    tz = zone(person.timezone or spec.program.timezone)
    if in_window(as_of, tz, spec.engagement):
        return None
    day = local_day(as_of, tz)
    found = release_at(day, tz, spec.engagement)
    return found if found > as_of else release_at(day + timedelta(days=1), tz, spec.engagement)


def _queue(
    engine_or_conn: Engine | Connection,
    spec: ProgramSpec,
    settings: MailRuntime,
    state: ProgramState,
    person: Person,
    template: str,
    occurrence: str,
    context: dict[str, Any],
    as_of: datetime,
    attachments: list[str] | None = None,
) -> bool:
    """Queue one closure-stage mail (purpose = template) for the member's send window."""
    return outbox.enqueue(
        engine_or_conn,
        settings=settings,
        cycle_id=state.cycle_id,
        cycle_label=state.cycle_label,
        member_id=person.id,
        purpose=template,
        template=template,
        context=context,
        clock=FixedClock(as_of),
        occurrence=occurrence,
        attachments=attachments,
        not_before=member_release(spec, person, as_of),
    )


def _skip_reason(state: ProgramState, person: Person, as_of: datetime) -> str | None:
    if person.erased:
        return "erased"
    absence = state.absent(person.id, as_of)
    if absence is not None and absence.kind == "leave":
        return "left"  # they were told: no more mail in this cycle
    return None


def _close_member(
    engine: Engine,
    spec: ProgramSpec,
    settings: MailRuntime,
    state: ProgramState,
    person: Person,
    exits: dict[str, list[DueItem]],
    figures: dict[str, MentorFigures],
    contacts: dict[str, tuple[str, str, str]],
    summary: ClosureSummary,
) -> None:
    reason = _skip_reason(state, person, summary.as_of)
    if reason is not None:
        summary.skip(person.id, "closure", reason)
        return
    name, _, language = contacts.get(person.id, ("", "", ""))
    language = language or spec.program.language
    items = exits.get(person.id, [])
    context: dict[str, Any] = {
        "ending": CYCLE_OCCURRENCE,
        "role": person.side,
        "survey_urls": [_exit_url(spec, settings, item) for item in items],
        "reflection": _reflection(spec, language),
        "final_meeting": _final_meeting(spec, language),
    }
    context["survey_url"] = context["survey_urls"][0] if items else ""
    attachments = _recognition(spec, state, person, name, language, figures, context, summary)
    with engine.begin() as conn:
        new = _queue(
            conn,
            spec,
            settings,
            state,
            person,
            "closure",
            CYCLE_OCCURRENCE,
            context,
            summary.as_of,
            attachments,
        )
        if new:  # the exit invitations went with it: the tick must never send them
            _record_carried(conn, spec, state, items, summary.as_of)
            summary.exit_links += len(items)
    if new:
        summary.queued["closure"] += 1
        summary.mailed.append(person.id)
    if person.side == "mentee" and spec.closure.invite_alumni:
        _invite_alumnus(engine, spec, settings, state, person, summary)


def _exit_url(spec: ProgramSpec, settings: MailRuntime, item: DueItem) -> dict[str, str]:
    survey = spec.surveys.get(item.survey_id or "")
    title = in_language(survey.title, spec.program.language) if survey and survey.title else ""
    return {
        "url": survey_url(settings.base_url or "", spec, survey_claim(spec, item)),
        "title": title,
    }


REFLECTION = {
    "en": (
        "What did you set out to do this cycle, and where did you get to?",
        "Which conversation helped you most, and why?",
        "What will you take into the next months?",
    ),
    "de": (
        "Was hattest Du Dir für diesen Durchgang vorgenommen, und wo bist Du angekommen?",
        "Welches Gespräch hat Dir am meisten geholfen, und warum?",
        "Was nimmst Du mit in die nächsten Monate?",
    ),
}


def _reflection(spec: ProgramSpec, language: str) -> tuple[str, ...]:
    return REFLECTION.get(language, REFLECTION["en"])


def _final_meeting(spec: ProgramSpec, language: str) -> str:
    """The spec's `closure.final_meeting_prompt` in the member's language; "" for the built-in."""
    prompt = spec.closure.final_meeting_prompt
    return in_language(prompt, language) if prompt else ""


def _recognition(
    spec: ProgramSpec,
    state: ProgramState,
    person: Person,
    name: str,
    language: str,
    figures: dict[str, MentorFigures],
    context: dict[str, Any],
    summary: ClosureSummary,
) -> list[str]:
    """Mentors: figures in the mail and the certificate file (made once); its path to attach."""
    found = figures.get(person.id)
    if person.side != "mentor" or found is None or not spec.closure.recognition:
        return []
    context["recognition"] = {
        "mentees": found.mentees,
        "meetings": found.meetings,
        "badge": spec.closure.badge,
        "certificate": spec.closure.certificates,
    }
    cert = Certificate(
        member_id=person.id,
        name=name,
        language=language,
        program_name=spec.program.name,
        starts_on=spec.cycle.start,
        ends_on=spec.cycle.end,
        mentees=found.mentees,
        meetings=found.meetings,
        badge=spec.closure.badge,
    )
    if not spec.closure.certificates:
        return []
    path, made = write_certificate(spec.program.id, state.cycle_label, cert)
    summary.certificates += int(made)
    return [relative(path)]


def _record_carried(
    conn: Connection,
    spec: ProgramSpec,
    state: ProgramState,
    items: Iterable[DueItem],
    as_of: datetime,
) -> None:
    taken = set(
        conn.execute(
            select(engagement_skips.c.key).where(
                engagement_skips.c.key.in_([item.key for item in items])
            )
        ).scalars()
    )
    rows = [
        {
            "key": item.key,
            "program_id": spec.program.id,
            "cycle_id": state.cycle_id,
            "member_id": item.member_id,
            "reason": SKIP_REASON,
            "tick_at": as_of,
        }
        for item in items
        if item.key not in taken
    ]
    if rows:
        conn.execute(insert(engagement_skips), rows)


def _invite_alumnus(
    engine: Engine,
    spec: ProgramSpec,
    settings: MailRuntime,
    state: ProgramState,
    person: Person,
    summary: ClosureSummary,
) -> None:
    base = settings.base_url or ""
    context = {
        answer: links.alumni_url(base, person.id, state.cycle_label, answer)
        for answer in links.ALUMNI_ANSWERS
    }
    urls = {"yes_url": context["yes"], "no_url": context["no"], "signup_url": context["yes"]}
    new = _queue(
        engine,
        spec,
        settings,
        state,
        person,
        "alumni_invitation",
        CYCLE_OCCURRENCE,
        urls,
        summary.as_of,
    )
    if new:
        summary.queued["alumni_invitation"] += 1


# --- pairs that ended before the cycle's end -------------------------------------------------


def close_ended_pairs(
    engine: Engine, spec: ProgramSpec, settings: MailRuntime, as_of: datetime
) -> ClosureSummary:
    """A `closure:<match id>` mail to each member of a pair that ended before the cycle's end
    (a rotational round, or early), once; no certificate (that comes with the cycle's end)."""
    summary = ClosureSummary(as_of)
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        if cycle is None or cycle.status == "closed" or not _ended_before(conn, cycle.id):
            return summary  # the usual hour: one cheap query, no state read
        state = load_state(conn, spec.program.id, cycle.id, cycle.label, spec.program.zone)
    reasons = dict(state.ended)
    for pair in state.ended_pairs:
        reason = reasons.get(pair.id)
        if reason == CLOSED_REASON:
            continue
        ending = "early" if ended_early(reason) else "round"
        for person in pair.people:
            _close_pair_member(engine, spec, settings, state, pair, person, ending, summary)
    return summary


def _ended_before(conn: Connection, cycle_id: int) -> bool:
    """Whether any pair of the cycle ended other than by closure (then it may need its mail)."""
    query = select(matches.c.id).where(
        matches.c.cycle_id == cycle_id,
        matches.c.status == "ended",
        matches.c.end_reason != CLOSED_REASON,
    )
    return conn.execute(query.limit(1)).first() is not None


def _close_pair_member(
    engine: Engine,
    spec: ProgramSpec,
    settings: MailRuntime,
    state: ProgramState,
    pair: Pair,
    person: Person,
    ending: str,
    summary: ClosureSummary,
) -> None:
    key = outbox.message_key(spec.program.id, state.cycle_label, person.id, "closure", pair.id)
    if key in state.handled:
        return
    reason = _skip_reason(state, person, summary.as_of)
    if reason is not None:
        with engine.begin() as conn:  # recorded, so it is not reconsidered every hour
            conn.execute(
                insert(engagement_skips).values(
                    key=key,
                    program_id=spec.program.id,
                    cycle_id=state.cycle_id,
                    member_id=person.id,
                    reason=reason,
                    tick_at=summary.as_of,
                )
            )
        summary.skip(person.id, "closure", reason)
        return
    context = {
        "ending": ending,
        "role": person.side,
        "reflection": _reflection(spec, person.language or spec.program.language),
        "final_meeting": _final_meeting(spec, person.language or spec.program.language),
        "survey_url": "",
        "survey_urls": [],
    }
    if _queue(engine, spec, settings, state, person, "closure", pair.id, context, summary.as_of):
        summary.queued["closure"] += 1
        summary.mailed.append(person.id)
