"""The sender seam: SMTP through yagmail's connection, a folder of .eml files, or a recording.

A sender delivers one `OutgoingMail` at a time within a session (`open` ... `close`, one SMTP
connection per batch). Just before the point of no return (for SMTP: the final "." of DATA) it
calls `handover()`, which lets the outbox record the mail as `sending`; if that returns False the
sender abandons the mail. Outcomes are normalised to `SendResult`. `send` raises
`TemporaryMailError` only when the message was certainly not completed (no final "." left), so
the outbox may put a handed-over mail back to `pending`; `SmtpUnreachableError` when no
connection could be made at all. Texts in results and errors never contain an address.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

from mentorflow.errors import MailError, SmtpUnreachableError, TemporaryMailError
from mentorflow.mail.message import OutgoingMail, build_message, fast_wire_bytes
from mentorflow.mail.settings import MailRuntime, SmtpLogin
from mentorflow.spec.model import Smtp

# permanent: 5xx at RCPT, the address is refused (a bounce); rejected: 5xx for this message
# (after DATA, usually a content decision), the address may be fine.
ACCEPTED, TEMPORARY, PERMANENT, REJECTED, UNCONFIRMED, ABANDONED = (
    "accepted",
    "temporary",
    "permanent",
    "rejected",
    "unconfirmed",
    "abandoned",
)
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")


def redact(text: str) -> str:
    """Server replies often quote the recipient: keep the reason, drop the address."""
    return _ADDRESS.sub("<address>", text)[:300]


@dataclass(frozen=True)
class SendResult:
    status: str  # accepted | temporary | permanent | rejected | unconfirmed | abandoned
    code: int | None = None
    detail: str = ""
    connection_closed: bool = False  # the batch cannot go on over this connection


Handover = Callable[[], bool]


class Sender(Protocol):
    delivers: bool  # False: the mail only lands in files (demo, dry run)

    def open(self) -> None: ...

    def send(self, mail: OutgoingMail, handover: Handover) -> SendResult: ...

    def close(self) -> None: ...


def _reply_text(reply: Any) -> str:
    raw = reply[1] if isinstance(reply, tuple) else b""
    return redact(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))


class _Refused(Exception):
    """A reply other than the expected one, inside `SmtpSender.send`."""

    def __init__(self, stage: str, code: int, detail: str) -> None:
        super().__init__(stage, code)
        self.stage, self.code, self.detail = stage, code, detail


class SmtpSender:
    """SMTP via yagmail: it connects, does STARTTLS/SSL and login, and closes; we drive the
    transaction on its connection step by step so the store can mark the point of no return.

    Exceptions from the connection are classified by attributes (`smtp_code`) and `OSError`
    (smtplib's exceptions derive from it), so no smtplib class is imported or named here.
    """

    delivers = True

    def __init__(self, smtp: Smtp, login: SmtpLogin | None, envelope_from: str) -> None:
        login = login or SmtpLogin(None, None)
        if smtp.username is not None and (login.username is None or login.password is None):
            # yagmail would fall back to keyring and then a blocking password prompt.
            raise MailError("sender.smtp.username is set but no password resolves")
        self.smtp, self.login, self.envelope_from = smtp, login, envelope_from
        self._client: Any = None

    def open(self) -> None:
        """Connect lazily: the first `send` opens the session's single connection."""

    def _connection(self) -> Any:
        if self._client is not None:
            return self._client.smtp
        import yagmail  # imported only when mail really goes out

        s, login = self.smtp, self.login
        client = yagmail.SMTP(
            user=login.username or self.envelope_from,
            password=login.password,
            host=s.host,
            port=s.port,
            smtp_ssl=s.security == "ssl",
            smtp_starttls=s.security == "starttls",
            smtp_skip_login=not login.username,
            soft_email_validation=False,
            timeout=s.timeout_seconds,
        )
        client.set_logging(None)
        if login.username:
            # yagmail appends "@gmail.com" to a user without "@" ("apikey" -> "apikey@gmail.com");
            # SMTP logins are often not addresses, so log in with the name as configured.
            client.user = login.username
        try:
            client.login()
            client.smtp.ehlo_or_helo_if_needed()
            # The DATA terminator goes out as its own small write (after the handover is
            # recorded); without NODELAY, Nagle + delayed ACK stall every mail by ~40 ms.
            client.smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            raise self._connect_error(exc) from None
        self._client = client
        return client.smtp

    def _connect_error(self, exc: OSError) -> MailError:
        """What a failed connect or login means: configuration, busy server, or no server."""
        code = getattr(exc, "smtp_code", None)
        if code is not None and 500 <= code < 600:
            return MailError(f"the SMTP server refused the login (code {code})")
        if code is not None:
            return TemporaryMailError(f"the SMTP server deferred the login (code {code})")
        where = f"SMTP server {self.smtp.host}:{self.smtp.port}"
        if isinstance(exc, ConnectionRefusedError):
            return SmtpUnreachableError(f"{where} refused the connection")
        if isinstance(exc, TimeoutError):
            seconds = self.smtp.timeout_seconds
            return SmtpUnreachableError(f"{where} did not answer within {seconds:g} s")
        return SmtpUnreachableError(f"{where} cannot be reached ({type(exc).__name__})")

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.smtp is not None:
            with contextlib.suppress(OSError):
                client.smtp.close()  # no QUIT: the server may already be gone
            client.is_closed = True

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()

    @staticmethod
    def _expect(reply: tuple[int, bytes], ok: tuple[int, ...], stage: str) -> None:
        if reply[0] not in ok:
            raise _Refused(stage, reply[0], _reply_text(reply))

    def send(self, mail: OutgoingMail, handover: Handover) -> SendResult:
        data = fast_wire_bytes(mail)
        conn = self._connection()
        try:
            self._expect(
                conn.docmd("mail", f"FROM:{smtp_path(self.envelope_from)}"), (250,), "MAIL"
            )
            self._expect(conn.docmd("rcpt", f"TO:{smtp_path(mail.to_address)}"), (250, 251), "RCPT")
            self._expect(conn.docmd("DATA"), (354,), "DATA")
            conn.send(data)
        except _Refused as refused:
            return self._refused(refused)
        except OSError as exc:
            self._drop()
            raise TemporaryMailError(
                f"connection lost before the message was handed over ({type(exc).__name__})"
            ) from None
        return self._finish(conn, handover)

    def _refused(self, refused: _Refused) -> SendResult:
        code, detail = refused.code, f"{refused.stage}: {refused.detail}"
        if refused.stage == "DATA" and 500 <= code < 600:
            detail = f"DATA: {code} {refused.detail}"
        if code == 421 or (refused.stage == "MAIL" and code < 500):
            self._drop()
            raise TemporaryMailError(f"the SMTP server deferred the batch (code {code})")
        if refused.stage == "MAIL":
            self._drop()
            raise MailError(f"the SMTP server refused the sender address (code {code})")
        try:
            self._client.smtp.rset()
        except OSError:
            self._drop()
        status = TEMPORARY
        if 500 <= code < 600:  # only RCPT speaks about the address; DATA about this message
            status = PERMANENT if refused.stage == "RCPT" else REJECTED
        return SendResult(status, code, detail, connection_closed=self._client is None)

    def _not_completed(self, what: str) -> TemporaryMailError:
        self._drop()  # mid-DATA there is no RSET: closing aborts the transaction
        return TemporaryMailError(f"{what}; the message was not completed and stays pending")

    def _finish(self, conn: Any, handover: Handover) -> SendResult:
        if _peer_gone(conn.sock):
            raise self._not_completed("the SMTP server closed or answered before the end of DATA")
        if not handover():
            self._drop()
            return SendResult(ABANDONED)
        # Again after the handover: its durable commit took a while, the server may be gone now.
        if _peer_gone(conn.sock):
            raise self._not_completed("the SMTP server closed or answered before the end of DATA")
        try:
            conn.send(b".\r\n")
        except OSError:
            raise self._not_completed("connection lost before the end of DATA") from None
        try:
            code, resp = conn.getreply()
        except OSError:
            self._drop()
            return SendResult(UNCONFIRMED, None, "connection lost while awaiting the reply", True)
        detail = f"DATA end: {code} {_reply_text((code, resp))}"
        if code == 250:
            return SendResult(ACCEPTED, code)
        if code == 421:
            self._drop()
            return SendResult(TEMPORARY, code, detail, connection_closed=True)
        return SendResult(REJECTED if code >= 500 else TEMPORARY, code, detail)


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def smtp_path(address: str) -> str:
    """`address` as the connection's `mail()` and `rcpt()` write it after MAIL FROM: / RCPT TO:
    (their quoteaddr: `<address>`, parsed by email.utils.parseaddr unless it is plain). Sent
    with `docmd`, which spares the parser for the plain addresses intake stores."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    name, parsed = parseaddr(address)
    if (name, parsed) == ("", ""):
        return address if address.strip().startswith("<") else f"<{address}>"
    return f"<{parsed}>"


def _peer_gone(sock: socket.socket | None) -> bool:
    """True when the server has already closed, reset or answered: what a final "." would then
    complete is undefined, so it is not written. Never blocks; plain sockets are only peeked."""
    if sock is None:
        return True
    tls = isinstance(sock, ssl.SSLSocket)
    buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0  # decrypted, unread
    if not buffered and not select.select([sock], [], [], 0)[0]:
        return False  # nothing arrived: the server is waiting for the rest, as it should
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        # TLS cannot peek; reading is harmless there: any byte now means we stop anyway.
        sock.recv(1) if tls else sock.recv(1, socket.MSG_PEEK)  # b"": closed; data: a reply
    except ssl.SSLWantReadError:
        return False  # only TLS housekeeping (a session ticket) had arrived
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset by the peer
    finally:
        sock.settimeout(timeout)
    return True


def eml_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".eml"


class EmlFolderSender:
    """Writes each mail as `<key>.eml` into a folder: the demo's mailbox and the dry run."""

    delivers = False

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, mail: OutgoingMail, handover: Handover) -> SendResult:
        target = self.folder / eml_name(mail.key)
        temp = target.with_suffix(".eml.tmp")
        temp.write_bytes(build_message(mail).as_bytes())
        if not handover():
            temp.unlink(missing_ok=True)
            return SendResult(ABANDONED)
        os.replace(temp, target)
        return SendResult(ACCEPTED, 250)

    def close(self) -> None:
        return None


@dataclass
class RecordingSender:
    """Keeps what it was given; `results` scripts an outcome per recipient (unit tests only)."""

    results: dict[str, SendResult] = field(default_factory=dict)
    sent: list[EmailMessage] = field(default_factory=list)
    delivers: bool = True

    def open(self) -> None:
        return None

    def send(self, mail: OutgoingMail, handover: Handover) -> SendResult:
        result = self.results.get(mail.to_address, SendResult(ACCEPTED, 250))
        if result.status != ACCEPTED:
            return result
        if not handover():
            return SendResult(ABANDONED)
        self.sent.append(build_message(mail))
        return result

    def close(self) -> None:
        return None


def sender_for(mail: MailRuntime) -> Sender:
    """SMTP when the spec configures a server and this is no dry run; else .eml files."""
    sender = mail.spec.sender
    if sender.smtp is None or sender.dry_run:
        return EmlFolderSender(mail.outbox_dir)
    if mail.login is None:
        raise MailError("this mail runtime was made without SMTP credentials: it cannot send")
    return SmtpSender(sender.smtp, mail.login, sender.from_address)
