"""The outbox: every mail is rendered into the store under an idempotency key, then delivered once.

Keys are `<program>:<cycle label>:<member id>:<purpose>:<occurrence>` (organizers: `org:<index>`
in place of the member id). States: pending -> sending -> sent | unconfirmed | bounced | failed,
or suppressed at enqueue, or pending -> as_file when the sender only writes .eml files (back to
pending with `requeue_files`). `sending` is recorded just before the point of no return (the
final "."); a row still `sending` when a sender starts was handed over by a sender that stopped:
it becomes `unconfirmed` (sent or lost, nobody can tell), like a mail whose reply was lost.
Unconfirmed mail is never sent again by itself, except templates in
`policy.RESEND_UNCONFIRMED` (once, same Message-ID); `resend` does it on purpose (docs/mail.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from mentorflow import progress
from mentorflow.clock import Clock
from mentorflow.errors import MailError, SmtpUnreachableError, TemporaryMailError
from mentorflow.mail import sender as outcomes
from mentorflow.mail.addresses import check_address
from mentorflow.mail.bodies import Bodies, store_shared
from mentorflow.mail.claims import CLAIM_BATCH, DURABLE, Commits, current_epoch
from mentorflow.mail.lease import delivery_lock
from mentorflow.mail.message import Attachment, OutgoingMail, new_message_id
from mentorflow.mail.policy import ESSENTIAL_TEMPLATES, MAX_AUTO_RESENDS, RESEND_UNCONFIRMED
from mentorflow.mail.sender import EmlFolderSender, Sender, SendResult
from mentorflow.mail.settings import MailRuntime
from mentorflow.mail.templates import RenderedMail, SharedMail, render, render_batch
from mentorflow.mail.tokens import UNSUBSCRIBE, make_token, secret_key
from mentorflow.paths import home
from mentorflow.store.bulk import Prepared, insert_many
from mentorflow.store.repo import log_event
from mentorflow.store.tables import members, outbox

MAX_ATTEMPTS = 8
_BACKOFF_MINUTES = (5, 15, 60, 180, 360, 720, 1440)
_CHUNK = 200


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    # handed over without a reply (lost after the ".", or left `sending` by a stopped sender)
    unconfirmed: int = 0
    resent: int = 0  # unconfirmed ones queued again by policy.RESEND_UNCONFIRMED (same Message-ID)
    bounced: int = 0
    temporary_failures: int = 0
    deferred: int = 0  # held back by the daily limit, not_before set to a later day
    as_files: int = 0  # written as .eml files, not sent (no SMTP in the spec, or dry_run)
    failed: int = 0  # refused for its content (5xx after DATA), or MAX_ATTEMPTS 4xx in a row
    pending: int = 0  # due, but left pending when the batch stopped early

    def add(self, **counts: int) -> DeliveryReport:
        return replace(self, **{k: getattr(self, k) + v for k, v in counts.items()})


def message_key(
    program: str, cycle_label: str, recipient: str, purpose: str, occurrence: str
) -> str:
    return f"{program}:{cycle_label}:{recipient}:{purpose}:{occurrence}"


class _KeyTakenError(Exception):
    """A concurrent enqueue inserted the same key first."""


@contextmanager
def _transaction(engine_or_conn: Engine | Connection) -> Iterator[Connection]:
    if isinstance(engine_or_conn, Connection):
        yield engine_or_conn  # the caller's transaction: the caller commits
        return
    try:
        with engine_or_conn.begin() as conn:
            yield conn
    except IntegrityError:
        raise _KeyTakenError from None


def unsubscribe_url(settings: MailRuntime, member_id: str, key: str | None = None) -> str:
    return f"{settings.base_url}/unsubscribe/{make_token(UNSUBSCRIBE, member_id, key)}"


def standard_context(
    settings: MailRuntime,
    *,
    member_id: str | None,
    name: str | None,
    cycle_label: str,
    unsubscribe: str | None = None,
) -> dict[str, Any]:
    """Variables every template may use (see notifications/README.md)."""
    if unsubscribe is None and member_id:
        unsubscribe = unsubscribe_url(settings, member_id)
    return {
        "member": _member_variables(member_id, name),
        "program": {
            "id": settings.program_id,
            "name": settings.spec.program.name or settings.program_id,
        },
        "cycle_label": cycle_label,
        "base_url": settings.base_url,
        "contact_email": settings.spec.sender.reply_to or settings.spec.sender.from_address,
        "unsubscribe_url": unsubscribe,
    }


def _member_variables(member_id: str | None, name: str | None) -> dict[str, Any]:
    name = name or ""
    return {"id": member_id, "name": name, "first_name": name.split(" ")[0] if name else ""}


def _headers(settings: MailRuntime, unsubscribe: str | None) -> dict[str, str]:
    headers = {"Reply-To": settings.spec.sender.reply_to} if settings.spec.sender.reply_to else {}
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def _suppression(member: Any, template: str) -> str | None:
    if member is None:
        return "unknown member"
    if member.erased_at is not None or not member.email:
        return "member erased"
    if member.bounced_at is not None:
        return "address bounced permanently"
    if member.unsubscribed_at is not None and template not in ESSENTIAL_TEMPLATES:
        return "member unsubscribed from optional mail"
    return check_address(member.email)


def _key_exists(conn: Connection, key: str) -> bool:
    return conn.execute(select(outbox.c.id).where(outbox.c.key == key)).first() is not None


_NO_CONTENT = dict.fromkeys(
    ("to_addr", "to_name", "subject", "text_body", "html_body", "stamp_id", "fills", "last_error")
)
_INSERT = insert(outbox)  # values as parameters: one compiled statement for every row


def _insert(conn: Connection, values: dict[str, Any]) -> bool:
    conn.execute(_INSERT, values)
    return True


def enqueue(
    engine_or_conn: Engine | Connection,
    *,
    settings: MailRuntime,
    cycle_id: int | None,
    cycle_label: str,
    member_id: str,
    purpose: str,
    template: str,
    context: dict[str, Any],
    clock: Clock,
    occurrence: str = "1",
    ics: str | None = None,
    attachments: list[str] | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Render template `template` for member `member_id` into the outbox; True if newly queued.

    Idempotent on the key: a second call with the same key changes nothing and returns False.
    Bounced, erased and (for optional mail) unsubscribed members get a `suppressed` row.
    `attachments` are file paths relative to MENTORFLOW_HOME, read when the mail is sent;
    `not_before` holds the mail back until then (the member's send window).
    """
    key = message_key(settings.program_id, cycle_label, member_id, purpose, occurrence)
    try:
        with _transaction(engine_or_conn) as conn:
            if _key_exists(conn, key):
                return False
            values = _base_row(settings, key, cycle_id, member_id, purpose, template, clock.now())
            values.update(_member_mail(conn, settings, member_id, template, context, cycle_label))
            values["ics"] = ics if values["status"] == "pending" else None
            if attachments and values["status"] == "pending":
                values["attachments"] = list(attachments)
            values["not_before"] = not_before
            return _insert(conn, values)
    except _KeyTakenError:
        return False


