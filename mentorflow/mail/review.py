"""What an organizer does with mail the outbox could not settle alone: list, resend, requeue.

`unconfirmed` mails were handed to the server without a reply (sent or lost: nobody can tell);
`as_file` mails were written as .eml files because the spec had no SMTP server. Both go back to
`pending` only on purpose, keeping their Message-ID, so a receiving system that saw the first
copy can recognise the second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, update

from mentorflow.store.tables import outbox

RESENDABLE = ("unconfirmed", "failed")
_FILES = ("as_file", "dry_run")  # dry_run: the name of as_file before it became reversible


@dataclass(frozen=True)
class OpenMail:
    """One mail as the organizer sees it: ids, never an address."""

    id: int
    template: str
    purpose: str
    member_id: str | None  # None: to an organizer
    at: datetime | None  # when it was handed over
    note: str


def unconfirmed(engine: Engine, program_id: str) -> list[OpenMail]:
    """The program's unconfirmed mails, oldest first."""
    query = (
        select(outbox)
        .where(outbox.c.program_id == program_id, outbox.c.status == "unconfirmed")
        .order_by(outbox.c.id)
    )
    with engine.connect() as conn:
        return [
            OpenMail(r.id, r.template, r.purpose, r.member_id, r.sent_at, r.last_error or "")
            for r in conn.execute(query)
        ]


def resend(
    engine: Engine, program_id: str, ids: Iterable[int], now: datetime
) -> dict[int, str | None]:
    """Queue the chosen unconfirmed (or failed) mails again, same Message-ID.

    Returns, per id, None when queued, else why not (unknown, or its status).
    """
    wanted = sorted(set(ids))
    with engine.begin() as conn:
        found = {
            r.id: r.status if r.to_addr is not None else "erased"
            for r in conn.execute(
                select(outbox.c.id, outbox.c.status, outbox.c.to_addr).where(
                    outbox.c.program_id == program_id, outbox.c.id.in_(wanted)
                )
            )
        }
        ok = [i for i in wanted if found.get(i) in RESENDABLE]
        if ok:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ok))
                .values(
                    status="pending",
                    attempts=0,
                    not_before=None,
                    updated_at=now,
                    last_error="resent on purpose by an organizer",
                )
            )
    return {
        i: None if i in ok else (f"status {found[i]}" if i in found else "no such mail")
        for i in wanted
    }


def count_files(engine: Engine, program_id: str) -> int:
    """Mails written as .eml files and never sent."""
    query = select(func.count()).where(
        outbox.c.program_id == program_id, outbox.c.status.in_(_FILES)
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def requeue_files(engine: Engine, program_id: str, now: datetime) -> int:
    """Mails written only as .eml files become pending again: the next send delivers them."""
    with engine.begin() as conn:
        result = conn.execute(
            update(outbox)
            .where(
                outbox.c.program_id == program_id,
                outbox.c.status.in_(_FILES),
                outbox.c.to_addr.is_not(None),  # erased since: nothing left to send
            )
            .values(status="pending", sent_at=None, not_before=None, updated_at=now)
        )
    return result.rowcount or 0
