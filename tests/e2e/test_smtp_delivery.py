"""Mail through a real SMTP server: what arrives, and what happens when the server misbehaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mentorflow.clock import FixedClock
from mentorflow.errors import MailError, TemporaryMailError
from mentorflow.mail.ics import checkin_invite, stable_uid
from mentorflow.mail.outbox import deliver_pending, enqueue
from mentorflow.mail.sender import sender_for
from mentorflow.store.tables import members, outbox
from tests.mail_support import NOW, add_member, make_store, settings_for, smtp_settings

CLOCK = FixedClock(NOW)
WELCOME = {"role": "mentee", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"}


@pytest.fixture
def setup(smtp_server, tmp_path):
    engine, cycle = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = settings_for(tmp_path, smtp=smtp_settings(smtp_server))
    return engine, cycle, settings


def _queue(engine, cycle, settings, member_id, template="welcome", context=None, ics=None):
    return enqueue(
        engine,
        settings=settings,
        cycle_id=cycle.id,
        cycle_label=cycle.label,
        member_id=member_id,
        purpose=template,
        template=template,
        context=context or WELCOME,
        clock=CLOCK,
        ics=ics,
    )


def _deliver(engine, settings, clock=CLOCK):
    return deliver_pending(engine, settings=settings, sender=sender_for(settings), clock=clock)


def _statuses(engine):
    with engine.connect() as conn:
        return [r.status for r in conn.execute(select(outbox.c.status).order_by(outbox.c.id))]


def test_mail_arrives_with_both_bodies_headers_and_umlauts(setup, smtp_server):
    engine, cycle, settings = setup
    add_member(engine, "m_zoe", "zoe@example.org", "Zoë Schäfer", "de")
    add_member(engine, "m_sam", "sam@example.org", "Sam Lee", "en")
    _queue(engine, cycle, settings, "m_zoe")
    _queue(engine, cycle, settings, "m_sam")
    report = _deliver(engine, settings)
    assert report.sent == 2 and smtp_server.connections == 1  # one connection per batch
    (zoe,) = smtp_server.to("zoe@example.org")
    assert zoe["To"].addresses[0].display_name == "Zoë Schäfer"
    assert zoe["Subject"] == "Willkommen bei PyLadies Berlin Mentoring, Zoë!"
    assert zoe["From"].addresses[0].addr_spec == "mentoring@example.org"
    assert zoe["Reply-To"] == "orga@example.org"
    assert zoe["List-Unsubscribe"].startswith("<https://mentoring.example.org/unsubscribe/")
    assert zoe["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = zoe.get_body(("plain",)).get_content()
    html = zoe.get_body(("html",)).get_content()
    assert "schön, dass Du dabei bist" in text and "<" not in text.split("--")[0]
    assert "<strong>PyLadies Berlin Mentoring</strong>" in html
    (sam,) = smtp_server.to("sam@example.org")
    assert sam["Subject"] == "Welcome to PyLadies Berlin Mentoring, Sam!"
    assert zoe["Message-ID"] != sam["Message-ID"]
    assert all(len(m.get_all("Message-ID")) == 1 for m in smtp_server.messages)
    assert smtp_server.envelopes[0] == ("mentoring@example.org", ["zoe@example.org"])


def test_check_in_carries_a_calendar_request_in_the_members_time_zone(setup, smtp_server):
    engine, cycle, settings = setup
    add_member(engine, "m_zoe", "zoe@example.org", "Zoë Schäfer", "de")
    start = datetime(2027, 2, 16, 17, 0, tzinfo=UTC)
    ics = checkin_invite(
        uid=stable_uid("pyladies-berlin:2027-1:p_1:checkin-1", "example.org"),
        summary="Check-in mit Jürgen",
        description="Wie läuft es?",
        start=start,
        duration=timedelta(minutes=30),
        timezone="Europe/Berlin",
        organizer="mentoring@example.org",
        attendees=["zoe@example.org"],
        stamp=NOW,
    )
    context = {
        "partners": [{"name": "Jürgen Müller"}],
        "checkin_at": start,
        "checkin_url": "https://mentoring.example.org/checkin/x",
        "answer_urls": {
            answer: f"https://mentoring.example.org/checkin/{answer}"
            for answer in ("met", "not_yet", "cannot")
        },
    }
    _queue(engine, cycle, settings, "m_zoe", "check_in", context, ics)
    _deliver(engine, settings)
    (mail,) = smtp_server.messages
    (calendar,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert calendar.get_param("method") == "REQUEST"
    body = calendar.get_content()
    assert "METHOD:REQUEST" in body and "DTSTART;TZID=Europe/Berlin:20270216T180000" in body
    assert "UID:" in body and "Check-in mit Jürgen" in body
    assert mail.get_body(("plain",)).get_content().count("16. Februar 2027") == 1


def _three_members(engine, cycle, settings):
    for name in ("a", "b", "c"):
        add_member(engine, f"m_{name}", f"{name}@example.org", name.upper())
        _queue(engine, cycle, settings, f"m_{name}")


def test_a_5xx_at_rcpt_bounces_that_member_and_the_rest_go_out(setup, smtp_server):
    engine, cycle, settings = setup
    _three_members(engine, cycle, settings)
    smtp_server.refuse_rcpt["b@example.org"] = "550 5.1.1 <b@example.org>: No such user"
    report = _deliver(engine, settings)
    assert (report.sent, report.bounced) == (2, 1)
    assert [m["To"].addresses[0].username for m in smtp_server.messages] == ["a", "c"]
    with engine.connect() as conn:
        b = conn.execute(select(members).where(members.c.id == "m_b")).one()
        error = conn.execute(select(outbox.c.last_error).where(outbox.c.member_id == "m_b"))
    assert b.bounced_at is not None and b.bounce_reason.startswith("55")
    assert "@" not in b.bounce_reason and "@" not in error.scalar_one()
    _queue(engine, cycle, settings, "m_b", "reminder", {"topic": "Treffen"})
    assert _statuses(engine)[-1] == "suppressed"  # never mailed again


def test_a_5xx_after_data_fails_that_mail_not_the_member(setup, smtp_server):
    engine, cycle, settings = setup
    _three_members(engine, cycle, settings)
    rcpts = []

    def spam_filter(event):  # rejects b's message after its DATA: a decision about content
        rcpts.extend([event] if event == "RCPT" else [])
        if event == "RCPT" and len(rcpts) == 2:
            smtp_server.data_replies.append("554 5.7.1 <b@example.org> rejected as spam")

    smtp_server.on_event = spam_filter
    report = _deliver(engine, settings)
    assert (report.sent, report.failed, report.bounced) == (2, 1, 0)
    assert [m["To"].addresses[0].username for m in smtp_server.messages] == ["a", "c"]
    with engine.connect() as conn:
        b = conn.execute(select(members).where(members.c.id == "m_b")).one()
        row = conn.execute(select(outbox).where(outbox.c.member_id == "m_b")).one()
    assert b.bounced_at is None and b.bounce_reason is None  # the address is fine
    assert row.status == "failed"
    assert row.last_error == "DATA end: 554 5.7.1 <address> rejected as spam"
    _queue(engine, cycle, settings, "m_b", "reminder", {"topic": "Treffen"})
    assert _statuses(engine)[-1] == "pending"  # later mail to b still goes out
    _deliver(engine, settings)
    assert [m["To"].addresses[0].username for m in smtp_server.messages] == ["a", "c", "b"]


@pytest.mark.parametrize(
    "fault",
    ["421 at MAIL", "451 at end of DATA", "dropped connection", "server down"],
)
def test_temporary_failures_raise_for_retry_and_lose_nothing(setup, smtp_server, fault):
    engine, cycle, settings = setup
    for name in ("a", "b"):
        add_member(engine, f"m_{name}", f"{name}@example.org", name.upper())
        _queue(engine, cycle, settings, f"m_{name}")
    if fault == "421 at MAIL":
        smtp_server.mail_replies.append("421 4.7.0 Too busy, try later")
    elif fault == "451 at end of DATA":
        smtp_server.data_replies.append("451 4.3.0 Local error in processing")
    elif fault == "dropped connection":
        smtp_server.drop_at_rcpt = 1
    else:
        smtp_server.stop()
    with pytest.raises(TemporaryMailError) as caught:
        _deliver(engine, settings)
    assert "@" not in str(caught.value)
    if fault == "server down":
        smtp_server.start()
    later = FixedClock(NOW + timedelta(hours=1))
    _deliver(engine, settings, later)
    received = sorted(m["To"].addresses[0].username for m in smtp_server.messages)
    assert received == ["a", "b"]
    assert _statuses(engine) == ["sent", "sent"]


def test_login_with_credentials_and_a_refused_login_is_a_clear_error(smtp_server, tmp_path):
    smtp_server.stop()
    smtp_server.credentials = ("mentoring", "s3cret")
    smtp_server.start()
    engine, cycle = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    wrong = smtp_settings(smtp_server, username="mentoring", password="wrong")
    settings = settings_for(tmp_path, smtp=wrong)
    add_member(engine, "m_a", "a@example.org", "A")
    _queue(engine, cycle, settings, "m_a")
    with pytest.raises(MailError, match="refused the login") as caught:
        _deliver(engine, settings)
    assert not isinstance(caught.value, TemporaryMailError)  # configuration: no blind retries
    right = settings_for(
        tmp_path, smtp=smtp_settings(smtp_server, username="mentoring", password="s3cret")
    )
    assert _deliver(engine, right).sent == 1 and len(smtp_server.messages) == 1