def enqueue_many(
    engine_or_conn: Engine | Connection,
    *,
    settings: MailRuntime,
    cycle_id: int | None,
    cycle_label: str,
    purpose: str,
    template: str,
    mails: Iterable[tuple[str, dict[str, Any]]],
    clock: Clock,
    occurrence: str = "1",
) -> int:
    """`enqueue` for many members at once, (member id, context) each; the number newly queued.

    The same rows as one `enqueue` per member, with three statements for the whole batch
    instead of three per mail (the bulk stages queue thousands at a time).
    """
    by_key = {
        message_key(settings.program_id, cycle_label, member_id, purpose, occurrence): (
            member_id,
            context,
        )
        for member_id, context in mails
    }
    if not by_key:
        return 0
    try:
        with _transaction(engine_or_conn) as conn:
            return _insert_new(
                conn, settings, cycle_id, cycle_label, purpose, template, by_key, clock
            )
    except _KeyTakenError:  # a concurrent writer got one first: settle them one by one
        return sum(
            enqueue(
                engine_or_conn,
                settings=settings,
                cycle_id=cycle_id,
                cycle_label=cycle_label,
                member_id=member_id,
                purpose=purpose,
                template=template,
                context=context,
                clock=clock,
                occurrence=occurrence,
            )
            for member_id, context in by_key.values()
        )


