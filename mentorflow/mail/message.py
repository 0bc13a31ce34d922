"""Building the MIME message: real plain-text part, HTML alternative, optional calendar part."""

from __future__ import annotations

import binascii
import os
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache

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
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A file sent with the mail (a certificate): its name as the reader sees it, and bytes."""

    filename: str
    content: bytes
    content_type: str = "application/pdf"


def new_message_id(domain: str) -> str:
    """A globally unique Message-ID, assigned once when the mail enters the outbox: 128 random
    bits, as uuid4, taken from a pool read from the OS 256 at a time (one read per id was a
    twentieth of queuing 100,000 welcome mails). A forked child starts with an empty pool."""
    while True:
        try:
            return f"<{_ID_POOL.pop()}@{domain}>"
        except IndexError:  # empty (another thread may have taken the last one): read more
            pool = os.urandom(16 * 256).hex()
            _ID_POOL.extend(pool[i : i + 32] for i in range(0, len(pool), 32))


_ID_POOL: list[str] = []
os.register_at_fork(after_in_child=_ID_POOL.clear)


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
    for item in mail.attachments:  # the alternatives become the first part of multipart/mixed
        main, sub = item.content_type.split("/", 1)
        msg.add_attachment(item.content, maintype=main, subtype=sub, filename=item.filename)
    return msg


_LEADING_DOT = re.compile(rb"(?m)^\.")


def wire_bytes(msg: EmailMessage) -> bytes:
    """The message as SMTP DATA content: CRLF lines, leading dots doubled, no terminator."""
    data = _LEADING_DOT.sub(b"..", msg.as_bytes(policy=_POLICY))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


# --- the SMTP path: the same message, written directly ------------------------------------------
# EmailMessage's header registry and generator cost milliseconds per mail (half of delivery
# time at 10,000 mails); the structure here is fixed, so it is written straight to bytes. The
# parts and headers are those of `build_message` (tests parse both and compare).


def _encoded_words(value: str) -> str:
    """`value` as RFC 2047 base64 encoded-words, folded: the email package picks the shortest
    of two encodings by counting every octet in Python (a third of a millisecond per mail)."""
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in value:
        length = len(char.encode("utf-8"))
        if size + length > _WORD_OCTETS:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += length
    words.append("".join(chunk))
    encoded = (binascii.b2a_base64(w.encode("utf-8"), newline=False).decode() for w in words)
    return "\r\n ".join(f"=?utf-8?b?{word}?=" for word in encoded)


_WORD_OCTETS = 39  # 52 base64 characters: a word of 64, a first line within 78 characters


def _header(name: str, value: str) -> bytes:
    if value.isascii() and len(value) + len(name) < 76:
        return f"{name}: {value}\r\n".encode("ascii")
    if value.isascii():
        encoded = str(Header(value, "us-ascii", header_name=name).encode(linesep="\r\n"))
    else:
        encoded = _encoded_words(value)
    return f"{name}: {encoded}\r\n".encode("ascii")


@lru_cache(maxsize=256)  # From and Reply-To are the same in every mail of a batch
def _addr_header(name: str, display: str | None, addr: str) -> bytes:
    if display and not display.isascii():
        # One word, as formataddr writes it: parsers put a space between a phrase's words.
        word = binascii.b2a_base64(display.encode("utf-8"), newline=False).decode()
        return f"{name}: =?utf-8?b?{word}?= <{addr}>\r\n".encode("ascii")
    return f"{name}: {formataddr((display or '', addr))}\r\n".encode("ascii")


def _qp_part(content_type: str, text: str, params: str = "") -> bytes:
    body = text.replace("\r\n", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(body, quotetabs=False, istext=True).replace(b"\n", b"\r\n")
    if not encoded.endswith(b"\r\n"):
        encoded += b"\r\n"
    head = (
        f'Content-Type: {content_type}; charset="utf-8"{params}\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    return head.encode("ascii") + encoded


def fast_wire_bytes(mail: OutgoingMail) -> bytes:
    """SMTP DATA content for `mail` (as `wire_bytes(build_message(mail))`, built directly)."""
    boundary = f"=_mf_{secrets.token_hex(16)}"  # as uuid4().hex: 32 random hex digits
    head = [
        _addr_header("From", mail.from_name, mail.from_address),
        _addr_header("To", mail.to_name, mail.to_address),
        _header("Subject", mail.subject),
        f"Message-ID: {mail.message_id}\r\n".encode("ascii"),
    ]
    if mail.date is not None:
        head.append(_date_line(mail.date.replace(microsecond=0), mail.date.tzinfo))
    for name, value in mail.headers.items():
        if name.lower() in _RAW_HEADERS:
            head.append(f"{name}: {value}\r\n".encode("ascii"))
        elif name.lower() == "reply-to":
            head.append(_addr_header(name, None, value))
        else:
            head.append(_header(name, value))
    mime = f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="{boundary}"'
    head.append(f"{mime}\r\n\r\n".encode("ascii"))
    parts = [_qp_part("text/plain", mail.text), _qp_part("text/html", mail.html)]
    if mail.ics:
        parts.append(_qp_part("text/calendar", mail.ics, '; method="REQUEST"'))
    # The CRLF before a delimiter belongs to the delimiter, not to the part before it.
    sep = f"\r\n--{boundary}\r\n".encode("ascii")
    body = sep[2:] + sep.join(parts) + f"\r\n--{boundary}--\r\n".encode("ascii")
    if mail.attachments:
        body = _mixed(head, body, mail.attachments)
    data = b"".join(head) + body
    if data.startswith(b".") or b"\n." in data:  # a search in C first: most mails have none
        data = _LEADING_DOT.sub(b"..", data)
    return data


@lru_cache(maxsize=8)  # the header changes once a second: a batch formats it a few times
def _date_line(moment: datetime, zone: tzinfo | None) -> bytes:
    # `zone` is in the key because equal instants in two zones are equal datetimes
    return f"Date: {format_datetime(moment)}\r\n".encode("ascii")


def _mixed(head: list[bytes], alternative: bytes, attachments: tuple[Attachment, ...]) -> bytes:
    """multipart/mixed: the alternatives first, then each file base64-encoded (head changed)."""
    inner = head.pop()  # the multipart/alternative Content-Type becomes the first part's head
    outer = f"=_mf_{uuid.uuid4().hex}"
    head.append(
        f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="{outer}"\r\n\r\n'.encode(
            "ascii"
        )
    )
    first = inner.replace(b"MIME-Version: 1.0\r\n", b"") + alternative
    parts = [first, *(_file_part(item) for item in attachments)]
    sep = f"\r\n--{outer}\r\n".encode("ascii")
    return sep[2:] + sep.join(parts) + f"\r\n--{outer}--\r\n".encode("ascii")


def _file_part(item: Attachment) -> bytes:
    encoded = binascii.b2a_base64(item.content, newline=False)
    lines = b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    name = item.filename.encode("ascii", "replace").decode("ascii").replace('"', "")
    head = (
        f"Content-Type: {item.content_type}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'
    )
    return head.encode("ascii") + lines + b"\r\n"
