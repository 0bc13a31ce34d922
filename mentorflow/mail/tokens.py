"""Signed link tokens: opaque member ids only, one salt per purpose, never an address."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, Signer, URLSafeTimedSerializer

from mentorflow.errors import TokenError
from mentorflow.paths import home

UNSUBSCRIBE = "unsubscribe"
# Unsubscribe links must keep working long after the mail was sent.
MAX_AGE_SECONDS = {UNSUBSCRIBE: 3 * 366 * 24 * 3600}
_KEY_FILE = "secret_key"


def secret_key() -> str:
    """MENTORFLOW_SECRET_KEY, else a random key kept in MENTORFLOW_HOME (created once, 0600)."""
    key = os.environ.get("MENTORFLOW_SECRET_KEY")
    if key:
        return key
    return _key_in(home() / _KEY_FILE)


@lru_cache(maxsize=8)
def _key_in(path: Path) -> str:
    # Read once per process and folder: every mail's unsubscribe link signs with it.
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _serializer(purpose: str, key: str | None) -> URLSafeTimedSerializer:
    return _cached_serializer(purpose, key or secret_key())


@lru_cache(maxsize=16)
def _cached_serializer(purpose: str, key: str) -> URLSafeTimedSerializer:
    # Building one derives keys; enqueueing 10,000 mails asked for the same one 20,000 times.
    return URLSafeTimedSerializer(key, salt=f"mentorflow.{purpose}")


@lru_cache(maxsize=16)
def _signer(purpose: str, key: str) -> tuple[URLSafeTimedSerializer, Signer]:
    # `dumps` builds a signer per token; one per purpose and key signs the same tokens.
    serializer = _cached_serializer(purpose, key)
    return serializer, serializer.make_signer()


def make_token(purpose: str, member_id: str, key: str | None = None) -> str:
    """A signed token for `member_id` (as `URLSafeTimedSerializer.dumps`; `read_token` reads it)."""
    serializer, signer = _signer(purpose, key or secret_key())
    return signer.sign(serializer.dump_payload({"m": member_id})).decode("utf-8")


def read_token(purpose: str, token: str, key: str | None = None) -> str:
    """The member id in a token; TokenError when forged, for another purpose, or expired."""
    max_age = MAX_AGE_SECONDS.get(purpose, 90 * 24 * 3600)
    try:
        data = _serializer(purpose, key).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError("the link has expired") from None
    except BadSignature:
        raise TokenError("the link is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("m"), str):
        raise TokenError("the link is not valid")
    return data["m"]
