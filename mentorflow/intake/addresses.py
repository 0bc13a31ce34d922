"""Sign-up addresses checked by email-validator (syntax and IDN, no DNS), once per address.

The store keys members on the ASCII form: an internationalised domain (`bücher.de`) becomes its
IDNA form (`xn--bcher-kva.de`), which our SMTP path can deliver to; a non-ASCII local part
cannot be delivered without SMTPUTF8 and is refused. Reasons never repeat the address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from mentorflow.intake.values import normalise_email
from mentorflow.mail.addresses import check_address

# A local part this plain is valid for email-validator whatever the domain: only the domain then
# needs its (slower) check, once per distinct domain. Anything else takes the full check; a test
# holds the shortcut to email-validator's verdict.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_CACHE_LIMIT = 200_000  # distinct addresses kept per checker: free text must not grow it forever


@dataclass(frozen=True)
class CheckedAddress:
    """An address as intake keeps it (`email`, normalised ASCII) or why it cannot (`reason`)."""

    email: str | None
    reason: str | None = None


class AddressChecker:
    """Checks addresses for one intake run; each distinct address and domain is checked once."""

    def __init__(self) -> None:
        self._addresses: dict[str, CheckedAddress] = {}
        self._domains: dict[str, bool] = {}

    def check(self, raw: str) -> CheckedAddress:
        found = self._addresses.get(raw)
        if found is None:
            if len(self._addresses) > _CACHE_LIMIT:
                self._addresses.clear()
            found = self._addresses[raw] = self._plain(raw) or full_check(raw)
        return found

    def _plain(self, raw: str) -> CheckedAddress | None:
        """The shortcut for `plain.local@domain`, or None when the full check must decide."""
        local, at, domain = raw.rpartition("@")
        if not at or len(local) > 64 or len(raw) > 254 or not _PLAIN_LOCAL.fullmatch(local):
            return None
        valid = self._domains.get(domain)
        if valid is None:
            valid = self._domains[domain] = full_check(f"x@{domain}").email == f"x@{domain}"
        return CheckedAddress(normalise_email(raw)) if valid else None


def full_check(raw: str) -> CheckedAddress:
    """email-validator's verdict on one address, as intake keeps it."""
    local = raw.rpartition("@")[0]
    if not local.isascii():
        return CheckedAddress(None, check_address(raw))  # no SMTPUTF8 on our path: say so
    try:
        valid = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        return CheckedAddress(None, _reason(str(error)))
    email = normalise_email(valid.ascii_email or valid.normalized)
    refused = check_address(email)  # what the outbox will refuse, intake refuses first
    return CheckedAddress(None, refused) if refused else CheckedAddress(email)


def _reason(message: str) -> str:
    """email-validator's message without the characters it quotes from the address."""
    text = message.split(": ", 1)[0].rstrip(".")
    return text[:1].lower() + text[1:]
