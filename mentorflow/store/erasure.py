"""Erasure of a member's personal data, on request (GDPR art. 17) or after the retention period.

What erasure keeps, and why: the member id (opaque), `consent_at` and `consent_version` (proof
of what was agreed to and when; neither names the person), language, role, capacity, timestamps,
and every match and match membership (ids only; the no-repeat-pairs rule and figures need them).
What it removes: address, name, time zone and bounce reason on the member row; enrolment
answers; form rows as read and their quarantine reasons; the content and recipient of every
mail to the member (pending ones become `suppressed`, so they are never sent); stored mails to
others that name the member (their introductions); the member's survey responses (deleted:
free-text answers identify people); the data of the member's events. One `member.erased`
event records the id and counts. Certificates (issue 11) are files: `erase_certificates`
deletes them and the outbox's references to them go with the mail content.

A form row that never had a member (its address was not valid, or it could not be read as a
row) is erased by its sheet row number instead (`erase_form_row`): its cells and reasons go, the
row stays counted as quarantined with the reason `row: erased`; `intake_row.erased` records it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from markupsafe import escape
from sqlalchemy import (
    Connection,
    Text,
    and_,
    cast,
    delete,
    func,
    null,
    or_,
    select,
    union_all,
    update,
)

from mentorflow.errors import UnknownMemberError
from mentorflow.intake.values import normalise_email
from mentorflow.mail.bodies import Bodies, drop_unused
from mentorflow.store.repo import log_event
from mentorflow.store.tables import (
    cycles,
    enrolments,
    events,
    intake_rows,
    mail_stamps,
    members,
    outbox,
    survey_responses,
    survey_stories,
)

ERASED_EVENT = "member.erased"
ROW_ERASED_EVENT = "intake_row.erased"
ERASED_REASONS = ["row: erased"]  # what a quarantined row shows once its content is gone
REASONS = frozenset({"request", "retention"})  # a category, never free text (it is logged)
_MAIL_CONTENT = ("to_addr", "to_name", "subject", "text_body", "html_body", "ics")
_SHARED = (outbox.c.stamp_id, outbox.c.fills)  # a shared text and the mail's values for it


@dataclass(frozen=True)
class ErasureReport:
    """What one erasure changed; all zero (and `already_erased`) when it had been done before."""

    member_id: str
    already_erased: bool
    enrolments: int = 0  # answers cleared, status `erased`
    intake_rows: int = 0  # form rows as read, cleared
    mails_cleared: int = 0  # mails to the member: recipient and content cleared
    mails_suppressed: int = 0  # of those, pending ones that will never be sent
    mentions_cleared: int = 0  # mails to others that named the member (introductions)
    survey_responses: int = 0  # deleted
    events: int = 0  # event data cleared

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if type(v) is int}

    @property
    def changed(self) -> bool:
        return any(self.counts().values())


def find_member(conn: Connection, program_id: str, email: str) -> str | None:
    """The id of the program's member with this address (trimmed, case ignored), or None."""
    query = select(members.c.id).where(
        members.c.program_id == program_id, members.c.email == normalise_email(email)
    )
    return conn.execute(query).scalar_one_or_none()


def erase_member(
    conn: Connection, program_id: str, member_id: str, clock_now: datetime, reason: str
) -> ErasureReport:
    """Erase one member's personal data within the caller's transaction (use `engine.begin()`).

    Running it again is harmless: it finds nothing left and logs nothing new.
    Raises UnknownMemberError for an id that is not a member of the program.
    """
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {sorted(REASONS)}")
    member = conn.execute(
        select(members).where(members.c.id == member_id, members.c.program_id == program_id)
    ).first()
    if member is None:
        raise UnknownMemberError(f"no member {member_id} in program {program_id}")
    suppressed = _suppress_pending(conn, member_id, clock_now)
    report = ErasureReport(
        member_id=member_id,
        already_erased=member.erased_at is not None,
        enrolments=_erase_enrolments(conn, member_id, clock_now),
        intake_rows=_erase_intake_rows(conn, program_id, member_id, member.email),
        mails_suppressed=suppressed,
        mails_cleared=_clear_mail(conn, outbox.c.member_id == member_id, clock_now),
        mentions_cleared=_erase_mentions(conn, program_id, member_id, member, clock_now),
        survey_responses=_delete_survey_responses(conn, member_id),
        events=_erase_events(conn, member_id),
    )
    _drop_attachments(conn, member_id)
    _erase_member_row(conn, member_id, member.erased_at or clock_now, clock_now)
    if report.changed or not report.already_erased:
        data: dict[str, Any] = {"reason": reason, **report.counts()}
        log_event(
            conn,
            program_id=program_id,
            kind=ERASED_EVENT,
            at=clock_now,
            data=data,
            member_id=member_id,
        )
    return report


