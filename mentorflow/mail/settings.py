"""What mail needs besides the typed spec: the few values only known where it runs.

Mail code reads the program's `ProgramSpec` (sender, SMTP server, organizers, templates)
directly through `MailRuntime.spec`; nothing of the spec is copied here. The runtime adds the
resolved SMTP credentials, the outbox folder and the base URL for links (which may come from
the environment).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mentorflow.paths import home
from mentorflow.spec.model import ProgramSpec, SecretRef

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class SmtpLogin:
    """The credentials of `spec.sender.smtp`, resolved (environment or Prefect Secret block)."""

    username: str | None
    password: str | None


@dataclass(frozen=True)
class MailRuntime:
    spec: ProgramSpec
    base_url: str  # links in mails: the spec's sender.base_url, else MENTORFLOW_BASE_URL
    outbox_dir: Path  # .eml files: MENTORFLOW_HOME/outbox/<program>
    login: SmtpLogin | None = None  # None: not resolved (previews and queuing need none)

    @property
    def program_id(self) -> str:
        return self.spec.program.id

    @property
    def default_language(self) -> str:
        return self.spec.program.language

    @property
    def mail_domain(self) -> str:
        """For Message-IDs: the domain of the from address."""
        return self.spec.sender.from_address.rpartition("@")[2] or "localhost"


def base_url_from(spec_value: str | None) -> str:
    """The spec's `sender.base_url`, else MENTORFLOW_BASE_URL, else the local default."""
    return (configured_base_url(spec_value) or DEFAULT_BASE_URL).rstrip("/")


def configured_base_url(spec_value: str | None) -> str | None:
    """The spec's `sender.base_url`, else MENTORFLOW_BASE_URL, else None (no address known)."""
    return spec_value or os.environ.get("MENTORFLOW_BASE_URL") or None


SecretResolver = Callable[[SecretRef], str]


def _resolve(ref: SecretRef | None, resolver: SecretResolver | None) -> str | None:
    """An env reference resolves itself; Secret blocks need the flow's resolver."""
    if ref is None:
        return None
    if resolver is not None and ref.kind != "env":
        return resolver(ref)
    return ref.resolve()


def mail_runtime(
    spec: ProgramSpec, resolve_secret: SecretResolver | None = None, *, with_smtp: bool = True
) -> MailRuntime:
    """The runtime for `spec`; SMTP credentials are resolved here, once.

    `resolve_secret` resolves `{secret_block: NAME}` references (the flows pass one backed by
    Prefect Secret blocks; the core cannot import Prefect). `with_smtp=False` resolves no
    credentials (previews and queuing need none; such a runtime cannot log in to send).
    """
    smtp, login = spec.sender.smtp, None
    # A dry run never logs in, so its credentials need not be set (examples run without).
    if with_smtp and smtp is not None and not spec.sender.dry_run:
        login = SmtpLogin(
            _resolve(smtp.username, resolve_secret), _resolve(smtp.password, resolve_secret)
        )
    return MailRuntime(
        spec=spec,
        base_url=base_url_from(spec.sender.base_url),
        outbox_dir=home() / "outbox" / spec.program.id,
        login=login,
    )
