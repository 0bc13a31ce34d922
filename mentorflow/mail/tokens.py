"""Signed link tokens: opaque member ids only, one salt per purpose, never an address."""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

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


def make_token(purpose: str, member_id: str, key: str | None = None) -> str:
    """A signed token for `member_id` (as `URLSafeTimedSerializer.dumps`; `read_token` reads it)."""
    return signer(f"mentorflow.{purpose}", key or secret_key())({"m": member_id})


@lru_cache(maxsize=64)
def signer(salt: str, key: str) -> Callable[[Mapping[str, str]], str]:
    """`URLSafeTimedSerializer(key, salt=salt).dumps`, byte for byte, at a fraction of its cost.

    Intake signs three links for each of 100,000 welcome mails; itsdangerous derives the key,
    builds an HMAC and goes through five layers per token. Here the key is derived once and the
    HMAC state is copied per token. The format is itsdangerous' own (its default django-concat
    key derivation, HMAC-SHA1, timestamp in seconds, zlib only when shorter), so itsdangerous
    reads every token (`read_token`, `read_link_token`, `read_survey_token`); a test compares
    both on the same payloads and second. One difference: a payload shorter than
    `ALWAYS_PLAIN` bytes is never compressed (itsdangerous would compress one with long repeats,
    such as 40 times the same letter, and reads both forms).
    """
    derived = hashlib.sha1(salt.encode() + b"signer" + key.encode()).digest()
    # HMAC-SHA1 (RFC 2104) on hashlib's own objects: the hmac module's copy is Python code
    padded = derived.ljust(64, b"\0")
    inner = hashlib.sha1(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha1(bytes(b ^ 0x5C for b in padded))

    def sign(payload: Mapping[str, str]) -> str:
        value = _encoded(_compact_json(payload).encode()) + _timestamp(int(time.time()))
        mac_in = inner.copy()
        mac_in.update(value)
        mac = outer.copy()
        mac.update(mac_in.digest())
        return (value + b"." + _b64(mac.digest())).decode()

    return sign


@lru_cache(maxsize=4)
def _timestamp(seconds: int) -> bytes:
    """ "." and the timestamp as itsdangerous writes it (a batch signs thousands per second)."""
    return b"." + _b64(struct.pack(">Q", seconds).lstrip(b"\x00"))


@lru_cache(maxsize=8)
def _encoded(data: bytes) -> bytes:
    """A payload as itsdangerous writes it (zlib only when shorter), plain below ALWAYS_PLAIN.
    A few are kept: a member's pause and leave links sign one payload under two salts."""
    if len(data) >= ALWAYS_PLAIN and len(compressed := zlib.compress(data)) < len(data) - 1:
        return b"." + _b64(compressed)
    return _b64(data)


# Trying zlib was half the cost of a token (a member id and a cycle label are 40 bytes, which
# compress only when made of long repeats): below this length a payload is written plain.
ALWAYS_PLAIN = 128


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_QUOTE = json.encoder.encode_basestring  # a string as json.dumps(ensure_ascii=False) writes it


def _compact_json(payload: Mapping[str, str]) -> str:
    """`json.dumps(payload, ensure_ascii=False, separators=(",", ":"))` (as itsdangerous)."""
    parts = []
    for k, v in payload.items():
        if type(k) is not str or type(v) is not str:
            return _ENCODE(payload)
        parts.append(_QUOTE(k) + ":" + _QUOTE(v))
    return "{" + ",".join(parts) + "}"


def _b64(data: bytes) -> bytes:
    """`base64.urlsafe_b64encode` without padding (as itsdangerous), without its two calls."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


_URLSAFE = bytes.maketrans(b"+/", b"-_")


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
