"""Batched delivery claims: what a later sender makes of rows a stopped one left `claimed`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mentorflow.clock import FixedClock
from mentorflow.errors import TemporaryMailError
from mentorflow.mail.claims import CLAIM_BATCH, DURABLE, Commits, current_epoch
from mentorflow.mail.outbox import deliver_pending, enqueue_many
from mentorflow.mail.sender import RecordingSender
from mentorflow.store.tables import outbox
from tests.mail_support import NOW, add_member, make_store, settings_for

CLOCK = FixedClock(NOW)
WELCOME = {"role": "mentee", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"}


@pytest.fixture
def store(store_url):
    return make_store(store_url)


def _queue(engine, cycle, settings, count, template="welcome"):
    context = WELCOME
    if template == "introduction":
        from mentorflow.mail.samples import sample_context

        context = sample_context("introduction", settings.base_url, "de", "Europe/Berlin")
    for i in range(count):
        add_member(engine, f"m_{i:03d}", f"p{i}@example.org", f"Person {i}")
    mails = [(f"m_{i:03d}", context) for i in range(count)]
    enqueue_many(
        engine,
        settings=settings,
        cycle_id=cycle.id,
        cycle_label=cycle.label,
        purpose=template,
        template=template,
        mails=mails,
        clock=CLOCK,
    )


def _statuses(engine):
    with engine.connect() as conn:
        return [r.status for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def _leave_claimed(engine, epoch):
    with engine.begin() as conn:
        conn.execute(outbox.update().values(status="claimed", claim=epoch))


@pytest.mark.parametrize("epoch", [None, DURABLE])  # None: this boot (a crash, not a reboot)
def test_rows_claimed_in_a_surviving_epoch_were_never_handed_over_and_are_sent(
    store, tmp_path, epoch
):
    engine, cycle = store
    settings = settings_for(tmp_path)
    _queue(engine, cycle, settings, 3)
    _leave_claimed(engine, epoch or current_epoch())
    sender = RecordingSender()
    report = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert (report.sent, report.unconfirmed) == (3, 0) and len(sender.sent) == 3
    assert _statuses(engine) == ["sent"] * 3


def test_rows_claimed_before_the_machine_went_down_are_unconfirmed_never_resent(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path)
    _queue(engine, cycle, settings, 2)
    _leave_claimed(engine, "boot:another-boot-id")  # its light commits may be lost
    sender = RecordingSender()
    report = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert (report.sent, report.unconfirmed) == (0, 2) and sender.sent == []
    assert _statuses(engine) == ["unconfirmed"] * 2
    again = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert again.unconfirmed == 0 and sender.sent == []


def test_an_introduction_claimed_before_a_reboot_is_resent_once_by_policy(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path)
    _queue(engine, cycle, settings, 1, template="introduction")
    _leave_claimed(engine, "boot:another-boot-id")
    sender = RecordingSender()
    report = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert (report.unconfirmed, report.resent, report.sent) == (1, 1, 1)


class _StopsAt(RecordingSender):
    def __init__(self, nth: int, error: Exception) -> None:
        super().__init__()
        self.nth, self.error, self.calls = nth, error, 0

    def send(self, mail, handover):
        self.calls += 1
        if self.calls == self.nth:
            raise self.error
        return super().send(mail, handover)


@pytest.mark.parametrize("error", [TemporaryMailError("gone"), RuntimeError("bug")])
def test_a_batch_that_stops_early_leaves_its_unsent_claims_pending(store, tmp_path, error):
    engine, cycle = store
    settings = settings_for(tmp_path)
    _queue(engine, cycle, settings, CLAIM_BATCH + 4)
    sender = _StopsAt(3, error)
    with pytest.raises(type(error)):
        deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert _statuses(engine) == ["sent"] * 2 + ["pending"] * (CLAIM_BATCH + 2)
    report = deliver_pending(engine, settings=settings, sender=RecordingSender(), clock=CLOCK)
    assert (report.sent, report.unconfirmed) == (CLAIM_BATCH + 2, 0)


def test_light_commits_end_with_the_connections_own_durability(store):
    engine, _ = store
    if engine.dialect.name != "sqlite":  # PostgreSQL: every commit waits for its WAL flush
        with engine.connect() as conn, Commits(conn) as commits:
            commits.light()
        assert commits.epoch == DURABLE
        return
    with engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        with Commits(conn) as commits:
            light = conn.exec_driver_sql("PRAGMA synchronous").scalar()
            commits.light()
        after = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert after == before
    if commits.epoch != DURABLE:  # WAL SQLite on Linux: light commits skip the disk wait
        assert light == 1 and commits.epoch == current_epoch()
