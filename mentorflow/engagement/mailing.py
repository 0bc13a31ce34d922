"""The tick's one door to the outbox, and the variables each template gets.

`queue_member_mails` and `queue_organizer_mail` are the only calls into mentorflow.mail.outbox:
when the outbox's enqueue changes, this is the one place to adjust.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from mentorflow.clock import Clock
from mentorflow.engagement import links
from mentorflow.engagement.schedule import DueItem
from mentorflow.engagement.slot import first_meeting_slot, slot_invite
from mentorflow.engagement.state import Pair, ProgramState
from mentorflow.engagement.window import zone
from mentorflow.mail import outbox
from mentorflow.mail.settings import MailRuntime
from mentorflow.mail.templates import RenderedMail, render
from mentorflow.spec.model import ProgramSpec, in_language
from mentorflow.store.tables import members
from mentorflow.store.tables import outbox as outbox_table
from mentorflow.surveys.links import claim_for, survey_url
from mentorflow.surveys.tokens import SurveyClaim

Contacts = Mapping[str, tuple[str, str, str]]  # member id -> (name, email, language)

MENTOR_GUIDE = {
    "en": (
        "Ask what a good outcome of this cycle would look like for them.",
        "Share one thing you struggled with at their stage, and what helped.",
        "Agree on how you keep in touch between meetings.",
        "Listen more than you talk; end each meeting with one next step.",
    ),
    "de": (
        "Frag, wie ein gutes Ergebnis dieses Durchgangs für sie oder ihn aussähe.",
        "Erzähl von etwas, das Dir in dieser Phase schwerfiel, und was geholfen hat.",
        "Vereinbart, wie Ihr Euch zwischen den Treffen austauscht.",
        "Hör mehr zu, als Du sprichst; beendet jedes Treffen mit einem nächsten Schritt.",
    ),
}
NO_MEETING_TOPIC = {
    "en": "you have not told us about a first meeting yet – is there a date?",
    "de": "Ihr habt uns noch kein erstes Treffen gemeldet – steht ein Termin?",
}
REMINDER_TOPIC = {
    "en": "have you fixed the date of your next meeting?",
    "de": "steht der Termin für Euer nächstes Treffen schon?",
}
SLOT_SUMMARY = {"en": "First meeting: {program}", "de": "Erstes Treffen: {program}"}
SLOT_TEXT = {
    "en": "A time when you are both free, proposed by {program}. Move it if it does not suit you.",
    "de": "Eine Zeit, zu der Ihr beide könnt, vorgeschlagen von {program}. Verschiebt sie gern.",
}


@dataclass(frozen=True)
class MailJob:
    """An item with everything needed to queue or preview it."""

    item: DueItem
    context: dict[str, Any]
    ics: str | None = None


def queue_member_mails(
    conn: Connection,
    settings: MailRuntime,
    cycle_id: int,
    cycle_label: str,
    jobs: list[MailJob],
    clock: Clock,
) -> set[str]:
    """Queue a batch of member mails under their items' keys; the keys newly queued.

    The same rows as one `outbox.enqueue` per mail (rendered, or `suppressed` for bounced, erased
    and unsubscribed members), with three statements per batch instead of three per mail: a
    kickoff queues thousands at once. Keys already in the outbox are left alone (exactly once).
    MERGE NOTE: this is the one place that knows the outbox's row shape; with the mail stage's
    `enqueue_many` it becomes a call to it (grouped by purpose, template and occurrence).
    """
    by_key = {job.item.key: job for job in jobs if job.item.member_id}
    if not by_key:
        return set()
    keys = list(by_key)
    taken = set(
        conn.execute(select(outbox_table.c.key).where(outbox_table.c.key.in_(keys))).scalars()
    )
    todo = [job for key, job in by_key.items() if key not in taken]
    ids = [job.item.member_id for job in todo]
    found = {m.id: m for m in conn.execute(select(members).where(members.c.id.in_(ids)))}
    now, rows = clock.now(), []
    for job in todo:
        member = found.get(job.item.member_id)
        if member is None:
            continue  # the row's member id must exist (foreign key), as with `enqueue`
        rows.append(_row(settings, cycle_id, cycle_label, job, member, now))
    if rows:
        conn.execute(insert(outbox_table), rows)
    return {row["key"] for row in rows}


_CONTENT = ("to_addr", "to_name", "subject", "text_body", "html_body", "last_error")


def _row(
    settings: MailRuntime,
    cycle_id: int,
    cycle_label: str,
    job: MailJob,
    member: Any,
    now: datetime,
) -> dict[str, Any]:
    item = job.item
    assert item.member_id is not None
    values = outbox._base_row(
        settings, item.key, cycle_id, item.member_id, item.purpose, item.template, now
    )
    values.update(dict.fromkeys(_CONTENT), ics=None)  # one shape for executemany
    values.update(
        outbox._mail_values(
            member, settings, item.member_id, item.template, job.context, cycle_label
        )
    )
    if values["status"] == "pending":
        values["ics"] = job.ics
    return values


def queue_organizer_mail(
    conn: Connection,
    settings: MailRuntime,
    cycle_id: int,
    cycle_label: str,
    job: MailJob,
    clock: Clock,
) -> int:
    item = job.item
    return outbox.enqueue_to_organizers(
        conn,
        settings=settings,
        cycle_id=cycle_id,
        cycle_label=cycle_label,
        purpose=item.purpose,
        template=item.template,
        context=job.context,
        clock=clock,
        occurrence=item.occurrence,
    )


def preview(
    settings: MailRuntime, cycle_label: str, job: MailJob, contacts: Contacts
) -> RenderedMail:
    """Render a job as the outbox would, without storing anything (dry runs)."""
    member_id = job.item.member_id
    name, _, language = contacts.get(member_id or "", ("", "", settings.default_language))
    base = outbox.standard_context(
        settings, member_id=member_id, name=name or None, cycle_label=cycle_label
    )
    return render(
        job.item.template,
        {**base, **job.context},
        language=language or settings.default_language,
        default_language=settings.default_language,
        overrides=settings.spec.templates,
    )


def build_job(
    item: DueItem,
    *,
    spec: ProgramSpec,
    settings: MailRuntime,
    state: ProgramState,
    contacts: Contacts,
    as_of: datetime,
    extra: dict[str, Any] | None = None,
) -> MailJob:
    """The template variables for `item` (and the .ics of a first check-in)."""
    if item.member_id is None:
        return MailJob(item, dict(extra or {}))
    language = contacts.get(item.member_id, ("", "", ""))[2] or spec.program.language
    pairs = [state.pair_by_id[i] for i in item.match_ids if i in state.pair_by_id]
    context: dict[str, Any] = {
        **links.member_links(settings.base_url, item.member_id, state.cycle_label),
        "partners": _partners(item.member_id, pairs, contacts),
        "cycle_ends": spec.cycle.end,
        **spec.expectations.in_language(language),
        "guide": list(MENTOR_GUIDE.get(language, MENTOR_GUIDE["en"]))
        if _mentor(item, pairs)
        else [],
        **_kind_context(item, spec, settings, language),
        **(extra or {}),
    }
    ics = None
    if item.kind == "check_in":
        context["answer_urls"] = _answer_urls(settings, item)
        context["checkin_url"] = context["answer_urls"]["met"]
        context["checkin_at"], ics = _first_slot(item, pairs, spec, settings, contacts, as_of)
    return MailJob(item, context, ics)


def _partners(member_id: str, pairs: list[Pair], contacts: Contacts) -> list[dict[str, str]]:
    found = []
    for pair in pairs:
        for person in pair.partners_of(member_id):
            found.append({"name": contacts.get(person.id, ("",))[0], "role": person.side})
    return found


def _mentor(item: DueItem, pairs: list[Pair]) -> bool:
    if item.kind != "milestone" or item.template != "kickoff":
        return False
    return any(p.id == item.member_id and p.side == "mentor" for pair in pairs for p in pair.people)


def _kind_context(
    item: DueItem, spec: ProgramSpec, settings: MailRuntime, language: str
) -> dict[str, Any]:
    if item.kind in ("survey", "survey_nudge"):
        survey = spec.surveys.get(item.survey_id or "")
        title = in_language(survey.title, language) if survey and survey.title else item.survey_id
        if survey is None:
            return {"survey_name": title, "survey_url": "", "due": None}
        claim = survey_claim(spec, item)
        return {
            "survey_name": title,
            "survey_url": survey_url(settings.base_url or "", spec, claim),
            "due": claim.closes_at.astimezone(spec.program.zone).date() - timedelta(days=1),
        }
    if item.kind == "nudge":
        return {
            "topic": NO_MEETING_TOPIC.get(language, NO_MEETING_TOPIC["en"]),
            "due": None,
            "action_url": links.check_in_url(
                settings.base_url, item.member_id or "", item.match_ids[0], "nudge", "met"
            ),
        }
    if item.template == "reminder":
        return {"topic": REMINDER_TOPIC.get(language, REMINDER_TOPIC["en"]), "due": None}
    if item.kind == "rematch_offer":
        return {
            "rematch_url": links.rematch_url(
                settings.base_url, item.member_id or "", item.match_ids[0]
            )
        }
    return {}


def survey_claim(spec: ProgramSpec, item: DueItem) -> SurveyClaim:
    """The survey link's claim: member, survey occurrence, and the pair when there is one."""
    return claim_for(
        spec,
        item.member_id or "",
        item.survey_id or "",
        item.survey_occurrence or item.occurrence,
        item.survey_due or item.due_on,
        item.match_ids[0] if len(item.match_ids) == 1 else "",
    )


