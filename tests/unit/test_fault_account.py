"""The fault suite's account (benchmarks/faultlib.py) sees a double send and a silent loss."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select, update

from benchmarks.faultlib import account
from mentorflow.store.tables import outbox
from tests.mail_support import make_store, queue_mails, settings_for


def _store(tmp_path, statuses: list[str]):  # type: ignore[no-untyped-def]
    engine, cycle = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    queue_mails(engine, cycle, settings_for(tmp_path), "welcome", len(statuses))
    with engine.begin() as conn:
        ids = list(conn.execute(select(outbox.c.id).order_by(outbox.c.id)).scalars())
        for row_id, status in zip(ids, statuses, strict=True):
            error = None if status in ("sent", "pending") else f"{status}: a reason"
            conn.execute(
                update(outbox).where(outbox.c.id == row_id).values(status=status, last_error=error)
            )
    with engine.connect() as conn:
        message_ids = list(
            conn.execute(select(outbox.c.message_id).order_by(outbox.c.id)).scalars()
        )
    return engine, message_ids


def _received(*message_ids: str) -> list[EmailMessage]:
    messages = []
    for message_id in message_ids:
        message = EmailMessage()
        message["Message-ID"] = message_id
        messages.append(message)
    return messages


def test_a_clean_outbox_has_nothing_to_report(tmp_path):
    engine, ids = _store(tmp_path, ["sent", "sent", "pending", "unconfirmed", "failed"])
    found = account(engine, _received(ids[0], ids[1]))
    assert (found.duplicates, found.lost, found.unconfirmed) == (0, 0, 1)


def test_a_message_received_twice_or_still_due_after_delivery_is_a_duplicate(tmp_path):
    engine, ids = _store(tmp_path, ["sent", "pending"])
    found = account(engine, _received(ids[0], ids[0], ids[1]))
    assert found.duplicates == 2 and found.lost == 0


def test_sent_but_never_received_or_owed_but_missing_is_a_silent_loss(tmp_path):
    engine, ids = _store(tmp_path, ["sent", "sent"])
    found = account(engine, _received(ids[0]), owed={"pyladies-berlin:2027-1:m_999:x:1"})
    assert found.lost == 2 and len(found.notes) == 2