def _insert_new(
    conn: Connection,
    settings: MailRuntime,
    cycle_id: int | None,
    cycle_label: str,
    purpose: str,
    template: str,
    by_key: dict[str, tuple[str, dict[str, Any]]],
    clock: Clock,
) -> int:
    taken = set(
        conn.execute(select(outbox.c.key).where(outbox.c.key.in_(list(by_key)))).scalars().all()
    )
    todo = {key: item for key, item in by_key.items() if key not in taken}
    wanted = [member_id for member_id, _ in todo.values()]
    query = select(*_MEMBER_COLUMNS).where(members.c.id.in_(wanted))
    found = {m.id: m for m in conn.execute(query).all()}  # fetched at once, not row by row
    now, rows, owed = clock.now(), [], []
    signing_key = secret_key()  # looked up once per batch, not once per mail
    # what is the same for the whole batch, built once: the row's columns, the template's
    # standard variables (each mail puts in its member, unsubscribe link and message id)
    base = {**_NO_CONTENT, **_base_row(settings, "", cycle_id, None, purpose, template, now)}
    standard = standard_context(settings, member_id=None, name=None, cycle_label=cycle_label)
    for key, (member_id, context) in todo.items():
        member = found.get(member_id)
        if member is None:
            continue  # as with `enqueue`: the row's member id must exist (foreign key)
        values = {**base, "key": key, "member_id": member_id}
        values["message_id"] = new_message_id(settings.mail_domain)
        reason = _suppression(member, template)
        if reason is None:
            unsubscribe = unsubscribe_url(settings, member_id, signing_key)
            full = {
                **standard,
                "member": _member_variables(member.id, member.name),
                "unsubscribe_url": unsubscribe,
                **context,
            }
            owed.append((values, member, unsubscribe, full))
        else:
            values.update(_suppressed(settings, member, reason))
        rows.append(values)
    rendered = render_batch(
        template,
        [full for *_, full in owed],
        [member.language for _, member, _, _ in owed],
        default_language=settings.default_language,
        overrides=settings.spec.templates,
    )
    stamp_ids = store_shared(conn, [m for m in rendered if isinstance(m, SharedMail)], now)
    for (values, member, unsubscribe, _), mail in zip(owed, rendered, strict=True):
        if isinstance(mail, SharedMail):  # its text once for the batch, its own values here
            values.update(_content(settings, member, mail, unsubscribe, with_bodies=False))
            values.update(stamp_id=stamp_ids[id(mail.stamp)], fills=list(mail.values))
        else:
            values.update(_content(settings, member, mail, unsubscribe))
    insert_many(conn, outbox, rows)  # every row has the same keys: one shape for executemany
    return len(rows)


# What suppression and a mail's recipient need of a member (the other timestamps are not parsed).
_MEMBER_COLUMNS = [
    members.c[name]
    for name in (
        "id", "email", "name", "language", "erased_at", "bounced_at", "unsubscribed_at",
    )
]  # fmt: skip


def _member_mail(
    conn: Connection,
    settings: MailRuntime,
    member_id: str,
    template: str,
    context: dict[str, Any],
    cycle_label: str,
) -> dict[str, Any]:
    """The row's recipient and content columns, or its suppression."""
    member = conn.execute(select(members).where(members.c.id == member_id)).first()
    return _mail_values(member, settings, member_id, template, context, cycle_label)


