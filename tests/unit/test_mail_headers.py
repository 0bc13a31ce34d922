"""Headers as a mail client reads them on the wire: the unsubscribe URL stays a plain URL."""

from __future__ import annotations

from email import message_from_bytes, policy

from mentorflow.mail.message import OutgoingMail, build_message, wire_bytes

URL = "https://mentoring.example.org/unsubscribe/eyJtIjoibV8ybTd2dGdxY3JtYmYifQ.awclZw.OaqAttosjqSe"


def _mail() -> OutgoingMail:
    return OutgoingMail(
        key="demo:2027-02-01:m_1:welcome:1",
        message_id="<1@example.org>",
        from_name="Demo-Mentoring",
        from_address="mentoring@example.org",
        to_address="zoe@example.org",
        to_name="Zoë Schäfer",
        subject="Willkommen, Zoë!",
        text="Hallo Zoë",
        html="<p>Hallo Zoë</p>",
        headers={
            "List-Unsubscribe": f"<{URL}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def test_a_long_unsubscribe_url_is_not_turned_into_an_encoded_word():
    # RFC 2369/8058 clients (Gmail's one-click button) read the raw header: an RFC 2047
    # encoded-word there (=?utf-8?q?=3Chttps...) is not a URL to them.
    for raw in (wire_bytes(build_message(_mail())), build_message(_mail()).as_bytes()):
        assert f"List-Unsubscribe: <{URL}>\r\n".encode() in raw
        parsed = message_from_bytes(raw, policy=policy.default)
        assert parsed["Subject"] == "Willkommen, Zoë!"
        assert parsed["To"].addresses[0].display_name == "Zoë Schäfer"
