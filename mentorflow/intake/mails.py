"""The mails intake owes people, derived from the store so a rerun queues nothing twice.

- `welcome` to every enrolment of the cycle in status `enrolled`;
- `not_enrolled` to every enrolment in status `not_enrolled` (no consent) with an address;
- `fix_signup` (when the spec asks for it) once per person whose latest row waits in quarantine
  for reasons they can fix themselves.

Each goes through the outbox under a key per member and purpose, so it is queued at most once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from mentorflow import progress
from mentorflow.clock import Clock
from mentorflow.engagement.links import link_key, member_links
from mentorflow.intake.header import expected_columns
from mentorflow.intake.rows import QUARANTINED
from mentorflow.intake.sources import without_cyclic_gc
from mentorflow.intake.validation import NumberBounds, number_fields
from mentorflow.mail.claims import Commits
from mentorflow.mail.outbox import enqueue_many, message_key
from mentorflow.mail.settings import MailRuntime
from mentorflow.spec.model import ProgramSpec
from mentorflow.store import repo
from mentorflow.store.bulk import chunks
from mentorflow.store.tables import enrolments, intake_rows, members, outbox
from mentorflow.surveys.links import baseline_links
from mentorflow.surveys.schedule import enrolment_occurrences

PURPOSE_BY_STATUS = {"enrolled": "welcome", "not_enrolled": "not_enrolled"}
_PURPOSES = ("welcome", "not_enrolled", "fix_signup")
MAIL_BATCH = 1000  # mails enqueued per transaction


@dataclass(frozen=True)
class QueuedMails:
    """How many mails of each kind this run put into the outbox (reruns: all zero)."""

    welcome: int = 0
    not_enrolled: int = 0
    fix_signup: int = 0


def queue_intake_mails(
    engine: Engine, spec: ProgramSpec, mail: MailRuntime, clock: Clock
) -> QueuedMails:
    """Queue every intake mail the store says is owed and not queued yet."""
    with without_cyclic_gc():  # 100,000 contexts and rows, none in a cycle: a third of the time
        return _queue_intake_mails(engine, spec, mail, clock)


def _queue_intake_mails(
    engine: Engine, spec: ProgramSpec, mail: MailRuntime, clock: Clock
) -> QueuedMails:
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        if cycle is None:
            return QueuedMails()
        queued = _queued_keys(conn, cycle.id)
        today = clock.now().astimezone(spec.program.zone).date()
        baseline = bool(enrolment_occurrences(spec, today))  # the same for everyone today
        key = link_key()  # looked up once, not once per member
        owed = [
            (
                member_id,
                purpose,
                {
                    **base_context(spec),
                    "role": role,
                    **links(mail, member_id, purpose, today, baseline, key),
                },
            )
            for member_id, status, role in _enrolment_statuses(conn, cycle.id)
            if (purpose := PURPOSE_BY_STATUS.get(status))
            and _key(spec, member_id, purpose) not in queued  # a rerun renders nothing
        ]
    counts = _enqueue_all(engine, spec, mail, clock, cycle.id, owed)
    if spec.intake.remind_fixable:
        counts["fix_signup"] = _queue_fix_mails(engine, spec, mail, clock, cycle.id)
    return QueuedMails(**counts)


def base_context(spec: ProgramSpec) -> dict[str, Any]:
    """What the intake templates show besides the member: dates and the form to sign up again."""
    return {
        "intake_closes": spec.intake.closes or spec.cycle.start,
        "cycle_starts": spec.cycle.start,
        "signup_url": spec.intake.form_url,
    }


def links(
    mail: MailRuntime,
    member_id: str,
    purpose: str,
    today: date,
    baseline: bool = True,
    key: str | None = None,
) -> dict[str, Any]:
    """The welcome's links: pause and leave, as every member mail of the cycle (issue 9), and
    the baseline survey (issue 10: the "before" of before/after is asked on enrolment);
    `baseline=False`: the spec has none due today (looked up once for all)."""
    if purpose != "welcome":
        return {}
    found: dict[str, Any] = member_links(mail.base_url, member_id, mail.spec.cycle.label, key)
    if baseline:
        found.update(baseline_links(mail.spec, mail.base_url, member_id, today))
    return found


def _key(spec: ProgramSpec, member_id: str, purpose: str) -> str:
    return message_key(spec.program.id, spec.cycle.label, member_id, purpose, "1")


def _queued_keys(conn: Connection, cycle_id: int) -> set[str]:
    """Keys of the intake mails of the cycle already in the outbox (any state)."""
    query = select(outbox.c.key).where(
        outbox.c.cycle_id == cycle_id, outbox.c.purpose.in_(_PURPOSES)
    )
    return set(conn.execute(query).scalars())


def _enrolment_statuses(conn: Connection, cycle_id: int) -> list[tuple[str, str, str]]:
    query = (
        select(enrolments.c.member_id, enrolments.c.status, enrolments.c.role)
        .where(enrolments.c.cycle_id == cycle_id)
        .order_by(enrolments.c.id)
    )
    return [(member_id, status, role) for member_id, status, role in conn.execute(query).all()]


def _enqueue_all(
    engine: Engine,
    spec: ProgramSpec,
    mail: MailRuntime,
    clock: Clock,
    cycle_id: int,
    owed: list[tuple[str, str, dict[str, Any]]],
) -> Counter[str]:
    """Enqueue `(member, purpose, context)` in transactions of MAIL_BATCH; counts by purpose.

    One commit and one bulk insert per batch and purpose, not per mail: a commit per mail was
    most of the time (100,000 mails are 100,000 fsyncs on SQLite), and a batch keeps the store's
    write lock short enough for a sender running beside intake. A crash loses at most the
    batch, which the rerun queues. On WAL SQLite the batches' commits are light (mail/claims.py:
    they survive a crash of this process, and a power loss only takes the last batches, which
    the rerun queues; they cannot have been sent, since a sender's claim syncs the WAL up to
    it), and the WAL is synced once at the end: queued mail is durable when the stage returns.
    """
    counts: Counter[str] = Counter()
    bar = progress.track("intake: mails queued", len(owed))
    with engine.connect() as conn, Commits(conn) as commits, bar as queued:
        for batch in chunks(owed, MAIL_BATCH):
            for purpose in _PURPOSES:
                mails = [(m, context) for m, p, context in batch if p == purpose]
                counts[purpose] += enqueue_many(
                    conn,
                    settings=mail,
                    cycle_id=cycle_id,
                    cycle_label=spec.cycle.label,
                    purpose=purpose,
                    template=purpose,
                    mails=mails,
                    clock=clock,
                )
            commits.light()
            queued.advance(len(batch))
    return counts


def _queue_fix_mails(
    engine: Engine, spec: ProgramSpec, mail: MailRuntime, clock: Clock, cycle_id: int
) -> int:
    """One `fix_signup` per person (occurrence 1): a second broken row gets no second mail."""
    query = (
        select(
            intake_rows.c.id,
            intake_rows.c.member_id,
            intake_rows.c.reasons,
            intake_rows.c.raw,
            members.c.language,
        )
        .join(members, members.c.id == intake_rows.c.member_id)
        .where(
            intake_rows.c.cycle_id == cycle_id,
            intake_rows.c.outcome == QUARANTINED,
            intake_rows.c.member_id.is_not(None),
            intake_rows.c.fix_mail_sent.is_(False),
        )
    )
    with engine.connect() as conn:
        rows = [
            r
            for r in conn.execute(query.order_by(intake_rows.c.id))
            if (r.raw or {}).get("fixable")
        ]
    queued, seen = 0, set[str]()
    with progress.track("intake: fix-your-sign-up mails", len(rows)) as bar:
        for batch in chunks(rows, MAIL_BATCH):
            queued += _queue_fix_batch(engine, spec, mail, clock, cycle_id, batch, seen)
            bar.advance(len(batch))
    return queued


def _queue_fix_batch(
    engine: Engine,
    spec: ProgramSpec,
    mail: MailRuntime,
    clock: Clock,
    cycle_id: int,
    batch: list[Any],
    seen: set[str],
) -> int:
    """One batch of `fix_signup` mails and the rows they answer, in one transaction."""
    mails = []
    for row in batch:
        if row.member_id in seen:
            continue  # the person's first broken row is the one answered
        seen.add(row.member_id)
        language = row.language or spec.program.language
        context = {**base_context(spec), "reasons": fix_reasons(row.reasons, spec, language)}
        mails.append((row.member_id, context))
    with engine.begin() as conn:  # the mails and the rows they answer, together
        queued = enqueue_many(
            conn,
            settings=mail,
            cycle_id=cycle_id,
            cycle_label=spec.cycle.label,
            purpose="fix_signup",
            template="fix_signup",
            mails=mails,
            clock=clock,
        )
        conn.execute(  # queued now or earlier: either way these rows are answered
            update(intake_rows)
            .where(intake_rows.c.id.in_([row.id for row in batch]))
            .values(fix_mail_sent=True)
        )
    return queued


_HINTS = {
    "de": {
        "missing answer": "diese Angabe fehlt",
        "timezone": "bitte eine Zeitzone wie Europe/Berlin oder UTC+1 angeben",
        "availability": "bitte Zeiten wie „Mo 18-20“ oder „Di 09:00-11:00“ angeben",
        "role": "bitte eine der angebotenen Rollen wählen",
        "": "diese Angabe konnten wir nicht lesen",
    },
    "en": {
        "missing answer": "this answer is missing",
        "timezone": "please give a time zone such as Europe/Berlin or UTC+1",
        "availability": "please give times like 'Mon 18-20' or 'Tue 09:00-11:00'",
        "role": "please choose one of the roles offered",
        "": "we could not read this answer",
    },
}


_NUMBER_WORDS = {
    "de": ("bitte {} angeben", "eine ganze Zahl", "eine Zahl", "von {} bis {}", "von mindestens {}",
           "von höchstens {}"),
    "en": ("please give {}", "a whole number", "a number", "from {} to {}", "of at least {}",
           "of at most {}"),
}  # fmt: skip


def number_hint(bounds: NumberBounds, language: str) -> str:
    """What to give for a number field, from the bounds its quarantine reason names."""
    ask, whole, number, both, low, high = _NUMBER_WORDS.get(language, _NUMBER_WORDS["en"])
    wanted = whole if bounds.whole else number
    if bounds.low is not None and bounds.high is not None:
        wanted += " " + both.format(bounds.low, bounds.high)
    elif bounds.low is not None:
        wanted += " " + low.format(bounds.low)
    elif bounds.high is not None:
        wanted += " " + high.format(bounds.high)
    return ask.format(wanted)


def fix_reasons(reasons: list[str], spec: ProgramSpec, language: str) -> list[str]:
    """Each reason as the person reads it: the form question and what to change."""
    questions = {field: header for header, field in expected_columns(spec.intake).items()}
    hints = _HINTS.get(language, _HINTS["en"])
    numbers = number_fields(tuple(spec.intake.fields.values()))
    told = []
    for reason in reasons:
        field, _, message = reason.partition(": ")
        field = field.split(".")[0]
        hint = (
            hints["missing answer"]
            if message == "missing answer"
            else hints.get(field) or _number_hint(numbers.get(field), language) or hints[""]
        )
        told.append(
            f"„{questions.get(field, field)}“: {hint}"
            if language == "de"
            else f"'{questions.get(field, field)}': {hint}"
        )
    return list(dict.fromkeys(told))


def _number_hint(bounds: NumberBounds | None, language: str) -> str | None:
    return number_hint(bounds, language) if bounds is not None else None
