"""Address checks shared by intake and the outbox: what our SMTP path can deliver to."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import formataddr

_NOT_IN_AN_ADDRESS = re.compile(r'[\s<>(),;:"\[\]\\]')  # what str.isspace calls space, too

_REASON_NON_ASCII = (
    "the address contains non-ASCII characters; our mail server path has no SMTPUTF8, "
    "so please use an address with plain ASCII letters"
)


def check_address(addr: str) -> str | None:
    """None if `addr` can be mailed, else the reason (without echoing the address)."""
    addr = (addr or "").strip()
    if not addr:
        return "the address is empty"
    if not addr.isascii():
        return _REASON_NON_ASCII
    local, at, domain = addr.rpartition("@")
    if not at or not local or "." not in domain or domain.startswith(".") or domain.endswith("."):
        return "the address is not of the form name@domain.tld"
    if _NOT_IN_AN_ADDRESS.search(addr):
        return "the address contains spaces or characters not allowed in an address"
    if len(addr) > 254:
        return "the address is longer than 254 characters"
    return None


def display_address(name: str | None, addr: str) -> str:
    """`Name <addr>` with the name RFC 2047-encoded when it is not ASCII (umlauts work)."""
    if not name:
        return addr
    return (
        str(Address(display_name=name, addr_spec=addr))
        if name.isascii()
        else formataddr((name, addr), charset="utf-8")
    )
