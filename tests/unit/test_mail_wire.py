"""The SMTP path writes MIME directly: it must say exactly what `build_message` says."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorflow.mail.message import (
    OutgoingMail,
    _date_line,
    build_message,
    fast_wire_bytes,
    wire_bytes,
)
from mentorflow.mail.sender import smtp_path

ICS = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:Check-in mit Jürgen\r\nEND:VCALENDAR\r\n"
MAIL = OutgoingMail(
    key="p:c:m_1:welcome:1",
    message_id="<abc@example.org>",
    from_name="PyLadies Mentoring, Berlin",
    from_address="mentoring@example.org",
    to_address="zoe@example.org",
    to_name="Zoë Schäfer-Ünal",
    subject="Willkommen bei PyLadies Berlin Mentoring, Zoë! " * 3,
    text="Hallo Zoë,\n.eine Zeile mit Punkt vorn\n" + "lang " * 40 + "\nEnde =3D  \n",
    html="<p>Hallo Zoë</p>\n" * 30,
    ics=ICS,
    headers={
        "Reply-To": "orga@example.org",
        "List-Unsubscribe": "<https://mentoring.example.org/unsubscribe/" + "x" * 120 + ">",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
    date=datetime(2027, 2, 1, 9, 0, tzinfo=UTC),
)
HEADERS = ("From", "To", "Subject", "Message-ID", "Date", "Reply-To", "List-Unsubscribe")


def _unstuff(data: bytes) -> bytes:
    return b"\r\n".join(
        line[1:] if line.startswith(b"..") else line for line in data.split(b"\r\n")
    )


def _parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(_unstuff(data))


@pytest.mark.parametrize("ics", [ICS, None])
def test_fast_wire_bytes_say_what_the_email_package_says(ics):
    from dataclasses import replace

    mail = replace(MAIL, ics=ics)
    fast, slow = _parse(fast_wire_bytes(mail)), _parse(wire_bytes(build_message(mail)))
    for name in (*HEADERS, "List-Unsubscribe-Post"):
        assert str(fast[name]) == str(slow[name]), name
    assert fast["To"].addresses[0].display_name == "Zoë Schäfer-Ünal"
    fast_parts = [(p.get_content_type(), p.get_content()) for p in fast.iter_parts()]
    slow_parts = [(p.get_content_type(), p.get_content()) for p in slow.iter_parts()]
    assert fast_parts == slow_parts
    assert fast.get_content_type() == "multipart/alternative"


def test_fast_wire_bytes_are_smtp_safe():
    data = fast_wire_bytes(MAIL)
    lines = data.split(b"\r\n")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in lines) and data.isascii()
    assert b"\r\n..eine Zeile" in data  # a leading dot is doubled
    assert all(not line.startswith(b".") or line.startswith(b"..") for line in lines)


@pytest.mark.parametrize(
    "text", ["ü" * 60, "a" + "🎉" * 30, "Zoë " * 25, "x" * 38 + "ß" + "y" * 40, "é"]
)
def test_encoded_words_split_between_characters_and_decode_to_the_text(text):
    from dataclasses import replace

    mail = replace(MAIL, subject=text, to_name=text)
    data = fast_wire_bytes(mail)
    parsed = _parse(data)
    assert str(parsed["Subject"]) == text
    assert parsed["To"].addresses[0].display_name == text
    subject = data.split(b"Subject: ", 1)[1].split(b"\r\nMessage-ID:", 1)[0]
    assert all(len(line) <= 78 - len("Subject: ") for line in subject.split(b"\r\n"))


@settings(max_examples=200, deadline=None)
@given(
    address=st.from_regex(r"[A-Za-z0-9_+.-]{1,12}@[A-Za-z0-9.-]{1,12}", fullmatch=True)
    | st.sampled_from(['"a b"@x.org', "Ann <ann@x.org>", "<a@x.org>", "a(c)@x.org", "", " "])
)
def test_mail_from_and_rcpt_to_carry_the_address_as_smtplib_quotes_it(address):
    # the sender writes MAIL FROM / RCPT TO with docmd: the same path as mail() and rcpt()
    assert smtp_path(address) == smtplib.quoteaddr(address)


def test_the_date_header_of_equal_instants_in_two_zones_is_each_zones_own():
    instant = datetime(2027, 2, 1, 9, 0, 0, 250_000, tzinfo=UTC)
    berlin = instant.astimezone(ZoneInfo("Europe/Berlin"))
    utc_line = _date_line(instant.replace(microsecond=0), instant.tzinfo)
    berlin_line = _date_line(berlin.replace(microsecond=0), berlin.tzinfo)
    assert utc_line == b"Date: Mon, 01 Feb 2027 09:00:00 +0000\r\n"
    assert berlin_line == b"Date: Mon, 01 Feb 2027 10:00:00 +0100\r\n"