def _mail_values(
    member: Any,
    settings: MailRuntime,
    member_id: str,
    template: str,
    context: dict[str, Any],
    cycle_label: str,
) -> dict[str, Any]:
    reason = _suppression(member, template)
    if reason is not None:
        return _suppressed(settings, member, reason)
    unsubscribe = unsubscribe_url(settings, member_id)
    mail = render(
        template,
        _context(settings, member, context, cycle_label, unsubscribe),
        language=member.language,
        default_language=settings.default_language,
        overrides=settings.spec.templates,
    )
    return _content(settings, member, mail, unsubscribe)


def _suppressed(settings: MailRuntime, member: Any, reason: str) -> dict[str, Any]:
    language = (member.language if member else None) or settings.default_language
    return {"status": "suppressed", "last_error": f"suppressed: {reason}", "language": language}


def _context(
    settings: MailRuntime, member: Any, context: dict[str, Any], cycle_label: str, unsubscribe: str
) -> dict[str, Any]:
    base = standard_context(
        settings,
        member_id=member.id,
        name=member.name,
        cycle_label=cycle_label,
        unsubscribe=unsubscribe,
    )
    return {**base, **context}


def _content(
    settings: MailRuntime,
    member: Any,
    mail: RenderedMail | SharedMail,
    unsubscribe: str,
    *,
    with_bodies: bool = True,
) -> dict[str, Any]:
    """The row's recipient and content (the text and HTML only `with_bodies`)."""
    return {
        "language": mail.language,
        "to_addr": member.email,
        "to_name": member.name,
        "subject": mail.subject,
        "text_body": mail.text if with_bodies else None,
        "html_body": mail.html if with_bodies else None,
        "headers": _headers(settings, unsubscribe),
    }


def enqueue_to_organizers(
    engine_or_conn: Engine | Connection,
    *,
    settings: MailRuntime,
    cycle_id: int | None,
    cycle_label: str,
    purpose: str,
    template: str,
    context: dict[str, Any],
    clock: Clock,
    occurrence: str = "1",
    only: str | None = None,
) -> int:
    """Queue `template` for each organizer of the spec (key `...:org:<index>:...`); new rows.

    `only`: the address of the one organizer to write to (a sign-in link is personal).
    """
    queued = 0
    with _transaction(engine_or_conn) as conn:  # organizers' digests: one writer, no race
        for index, organizer in enumerate(settings.spec.program.organizers):
            if only is not None and organizer.email.lower() != only.lower():
                continue
            key = message_key(settings.program_id, cycle_label, f"org:{index}", purpose, occurrence)
            if _key_exists(conn, key):
                continue
            full = {
                **standard_context(
                    settings, member_id=None, name=organizer.name, cycle_label=cycle_label
                ),
                **context,
            }
            mail = render(
                template,
                full,
                language=settings.default_language,
                default_language=settings.default_language,
                overrides=settings.spec.templates,
            )
            values = _base_row(settings, key, cycle_id, None, purpose, template, clock.now())
            values.update(
                language=mail.language,
                to_addr=organizer.email,
                to_name=organizer.name,
                subject=mail.subject,
                text_body=mail.text,
                html_body=mail.html,
                headers=_headers(settings, None),  # organizers: no unsubscribe link
            )
            queued += _insert(conn, values)
    return queued


def _base_row(
    settings: MailRuntime,
    key: str,
    cycle_id: int | None,
    member_id: str | None,
    purpose: str,
    template: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "key": key,
        "program_id": settings.program_id,
        "cycle_id": cycle_id,
        "member_id": member_id,
        "purpose": purpose,
        "template": template,
        "language": settings.default_language,
        "headers": {},
        "status": "pending",
        "attempts": 0,
        "message_id": new_message_id(settings.mail_domain),
        "created_at": now,
        "updated_at": now,
    }


