"""What mail delivery needs to know about a program, taken from its spec once."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mentorflow.paths import home

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class Organizer:
    name: str
    email: str


@dataclass(frozen=True)
class MailSettings:
    program_id: str
    default_language: str = "en"
    from_name: str = "mentorflow"
    from_address: str = "mentoring@example.org"
    reply_to: str | None = None
    base_url: str = DEFAULT_BASE_URL
    smtp: SmtpSettings | None = None
    daily_limit: int | None = None
    dry_run: bool = False
    template_overrides: dict[str, Path] = field(default_factory=dict)
    outbox_dir: Path = field(default_factory=lambda: home() / "outbox")
    program_name: str = ""
    organizers: tuple[Organizer, ...] = ()
    timezone: str = "UTC"

    @property
    def mail_domain(self) -> str:
        return self.from_address.rpartition("@")[2] or "localhost"


def base_url_from(spec_value: str | None) -> str:
    """The spec's `sender.base_url`, else MENTORFLOW_BASE_URL, else the local default."""
    url = spec_value or os.environ.get("MENTORFLOW_BASE_URL") or DEFAULT_BASE_URL
    return url.rstrip("/")


SecretResolver = Callable[[Any], str]


def _resolve(value: Any, resolver: SecretResolver | None) -> str | None:
    """A SecretRef (env resolves itself; Secret blocks need the flow's resolver), or nothing."""
    if value is None:
        return None
    if resolver is not None and getattr(value, "kind", "env") != "env":
        return resolver(value)
    return str(value.resolve()) if hasattr(value, "resolve") else str(value)


def _smtp_from(smtp: Any, resolver: SecretResolver | None) -> SmtpSettings | None:
    if smtp is None:
        return None
    return SmtpSettings(
        host=smtp.host,
        port=int(smtp.port),
        security=smtp.security,
        username=_resolve(smtp.username, resolver),
        password=_resolve(smtp.password, resolver),
        timeout=float(smtp.timeout_seconds),
    )


def mail_settings_from_spec(
    spec: Any, resolve_secret: SecretResolver | None = None, *, with_smtp: bool = True
) -> MailSettings:
    """MailSettings from a loaded ProgramSpec; credentials are resolved here, once.

    `resolve_secret` resolves `{secret_block: NAME}` references (the flows pass one backed by
    Prefect Secret blocks; the core cannot import Prefect). Environment references resolve alone.
    `with_smtp=False` leaves SMTP out (previews need no credentials).
    """
    program, sender = spec.program, spec.sender
    organizers = tuple(Organizer(name=o.name or "", email=o.email) for o in program.organizers)
    return MailSettings(
        program_id=program.id,
        default_language=program.language,
        from_name=sender.from_name,
        from_address=sender.from_address,
        reply_to=sender.reply_to,
        base_url=base_url_from(sender.base_url),
        # A dry run never logs in, so its credentials need not be set (examples run without).
        smtp=_smtp_from(sender.smtp, resolve_secret) if with_smtp and not sender.dry_run else None,
        daily_limit=sender.daily_limit,
        dry_run=bool(sender.dry_run),
        template_overrides={name: Path(folder) for name, folder in spec.templates.items()},
        outbox_dir=home() / "outbox" / program.id,
        program_name=program.name,
        organizers=organizers,
        timezone=program.timezone,
    )