def expired_members(
    conn: Connection, program_id: str, retention_days: int, today: date
) -> list[str]:
    """Members (not yet erased) whose every cycle ended at least `retention_days` before today.

    A member's cycles are those of their enrolments and of their form rows (a quarantined
    sign-up has no enrolment but is personal data too). That is the spec's
    `retention.erase_on(cycle)`: on that day the data goes.
    """
    cutoff = today - timedelta(days=retention_days)
    theirs = union_all(
        select(enrolments.c.member_id, enrolments.c.cycle_id),
        select(intake_rows.c.member_id, intake_rows.c.cycle_id).where(
            intake_rows.c.member_id.is_not(None)
        ),
    ).subquery()
    query = (
        select(members.c.id)
        .join(theirs, theirs.c.member_id == members.c.id)
        .join(cycles, cycles.c.id == theirs.c.cycle_id)
        .where(members.c.program_id == program_id, members.c.erased_at.is_(None))
        .group_by(members.c.id)
        .having(func.max(cycles.c.ends_on) <= cutoff)
        .order_by(members.c.id)
    )
    return list(conn.execute(query).scalars())


def erase_expired(
    conn: Connection, program_id: str, retention_days: int, today: date, *, now: datetime
) -> list[str]:
    """Erase every member `expired_members` names (reason `retention`); their ids."""
    found = expired_members(conn, program_id, retention_days, today)
    for member_id in found:
        erase_member(conn, program_id, member_id, now, "retention")
    return found


# --- the steps ---------------------------------------------------------------------------------


def _erase_member_row(conn: Connection, member_id: str, erased_at: datetime, now: datetime) -> None:
    conn.execute(
        update(members)
        .where(members.c.id == member_id)
        .values(
            email=None,
            name=None,
            timezone=None,
            bounce_reason=None,
            erased_at=erased_at,
            updated_at=now,
        )
    )


def _erase_enrolments(conn: Connection, member_id: str, now: datetime) -> int:
    result = conn.execute(
        update(enrolments)
        .where(enrolments.c.member_id == member_id, enrolments.c.status != "erased")
        .values(answers={}, status="erased", updated_at=now)
    )
    return result.rowcount or 0


def _erase_intake_rows(conn: Connection, program_id: str, member_id: str, email: str | None) -> int:
    """The member's form rows, and rows read before the address had a member (quarantined)."""
    program_cycles = select(cycles.c.id).where(cycles.c.program_id == program_id)
    query = select(intake_rows.c.id, intake_rows.c.member_id, intake_rows.c.raw).where(
        intake_rows.c.cycle_id.in_(program_cycles),
        intake_rows.c.raw.is_not(None),
        or_(intake_rows.c.member_id == member_id, intake_rows.c.member_id.is_(None)),
    )
    ids = [
        row.id
        for row in conn.execute(query)
        if row.raw is not None  # JSON `null` from the intake counts as nothing stored
        and (row.member_id == member_id or (email and email in _text(row.raw).lower()))
    ]
    _clear_rows(conn, ids)
    return len(ids)


def _clear_rows(conn: Connection, ids: list[int]) -> None:
    """Cells and reasons of these form rows gone (reasons of old runs may quote answers)."""
    if ids:  # null(): a plain None would be stored as JSON `null`, not SQL NULL
        conn.execute(
            update(intake_rows)
            .where(intake_rows.c.id.in_(ids))
            .values(raw=null(), reasons=ERASED_REASONS)
        )


@dataclass(frozen=True)
class RowErasure:
    """What erasing one sheet row did: copies cleared, and members whose rows were left alone."""

    row_number: int
    cleared: int
    members: tuple[str, ...]  # the row belongs to these members: erase them with erase_member


def erase_form_row(
    conn: Connection, cycle_id: int, source: str, row_number: int, now: datetime
) -> RowErasure:
    """Clear every stored copy of sheet row `row_number` of `source` in the cycle.

    Copies that belong to a member are left to `erase_member` (the person, not one row, is
    what a request names); the others lose their cells and reasons.
    """
    query = select(intake_rows.c.id, intake_rows.c.member_id, intake_rows.c.raw).where(
        intake_rows.c.cycle_id == cycle_id,
        intake_rows.c.source == source,
        intake_rows.c.row_number == row_number,
    )
    found = list(conn.execute(query))
    owners = tuple(sorted({row.member_id for row in found if row.member_id}))
    ids = [row.id for row in found if not row.member_id and row.raw is not None]
    _clear_rows(conn, ids)
    if ids:
        program = select(cycles.c.program_id).where(cycles.c.id == cycle_id)
        log_event(
            conn,
            program_id=conn.execute(program).scalar_one(),
            kind=ROW_ERASED_EVENT,
            at=now,
            data={"source": source, "row_number": row_number, "copies": len(ids)},
            cycle_id=cycle_id,
        )
    return RowErasure(row_number, len(ids), owners)


def _suppress_pending(conn: Connection, member_id: str, now: datetime) -> int:
    result = conn.execute(
        update(outbox)
        .where(outbox.c.member_id == member_id, outbox.c.status == "pending")
        .values(status="suppressed", last_error="suppressed: member erased", updated_at=now)
    )
    return result.rowcount or 0