# --- delivery ---------------------------------------------------------------------------------


def reconcile(conn: Connection, program_id: str, now: datetime) -> tuple[int, int]:
    """(unconfirmed, resent): rows a stopped sender left `sending` become `unconfirmed`, and so do
    rows it left `claimed` in an epoch whose light commits may be gone (mail/claims.py); claimed
    rows that surely never reached `sending` are `pending` again. Then the unconfirmed mails whose
    template is resent by policy go back to `pending`, once."""
    mine = (outbox.c.program_id == program_id, outbox.c.status == "claimed")
    surely_unsent = outbox.c.claim.in_((DURABLE, current_epoch()))
    conn.execute(update(outbox).where(*mine, surely_unsent).values(status="pending", claim=None))
    lost_epoch = conn.execute(
        update(outbox)
        .where(*mine)
        .values(
            status="unconfirmed",
            attempts=outbox.c.attempts + 1,
            sent_at=outbox.c.updated_at,  # the moment of the claim
            updated_at=now,
            last_error="unconfirmed: the machine stopped while this mail was claimed for sending",
        )
    ).rowcount
    found = conn.execute(
        update(outbox)
        .where(outbox.c.program_id == program_id, outbox.c.status == "sending")
        .values(
            status="unconfirmed",
            sent_at=outbox.c.updated_at,  # the moment of the handover
            updated_at=now,
            last_error="unconfirmed: the sender stopped after handing the message over",
        )
    ).rowcount
    resent = conn.execute(
        update(outbox)
        .where(
            outbox.c.program_id == program_id,
            outbox.c.status == "unconfirmed",
            outbox.c.template.in_(sorted(RESEND_UNCONFIRMED)),
            outbox.c.attempts <= MAX_AUTO_RESENDS,
        )
        .values(status="pending", not_before=None, updated_at=now)
    ).rowcount
    conn.commit()
    return (found or 0) + (lost_epoch or 0), resent or 0


def _due_ids(conn: Connection, program_id: str, now: datetime) -> list[int]:
    due = (outbox.c.not_before.is_(None)) | (outbox.c.not_before <= now)
    rows = conn.execute(
        select(outbox.c.id)
        .where(outbox.c.program_id == program_id, outbox.c.status == "pending", due)
        .order_by(outbox.c.id)
    )
    return [row.id for row in rows]


def _sent_last_day(conn: Connection, program_id: str, now: datetime) -> int:
    query = select(func.count()).where(
        outbox.c.program_id == program_id,
        outbox.c.status.in_(("sent", "unconfirmed", "bounced")),
        outbox.c.sent_at > now - timedelta(days=1),
    )
    return int(conn.execute(query).scalar_one())


def _apply_daily_limit(
    conn: Connection, settings: MailRuntime, ids: list[int], now: datetime
) -> tuple[list[int], int]:
    """(ids to send now, number deferred): the rest gets not_before on the following days."""
    limit = settings.spec.sender.daily_limit
    if not limit:
        return ids, 0
    budget = max(0, limit - _sent_last_day(conn, settings.program_id, now))
    now_ids, later = ids[:budget], ids[budget:]
    for day in range(0, len(later), limit):
        chunk = later[day : day + limit]
        not_before = now + timedelta(days=1 + day // limit)
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(chunk))
            .values(not_before=not_before, updated_at=now)
        )
    conn.commit()
    return now_ids, len(later)


def outgoing(row: Any, settings: MailRuntime, now: datetime, bodies: Bodies) -> OutgoingMail:
    """The `OutgoingMail` for an outbox row (selected with `_SEND_COLUMNS`), dated `now`."""
    text, html = bodies.of(row)
    if text is None or html is None:  # erased: erasure suppresses such a row before this
        raise MailError(f"outbox mail {row.id} has no content (erased)")
    return OutgoingMail(
        key=row.key,
        message_id=row.message_id,
        from_name=settings.spec.sender.from_name,
        from_address=settings.spec.sender.from_address,
        to_address=row.to_addr,
        to_name=row.to_name,
        subject=row.subject,
        text=text,
        html=html,
        ics=row.ics,
        headers=dict(row.headers or {}),
        date=now,
        attachments=_attachments(row),
    )