def _answer_urls(settings: MailRuntime, item: DueItem) -> dict[str, str]:
    occurrence = item.milestone_id or "check_in"
    return {
        answer: links.check_in_url(
            settings.base_url, item.member_id or "", item.match_ids[0], occurrence, answer
        )
        for answer in links.ANSWERS
    }


def _first_slot(
    item: DueItem,
    pairs: list[Pair],
    spec: ProgramSpec,
    settings: MailRuntime,
    contacts: Contacts,
    as_of: datetime,
) -> tuple[datetime | None, str | None]:
    """The first check-in proposes a slot inside everyone's availability, in the reader's zone."""
    if not item.first_check_in or not pairs:
        return None, None
    pair = pairs[0]
    start = first_meeting_slot(pair.people, as_of)
    if start is None:
        return None, None
    me = next(p for p in pair.people if p.id == item.member_id)
    language = contacts.get(me.id, ("", "", ""))[2] or spec.program.language
    program = settings.spec.program.name or settings.program_id
    ics = slot_invite(
        key=first_meeting_key(item),
        domain=settings.mail_domain,
        start=start,
        timezone=me.timezone,
        summary=SLOT_SUMMARY.get(language, SLOT_SUMMARY["en"]).format(program=program),
        description=SLOT_TEXT.get(language, SLOT_TEXT["en"]).format(program=program),
        organizer=settings.spec.sender.from_address,
        attendees=[contacts[p.id][1] for p in pair.people if contacts.get(p.id, ("", ""))[1]],
        stamp=as_of,
    )
    return start.astimezone(zone(me.timezone)), ics


def first_meeting_key(item: DueItem) -> str:
    """The same UID for both members' copies of the pair's slot, so calendars see one event."""
    return f"first-meeting:{item.match_ids[0]}"
