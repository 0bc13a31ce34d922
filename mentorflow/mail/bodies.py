"""A mail's text and HTML as the outbox stores them: in its own row, or shared.

Mails rendered for many members at once (intake's welcome mails, `enqueue_many`) share one
rendering: its text and HTML are stored once in `mail_stamps`, with a `str.format` field where
each mail's own values go (the member's name, signed links), and each row keeps its values in
`fills`. A row with `stamp_id` NULL holds its text in `text_body` and `html_body` as before.
Every reader of a mail's content goes through `Bodies` (sending, the `.eml` files, erasure's
search for mentions, the demo's simulated members), so the two forms cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select

from mentorflow.mail.stamp import fill_html
from mentorflow.mail.templates import SharedMail, fill_text
from mentorflow.store.tables import mail_stamps, outbox

# What a query selects for `Bodies.of`
BODY_COLUMNS = (outbox.c.text_body, outbox.c.html_body, outbox.c.stamp_id, outbox.c.fills)


class Bodies:
    """The text and HTML of outbox rows read on one connection (shared parts read once)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._patterns: dict[int, tuple[str, str]] = {}

    def of(self, row: Any) -> tuple[str | None, str | None]:
        """(text, html) of a row selected with `BODY_COLUMNS`; None where erased or none."""
        if row.stamp_id is None or row.fills is None:
            return row.text_body, row.html_body
        text, html = self._pattern(row.stamp_id)
        return fill_text(text, row.fills), fill_html(html, row.fills)

    def text(self, row: Any) -> str:
        return self.of(row)[0] or ""

    def _pattern(self, stamp_id: int) -> tuple[str, str]:
        found = self._patterns.get(stamp_id)
        if found is None:
            query = select(mail_stamps.c.text_pattern, mail_stamps.c.html_pattern)
            row = self.conn.execute(query.where(mail_stamps.c.id == stamp_id)).one()
            found = self._patterns[stamp_id] = (row.text_pattern, row.html_pattern)
        return found


def store_shared(conn: Connection, mails: Iterable[SharedMail], now: datetime) -> dict[int, int]:
    """Store the shared rendering of these mails, once each; id(stamp) -> its `mail_stamps` id.

    Stored within the transaction that inserts the rows, never found and reused later: so a
    rendering is never without the mails that use it (erasure drops it with the last of them).
    """
    ids: dict[int, int] = {}
    for mail in mails:
        if id(mail.stamp) not in ids:
            _, text, html = mail.stamp.patterns
            values = {"text_pattern": text, "html_pattern": html, "created_at": now}
            statement = insert(mail_stamps).values(values).returning(mail_stamps.c.id)
            ids[id(mail.stamp)] = conn.execute(statement).scalar_one()
    return ids


def drop_unused(conn: Connection, stamp_ids: Iterable[int | None]) -> int:
    """Delete those of these shared renderings that no mail uses any more; how many."""
    wanted = sorted({i for i in stamp_ids if i is not None})
    if not wanted:
        return 0
    used = exists().where(outbox.c.stamp_id == mail_stamps.c.id)
    result = conn.execute(delete(mail_stamps).where(mail_stamps.c.id.in_(wanted), ~used))
    return result.rowcount or 0