def _has_content() -> Any:
    return or_(*(outbox.c[name].is_not(None) for name in (*_MAIL_CONTENT, "fills")))


def _clear_mail(conn: Connection, where: Any, now: datetime) -> int:
    """Recipient and content of these mails gone, their own values for a shared text too; a
    shared text no other mail uses is deleted (mail/bodies.py)."""
    shared = conn.execute(select(outbox.c.stamp_id).where(where, outbox.c.stamp_id.is_not(None)))
    stamp_ids = set(shared.scalars())
    result = conn.execute(
        update(outbox)
        .where(where, _has_content())
        .values(updated_at=now, stamp_id=None, fills=null(), **dict.fromkeys(_MAIL_CONTENT))
    )
    drop_unused(conn, stamp_ids)
    return result.rowcount or 0


def _erase_mentions(
    conn: Connection, program_id: str, member_id: str, member: Any, now: datetime
) -> int:
    """Mails to others (introductions) that name the member: content cleared, pending ones
    suppressed (their pairing is gone with the member)."""
    needles = _needles(member.email, member.name)
    if not needles:
        return 0
    others = or_(outbox.c.member_id.is_(None), outbox.c.member_id != member_id)
    rows = conn.execute(
        select(outbox.c.id, *(outbox.c[n] for n in _MAIL_CONTENT), *_SHARED).where(
            outbox.c.program_id == program_id, others, _may_name(needles)
        )
    )
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(n.lower())}(?!\w)" for n in needles))
    bodies = Bodies(conn)
    ids = [
        row.id
        for row in rows
        if any(pattern.search((v or "").lower()) for v in (*row[1:-2], *bodies.of(row)))
    ]
    if not ids:
        return 0
    conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(ids), outbox.c.status == "pending")
        .values(status="suppressed", last_error="suppressed: names an erased member")
    )
    return _clear_mail(conn, outbox.c.id.in_(ids), now)


def _may_name(needles: list[str]) -> Any:
    """Mails that may contain one of `needles` (the search in SQL; Python decides): in their
    own columns, in their values for a shared text (as JSON), or in the shared text."""

    def contains(column: Any, needle: str) -> Any:
        return func.lower(column).contains(needle.lower(), autoescape=True)

    as_json = [json.dumps(n)[1:-1] for n in needles]  # how `fills` holds them
    in_pattern = [n.replace("{", "{{").replace("}", "}}") for n in needles]  # str.format's
    shared = select(mail_stamps.c.id).where(
        or_(
            *(
                contains(mail_stamps.c[name], needle)
                for name in ("text_pattern", "html_pattern")
                for needle in in_pattern
            )
        )
    )
    return or_(
        *(contains(outbox.c[name], needle) for name in _MAIL_CONTENT for needle in needles),
        *(contains(cast(outbox.c.fills, Text), needle) for needle in as_json),
        outbox.c.stamp_id.in_(shared),
    )


def _needles(email: str | None, name: str | None) -> list[str]:
    """What identifies the member in a mail: address, full name (also HTML-escaped)."""
    found = [email] if email else []
    if name and name.strip():
        name = name.strip()
        found += sorted({name, html.escape(name), str(escape(name))})
    return found


def _delete_survey_responses(conn: Connection, member_id: str) -> int:
    # stories are answers too (issue 10): they go with the member, shared or not
    conn.execute(delete(survey_stories).where(survey_stories.c.member_id == member_id))
    result = conn.execute(delete(survey_responses).where(survey_responses.c.member_id == member_id))
    return result.rowcount or 0


def _erase_events(conn: Connection, member_id: str) -> int:
    """Clear the data of the member's events; `member.erased` holds only counts and stays."""
    query = select(events.c.id, events.c.data).where(
        and_(events.c.member_id == member_id, events.c.kind != ERASED_EVENT)
    )
    ids = [row.id for row in conn.execute(query) if row.data]  # JSON has no `=` in PostgreSQL
    if ids:
        conn.execute(update(events).where(events.c.id.in_(ids)).values(data={}))
    return len(ids)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def erase_mail_files(folder: Path, member_id: str, email: str | None) -> int:
    """Delete the `.eml` copies (demo mailbox, dry runs) written to or naming the member."""
    if not folder.is_dir():
        return 0
    needle = email.encode("utf-8") if email else None
    removed = 0
    for path in folder.rglob("*.eml"):
        if member_id in path.name or (needle and needle in path.read_bytes()):
            path.unlink()
            removed += 1
    return removed


# --- closure (issue 11): certificates name the member; the files go, and the outbox's references


def _drop_attachments(conn: Connection, member_id: str) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.member_id == member_id, outbox.c.attachments.is_not(None))
        .values(attachments=null())
    )


def erase_certificates(folder: Path, member_id: str) -> int:
    """Delete the member's certificate PDFs (`<folder>/<cycle label>/<member id>.pdf`)."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.glob(f"*/{member_id}.pdf"):
        path.unlink()
        removed += 1
    return removed
