"""Building the MIME message: real plain-text part, HTML alternative, optional calendar part."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

# Headers set raw (below) are written as given, not refolded: Python folds a long URL into an
# RFC 2047 encoded-word, which RFC 2369/8058 clients do not read as a List-Unsubscribe URL.
_POLICY = policy.SMTP.clone(refold_source="none")
_RAW_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})


@dataclass(frozen=True)
class OutgoingMail:
    """One mail as the sender needs it; `key` and `message_id` identify it, never the address."""

    key: str
    message_id: str
    from_name: str
    from_address: str
    to_address: str
    to_name: str | None
    subject: str
    text: str
    html: str
    ics: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    date: datetime | None = None


def new_message_id(domain: str) -> str:
    """A globally unique Message-ID, assigned once when the mail enters the outbox."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def _address(name: str | None, addr: str) -> Address:
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name or "", username=local, domain=domain)


def build_message(mail: OutgoingMail) -> EmailMessage:
    """The EmailMessage for `mail`: text/plain, text/html alternative, text/calendar REQUEST."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = _address(mail.from_name, mail.from_address)
    msg["To"] = _address(mail.to_name, mail.to_address)
    msg["Subject"] = mail.subject
    msg["Message-ID"] = mail.message_id
    if mail.date is not None:
        msg["Date"] = format_datetime(mail.date)
    for name, value in mail.headers.items():
        if name.lower() in _RAW_HEADERS:
            msg.set_raw(name, value)  # ASCII by construction (signed token URL)
        else:
            msg[name] = value
    # quoted-printable keeps every line 7-bit: no reliance on the server's 8BITMIME.
    msg.set_content(mail.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(mail.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if mail.ics:
        msg.add_alternative(
            mail.ics,
            subtype="calendar",
            charset="utf-8",
            cte="quoted-printable",
            params={"method": "REQUEST"},
        )
    return msg


_LEADING_DOT = re.compile(rb"(?m)^\.")


def wire_bytes(msg: EmailMessage) -> bytes:
    """The message as SMTP DATA content: CRLF lines, leading dots doubled, no terminator."""
    data = _LEADING_DOT.sub(b"..", msg.as_bytes(policy=_POLICY))
    return data if data.endswith(b"\r\n") else data + b"\r\n"
