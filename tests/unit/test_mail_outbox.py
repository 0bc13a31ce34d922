"""The outbox: one row per key, suppression rules, outcomes recorded, rate limit spreads mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mentorflow.clock import FixedClock
from mentorflow.errors import TemporaryMailError
from mentorflow.mail.outbox import deliver_pending, enqueue, enqueue_to_organizers
from mentorflow.mail.sender import RecordingSender, SendResult
from mentorflow.store.tables import members, outbox
from tests.mail_support import NOW, add_member, make_store, settings_for

CLOCK = FixedClock(NOW)
WELCOME = {"role": "mentee", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"}


@pytest.fixture
def store(store_url):
    return make_store(store_url)


def _welcome(engine, cycle, settings, member_id, occurrence="1", template="welcome"):
    context = WELCOME if template == "welcome" else {"topic": "Treffen planen"}
    return enqueue(
        engine,
        settings=settings,
        cycle_id=cycle.id,
        cycle_label=cycle.label,
        member_id=member_id,
        purpose=template,
        template=template,
        context=context,
        clock=CLOCK,
        occurrence=occurrence,
    )


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(outbox).order_by(outbox.c.id)).all()


def test_same_key_is_queued_once_and_rendered_in_the_members_language(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path)
    add_member(engine, "m_de", "zoe@example.org", "Zoë Schäfer", "de")
    add_member(engine, "m_en", "sam@example.org", "Sam Lee", "en")
    add_member(engine, "m_none", "kim@example.org", "Kim Park", None)
    assert _welcome(engine, cycle, settings, "m_de") is True
    assert _welcome(engine, cycle, settings, "m_de") is False
    _welcome(engine, cycle, settings, "m_en")
    _welcome(engine, cycle, settings, "m_none")
    rows = _rows(engine)
    assert [r.key for r in rows] == [
        "pyladies-berlin:2027-1:m_de:welcome:1",
        "pyladies-berlin:2027-1:m_en:welcome:1",
        "pyladies-berlin:2027-1:m_none:welcome:1",
    ]
    assert rows[0].subject == "Willkommen bei PyLadies Berlin Mentoring, Zoë!"
    assert rows[1].subject == "Welcome to PyLadies Berlin Mentoring, Sam!"
    assert rows[2].language == "de"  # no language given: the program default
    assert "1. Februar 2027" in rows[0].text_body and "<li>" in rows[0].html_body
    assert len({r.message_id for r in rows}) == 3


def test_enqueue_many_writes_the_rows_one_enqueue_per_member_would(store, tmp_path):
    from mentorflow.mail.outbox import enqueue_many

    engine, cycle = store
    settings = settings_for(tmp_path)
    add_member(engine, "m_de", "zoe@example.org", "Zoë Schäfer", "de")
    add_member(engine, "m_en", "sam@example.org", "Sam Lee", "en")
    add_member(engine, "m_gone", "kim@example.org", "Kim Park", None, bounced_at=NOW)
    _welcome(engine, cycle, settings, "m_de")  # already queued: left alone
    args = dict(
        settings=settings,
        cycle_id=cycle.id,
        cycle_label=cycle.label,
        purpose="welcome",
        template="welcome",
        clock=CLOCK,
    )
    mails = [(m, WELCOME) for m in ("m_de", "m_en", "m_gone", "m_unknown")]
    assert enqueue_many(engine, mails=mails, **args) == 2  # no row for an unknown member id
    assert enqueue_many(engine, mails=mails, **args) == 0
    rows = {r.member_id: r for r in _rows(engine)}
    assert rows["m_en"].status == "pending" and rows["m_en"].subject.startswith("Welcome to")
    assert rows["m_en"].headers["List-Unsubscribe"].startswith("<https://mentoring.example.org/")
    assert rows["m_gone"].status == "suppressed" and "m_unknown" not in rows
    one_by_one = {c.name for c in outbox.columns} - {"id", "message_id", "key", "member_id"}
    de_again = _rows(engine)[0]
    _welcome(engine, cycle, settings, "m_en", occurrence="2")
    single = _rows(engine)[-1]
    for column in one_by_one - {"created_at", "updated_at", "headers", "html_body", "text_body"}:
        assert getattr(single, column) == getattr(rows["m_en"], column), column
    assert de_again.status == "pending"


def test_unsubscribed_get_only_essential_mail_and_bounced_get_none(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path)
    add_member(engine, "m_unsub", "u@example.org", "Uli", unsubscribed_at=NOW)
    add_member(engine, "m_bounced", "b@example.org", "Bea", bounced_at=NOW)
    add_member(engine, "m_umlaut", "jürgen@example.org", "Jürgen")
    _welcome(engine, cycle, settings, "m_unsub")  # essential: still sent
    _welcome(engine, cycle, settings, "m_unsub", template="reminder")
    _welcome(engine, cycle, settings, "m_bounced")
    _welcome(engine, cycle, settings, "m_umlaut")
    status = {(r.member_id, r.template): (r.status, r.last_error) for r in _rows(engine)}
    assert status[("m_unsub", "welcome")] == ("pending", None)
    assert status[("m_unsub", "reminder")][0] == "suppressed"
    assert "bounced" in status[("m_bounced", "welcome")][1]
    assert "SMTPUTF8" in status[("m_umlaut", "welcome")][1]


def test_delivery_records_sent_and_bounces_the_refused_recipient_only(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path)
    for i in range(3):
        add_member(engine, f"m_{i}", f"p{i}@example.org", f"Person {i}")
        _welcome(engine, cycle, settings, f"m_{i}")
    sender = RecordingSender(results={"p1@example.org": SendResult("permanent", 550, "RCPT: no")})
    report = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert (report.sent, report.bounced) == (2, 1)
    assert [str(m["To"]) for m in sender.sent] == [
        "Person 0 <p0@example.org>",
        "Person 2 <p2@example.org>",
    ]
    with engine.connect() as conn:
        bounced = conn.execute(select(members).where(members.c.id == "m_1")).one()
    assert bounced.bounced_at is not None and "550" in bounced.bounce_reason
    again = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert again.sent == 0 and len(sender.sent) == 2


def test_temporary_recipient_failure_is_retried_later_and_reported(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path)
    add_member(engine, "m_a", "a@example.org", "A")
    add_member(engine, "m_b", "b@example.org", "B")
    _welcome(engine, cycle, settings, "m_a")
    _welcome(engine, cycle, settings, "m_b")
    sender = RecordingSender(results={"a@example.org": SendResult("temporary", 450, "busy")})
    with pytest.raises(TemporaryMailError) as caught:
        deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert "@" not in str(caught.value)
    assert len(sender.sent) == 1  # B went out despite A's deferral
    sender.results.clear()
    later = FixedClock(NOW + timedelta(hours=1))
    report = deliver_pending(engine, settings=settings, sender=sender, clock=later)
    assert report.sent == 1 and len(sender.sent) == 2


def test_daily_limit_spreads_over_days_instead_of_cutting_off(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path, daily_limit=2)
    for i in range(5):
        add_member(engine, f"m_{i}", f"p{i}@example.org", f"P{i}")
        _welcome(engine, cycle, settings, f"m_{i}")
    sender = RecordingSender()
    first = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert (first.sent, first.deferred) == (2, 3)
    same_day = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert same_day.sent == 0
    for day in (1, 2):
        clock = FixedClock(NOW + timedelta(days=day, minutes=1))
        deliver_pending(engine, settings=settings, sender=sender, clock=clock)
    assert len(sender.sent) == 5


def test_rows_left_sending_by_a_crash_become_unconfirmed_and_are_not_sent_again(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path)
    add_member(engine, "m_a", "a@example.org", "A")
    _welcome(engine, cycle, settings, "m_a")
    with engine.begin() as conn:
        conn.execute(outbox.update().values(status="sending", attempts=1))
    sender = RecordingSender()
    report = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert (report.unconfirmed, report.resent, report.sent) == (1, 0, 0) and sender.sent == []
    assert _rows(engine)[0].status == "unconfirmed"
    again = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert again.unconfirmed == 0 and sender.sent == []  # counted once, when it was found


def _introduction(engine, cycle, settings, member_id):
    from mentorflow.mail.samples import sample_context

    return enqueue(
        engine,
        settings=settings,
        cycle_id=cycle.id,
        cycle_label=cycle.label,
        member_id=member_id,
        purpose="introduction",
        template="introduction",
        context=sample_context("introduction", settings.base_url, "de", "Europe/Berlin"),
        clock=CLOCK,
    )


def test_an_unconfirmed_introduction_is_resent_once_with_the_same_message_id(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path)
    add_member(engine, "m_a", "a@example.org", "A")
    _introduction(engine, cycle, settings, "m_a")
    message_id = _rows(engine)[0].message_id
    with engine.begin() as conn:
        conn.execute(outbox.update().values(status="sending", attempts=1))
    sender = RecordingSender()
    report = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert (report.unconfirmed, report.resent, report.sent) == (1, 1, 1)
    assert [m["Message-ID"] for m in sender.sent] == [message_id]
    # The automatic copy was unconfirmed too: no third copy, it waits for an organizer.
    with engine.begin() as conn:
        conn.execute(outbox.update().values(status="sending"))
    report = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert (report.unconfirmed, report.resent, report.sent) == (1, 0, 0)
    assert _rows(engine)[0].status == "unconfirmed" and len(sender.sent) == 1


def test_an_organizer_lists_and_resends_unconfirmed_mail_on_purpose(store, tmp_path):
    from mentorflow.mail.review import resend, unconfirmed

    engine, cycle = store
    settings = settings_for(tmp_path)
    for name in ("a", "b"):
        add_member(engine, f"m_{name}", f"{name}@example.org", name.upper())
        _welcome(engine, cycle, settings, f"m_{name}")
    with engine.begin() as conn:
        conn.execute(outbox.update().values(status="sending", attempts=1))
    deliver_pending(engine, settings=settings, sender=RecordingSender(), clock=CLOCK)
    listed = unconfirmed(engine, settings.program_id)
    assert [(m.template, m.member_id) for m in listed] == [("welcome", "m_a"), ("welcome", "m_b")]
    first = listed[0].id
    assert resend(engine, settings.program_id, [first, 999], CLOCK.now()) == {
        first: None,
        999: "no such mail",
    }
    sender = RecordingSender()
    report = deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK)
    assert report.sent == 1 and [m["To"].addresses[0].username for m in sender.sent] == ["a"]
    assert sender.sent[0]["Message-ID"] == _rows(engine)[0].message_id
    assert [r.status for r in _rows(engine)] == ["sent", "unconfirmed"]
    assert resend(engine, settings.program_id, [first], CLOCK.now()) == {first: "status sent"}


def test_mail_written_as_files_without_smtp_can_be_sent_once_smtp_exists(store, tmp_path):
    from mentorflow.mail.review import count_files, requeue_files
    from mentorflow.mail.sender import EmlFolderSender

    engine, cycle = store
    settings = settings_for(tmp_path)
    add_member(engine, "m_a", "a@example.org", "A")
    _welcome(engine, cycle, settings, "m_a")
    files = EmlFolderSender(tmp_path / "files")
    report = deliver_pending(engine, settings=settings, sender=files, clock=CLOCK)
    assert (report.as_files, report.sent) == (1, 0) and len(list(files.folder.glob("*.eml"))) == 1
    assert _rows(engine)[0].status == "as_file" and count_files(engine, settings.program_id) == 1
    assert requeue_files(engine, settings.program_id, CLOCK.now()) == 1
    sender = RecordingSender()
    assert deliver_pending(engine, settings=settings, sender=sender, clock=CLOCK).sent == 1
    assert len(sender.sent) == 1 and count_files(engine, settings.program_id) == 0


def test_organizer_digest_goes_to_each_organizer_once(store, tmp_path):
    engine, cycle = store
    settings = settings_for(tmp_path)
    context = {"period": "KW 7", "counts": {"Aktive Paare": 3}, "attention": []}
    args = dict(
        settings=settings,
        cycle_id=cycle.id,
        cycle_label=cycle.label,
        purpose="digest",
        template="organizer_digest",
        context=context,
        clock=CLOCK,
        occurrence="2027-W07",
    )
    assert enqueue_to_organizers(engine, **args) == 1
    assert enqueue_to_organizers(engine, **args) == 0
    row = _rows(engine)[0]
    assert row.key == "pyladies-berlin:2027-1:org:0:digest:2027-W07"
    assert row.member_id is None and row.to_addr == "orga@example.org"
    assert "List-Unsubscribe" not in row.headers