def _attachments(row: Any) -> tuple[Attachment, ...]:
    """The row's files, read now; a file gone since (erased) is left out, never an error."""
    found = []
    for name in row.attachments or ():
        path = home() / name
        if path.is_file():
            found.append(Attachment(path.name, path.read_bytes()))
    return tuple(found)


def _rows(conn: Connection, ids: list[int]) -> Iterator[Any]:
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = select(*_SEND_COLUMNS).where(outbox.c.id.in_(chunk)).order_by(outbox.c.id)
        yield from conn.execute(query)


# What sending and recording a row reads (no timestamps: parsing four per row costs more than
# building the row's message).
_SEND_COLUMNS = [
    outbox.c[name]
    for name in (
        "id",
        "key",
        "cycle_id",
        "member_id",
        "template",
        "attempts",
        "message_id",
        "to_addr",
        "to_name",
        "subject",
        "text_body",
        "html_body",
        "stamp_id",
        "fills",
        "ics",
        "headers",
        "attachments",
    )
]


# The statements every mail runs, built once (bound parameters) rather than per mail.
_CLAIM = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("row_ids", expanding=True)), outbox.c.status == "pending")
    .values(status="claimed", claim=bindparam("epoch"), updated_at=bindparam("now"))
)
_HELD = select(outbox.c.id).where(
    outbox.c.id.in_(bindparam("row_ids", expanding=True)), outbox.c.status == "claimed"
)
_HANDOVER = Prepared(
    update(outbox)
    .where(outbox.c.id == bindparam("row_id"), outbox.c.status == "claimed")
    .values(status="sending", attempts=outbox.c.attempts + 1, updated_at=bindparam("now"))
)
_UNCLAIM = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("row_ids", expanding=True)), outbox.c.status == "claimed")
    .values(status="pending", claim=None)
)
_SENT = Prepared(
    update(outbox)
    .where(outbox.c.id == bindparam("row_id"))
    .values(status=bindparam("final"), sent_at=bindparam("now"), updated_at=bindparam("now"))
    .values(last_error=None)
)


def _claim(conn: Connection, commits: Commits, rows: list[Any], now: datetime) -> list[Any]:
    """Claim `rows` (pending -> claimed) in one durable commit; the rows this sender now holds."""
    ids = [row.id for row in rows]
    conn.execute(_CLAIM, {"row_ids": ids, "epoch": commits.epoch, "now": now})
    commits.durable()
    held = {row_id for (row_id,) in conn.execute(_HELD, {"row_ids": ids})}
    return [row for row in rows if row.id in held]


def _handover(conn: Connection, commits: Commits, row_id: int, now: datetime) -> bool:
    """claimed -> sending, just before the point of no return (a light commit: the claim is
    durable, and this one survives a crash of the sender; see mail/claims.py)."""
    matched = _HANDOVER.rowcount(conn, row_id=row_id, now=now)
    commits.light()
    return matched == 1


def _set(conn: Connection, row_id: int, **values: Any) -> None:
    conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))


def _record_bounce(
    conn: Connection, settings: MailRuntime, row: Any, result: SendResult, now: datetime
) -> None:
    reason = f"{result.code} {result.detail}".strip()
    _set(conn, row.id, status="bounced", last_error=reason, sent_at=now, updated_at=now)
    if row.member_id:
        conn.execute(
            update(members)
            .where(members.c.id == row.member_id)
            .values(bounced_at=now, bounce_reason=reason, updated_at=now)
        )
        log_event(
            conn,
            program_id=settings.program_id,
            kind="mail_bounced",
            at=now,
            cycle_id=row.cycle_id,
            member_id=row.member_id,
            data={"key": row.key, "code": result.code},
        )


