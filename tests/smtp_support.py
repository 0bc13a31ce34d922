"""A real SMTP server for tests and the fault suite (aiosmtpd, in-process, 127.0.0.1, random port).

`SmtpServer` has `.host`, `.port`, `.messages` (EmailMessage, in arrival order), `.envelopes`
((mail_from, rcpt_tos) per accepted message), `.connections`, and knobs for fault injection:
- `refuse_rcpt[address] = "550 5.1.1 No such user"`: per-recipient reply at RCPT;
- `mail_replies.append("421 4.7.0 Try again later")`: replies for the next MAIL FROM commands;
- `data_replies.append("451 4.3.0 Local error")`: replies for the next ends of DATA;
- `drop_at_rcpt = n`: drop the connection at the next n RCPT commands;
- `on_event = callable(stage)`: called at each "MAIL", "RCPT" and "DATA" (message complete,
  before the 250 reply) and "REPLIED" (just after the 250 reply went out);
- `data_delay = seconds`: wait this long (without holding up other connections) between a
  message's arrival and its 250 reply, as a busy server does;
- `stop()` / `start()`: take the server down and bring it back on the same port;
- `credentials = ("user", "password")` before `start()`: require AUTH (plain text allowed).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    connections: int = 0
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    mail_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    drop_at_rcpt: int = 0
    data_delay: float = 0.0
    on_event: Callable[[str], None] | None = None
    credentials: tuple[str, str] | None = None
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- aiosmtpd handler hooks ---
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    def _event(self, stage: str) -> None:
        if self.on_event is not None:
            self.on_event(stage)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self._event("MAIL")
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self._event("RCPT")
        if self.drop_at_rcpt > 0:
            self.drop_at_rcpt -= 1
            server.transport.abort()
            return "421 4.4.2 Connection dropped"
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        self._event("DATA")
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        # Runs once the reply below has been written to the socket.
        asyncio.get_running_loop().call_soon(self._event, "REPLIED")
        return "250 OK: queued"

    # --- lifecycle ---
    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = self.credentials == (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        auth = {}
        if self.credentials is not None:
            auth = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(self, hostname=self.host, port=self.port, **auth)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose To: header holds `address`."""
        return [m for m in self.messages if address in str(m["To"])]