def _record_temporary(
    conn: Connection, row: Any, detail: str, handed_over: bool, now: datetime
) -> str:
    attempts = row.attempts + 1  # handover already counted it in the store; `row` is older
    if attempts >= MAX_ATTEMPTS:
        status, not_before = "failed", None
    else:
        status = "pending"
        minutes = _BACKOFF_MINUTES[min(attempts, len(_BACKOFF_MINUTES)) - 1]
        not_before = now + timedelta(minutes=minutes)
    extra = {} if handed_over else {"attempts": attempts}
    _set(
        conn,
        row.id,
        status=status,
        last_error=detail,
        not_before=not_before,
        updated_at=now,
        **extra,
    )
    return status


def _record(
    conn: Connection,
    settings: MailRuntime,
    sender: Sender,
    row: Any,
    result: SendResult,
    now: datetime,
) -> dict[str, int]:
    """Store one send's outcome; the counts it adds to the report."""
    status = result.status
    if status == outcomes.ABANDONED:
        return {}
    if status == outcomes.ACCEPTED:
        final = "sent" if sender.delivers else "as_file"
        _SENT.rowcount(conn, row_id=row.id, final=final, now=now)
        return {"sent": 1} if sender.delivers else {"as_files": 1}
    if status == outcomes.UNCONFIRMED:
        note = f"unconfirmed: {result.detail}"
        _set(conn, row.id, status="unconfirmed", sent_at=now, updated_at=now, last_error=note)
        return {"unconfirmed": 1}
    if status == outcomes.PERMANENT:
        _record_bounce(conn, settings, row, result, now)
        return {"bounced": 1}
    if status == outcomes.REJECTED:  # about this message, not the address: the member keeps it
        _set(conn, row.id, status="failed", last_error=result.detail, updated_at=now)
        return {"failed": 1}
    handed_over = conn.execute(select(outbox.c.status).where(outbox.c.id == row.id)).scalar_one()
    detail = f"{result.code or ''} {result.detail}".strip()
    final = _record_temporary(conn, row, detail, handed_over == "sending", now)
    return {"failed": 1} if final == "failed" else {"temporary_failures": 1}


def _release(conn: Connection, row_id: int, detail: str, now: datetime) -> None:
    """The sender says the message was not completed: a handed-over row is pending again, with
    no attempt counted (the connection failed, not this mail)."""
    conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id, outbox.c.status == "sending")
        .values(status="pending", attempts=outbox.c.attempts - 1)
    )
    _set(conn, row_id, last_error=detail, updated_at=now)
    conn.commit()


def deliver_pending(
    engine: Engine,
    *,
    settings: MailRuntime,
    sender: Sender,
    clock: Clock,
    limit: int | None = None,
) -> DeliveryReport:
    """Deliver the program's due pending mail over one sender session, each key at most once.

    One delivery of a program at a time (mail/lease.py): a second one waits for the first to end.
    Raises TemporaryMailError (after recording everything; `.report` holds the counts) when a
    temporary failure stopped the batch or left mails pending, so a retrying caller tries again
    later; SmtpUnreachableError when no connection could be made (retrying soon is pointless).
    """
    with delivery_lock(engine, settings.program_id), engine.connect() as conn:
        unconfirmed, resent = reconcile(conn, settings.program_id, clock.now())
        report = DeliveryReport(unconfirmed=unconfirmed, resent=resent)
        ids = _due_ids(conn, settings.program_id, clock.now())
        ids, deferred = _apply_daily_limit(conn, settings, ids, clock.now())
        report = report.add(deferred=deferred)
        ids = ids[:limit] if limit is not None else ids
        report, stopped = _send_all(conn, settings, sender, clock, ids, report)
        if stopped is not None:
            report = report.add(pending=_still_pending(conn, ids))
    if stopped is not None or report.temporary_failures:
        raise _incomplete(report, stopped)
    return report


def _still_pending(conn: Connection, ids: list[int]) -> int:
    query = select(func.count()).where(outbox.c.id.in_(ids), outbox.c.status == "pending")
    return int(conn.execute(query).scalar_one())


def _incomplete(report: DeliveryReport, stopped: TemporaryMailError | None) -> TemporaryMailError:
    if isinstance(stopped, SmtpUnreachableError):
        error: TemporaryMailError = SmtpUnreachableError(
            f"{stopped}; {report.pending} mail(s) stay pending for the next run"
        )
    else:
        reason = stopped or "some recipients deferred"
        error = TemporaryMailError(
            f"mail delivery incomplete: {report.sent} sent, {report.temporary_failures} "
            f"temporary failure(s), {report.pending} left pending; {reason}"
        )
    error.report = report  # type: ignore[attr-defined]
    return error


def _send_all(
    conn: Connection,
    settings: MailRuntime,
    sender: Sender,
    clock: Clock,
    ids: list[int],
    report: DeliveryReport,
) -> tuple[DeliveryReport, TemporaryMailError | None]:
    """Send rows `ids` in order, claimed `CLAIM_BATCH` at a time; (report, what stopped the
    batch early or None). Claimed rows left unsent on the way out are pending again."""
    sender.open()
    bodies = Bodies(conn)
    with Commits(conn) as commits, progress.track("mail: sending", len(ids)) as bar:
        try:
            for batch in _batches(_rows_fresh(conn, ids)):
                claimed = _claim(conn, commits, batch, clock.now())
                try:
                    report, stopped = _send_claimed(
                        conn, commits, settings, sender, clock, bodies, claimed, report
                    )
                finally:
                    conn.rollback()  # an aborted statement must not hold up the release
                    conn.execute(_UNCLAIM, {"row_ids": [row.id for row in claimed]})
                    commits.light()
                bar.advance(len(batch))
                if stopped is not None:
                    return report, stopped
            return report, None
        finally:
            sender.close()


def _send_claimed(
    conn: Connection,
    commits: Commits,
    settings: MailRuntime,
    sender: Sender,
    clock: Clock,
    bodies: Bodies,
    rows: list[Any],
    report: DeliveryReport,
) -> tuple[DeliveryReport, TemporaryMailError | None]:
    for row in rows:
        now = clock.now()
        claim = partial(_handover, conn, commits, row.id, now)
        try:
            result = sender.send(outgoing(row, settings, now, bodies), claim)
        except TemporaryMailError as exc:
            _release(conn, row.id, str(exc), now)
            return report, exc
        except MailError as exc:
            _set(conn, row.id, last_error=str(exc), updated_at=now)
            conn.commit()
            raise
        report = report.add(**_record(conn, settings, sender, row, result, now))
        commits.light()
        if result.connection_closed:
            reason = f"connection closed ({result.code or result.status})"
            return report, TemporaryMailError(reason)
    return report, None


def _batches(rows: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CLAIM_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _rows_fresh(conn: Connection, ids: list[int]) -> Iterator[Any]:
    # Read chunk by chunk between commits, so 10,000 bodies never sit in memory at once.
    for start in range(0, len(ids), _CHUNK):
        yield from list(_rows(conn, ids[start : start + _CHUNK]))


def preview_pending(
    engine: Engine, *, settings: MailRuntime, clock: Clock, limit: int | None = None
) -> int:
    """Write due pending mail as .eml files into `<outbox_dir>/preview`; states stay as they are."""
    folder = EmlFolderSender(settings.outbox_dir / "preview")
    folder.open()
    written = 0
    with engine.connect() as conn:
        ids = _due_ids(conn, settings.program_id, clock.now())[:limit]
        bodies = Bodies(conn)
        for row in _rows_fresh(conn, ids):
            folder.send(outgoing(row, settings, clock.now(), bodies), lambda: True)
            written += 1
    return written
