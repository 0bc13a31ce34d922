"""Signed answer links (check-in, pause, leave, rematch): opaque ids only, one salt per purpose.

The same pattern as mentorflow.mail.tokens (itsdangerous, the same secret key), with a small
payload beside the member id: the pair, the check-in and the answer. Signed is not encrypted, so
nothing in a token may name a person; the store checks every claim again when the link is used.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from mentorflow.errors import TokenError
from mentorflow.mail.tokens import secret_key, signer
from mentorflow.paths import home

CHECK_IN = "check_in"
PAUSE = "pause"
LEAVE = "leave"
REMATCH = "rematch"
ALUMNI = "alumni"  # issue 11: a mentee says yes or no to mentoring next cycle
ALUMNI_ANSWERS = ("yes", "no")
ANSWERS = ("met", "not_yet", "cannot")
_DAY = 24 * 3600
MAX_AGE_SECONDS = {
    CHECK_IN: 60 * _DAY,
    PAUSE: 200 * _DAY,
    LEAVE: 200 * _DAY,
    REMATCH: 30 * _DAY,
    ALUMNI: 180 * _DAY,
}


def _serializer(purpose: str, key: str | None) -> URLSafeTimedSerializer:
    return _cached(purpose, key or link_key())


def link_key() -> str:
    """The key links are signed with (the store's secret key); pass it when signing many."""
    environment = (os.environ.get("MENTORFLOW_SECRET_KEY"), os.environ.get("MENTORFLOW_HOME"))
    return _default_key(*environment, os.getcwd())


@lru_cache(maxsize=8)
def _default_key(_env: str | None, _home: str | None, _cwd: str) -> str:
    # secret_key() resolves the home folder and reads a file: per environment it is one value,
    # so the cache is keyed by what decides it (a kickoff signs two links per mail)
    home()  # the folder is created as secret_key() expects
    return secret_key()


@lru_cache(maxsize=32)
def _cached(purpose: str, key: str) -> URLSafeTimedSerializer:
    # reading: each serializer built once (signing goes through mail.tokens.signer)
    return URLSafeTimedSerializer(key, salt=f"mentorflow.engagement.{purpose}")


def make_link_token(purpose: str, member_id: str, key: str | None = None, **data: str) -> str:
    return signer(f"mentorflow.engagement.{purpose}", key or link_key())({"m": member_id, **data})


def read_link_token(purpose: str, token: str, key: str | None = None) -> dict[str, Any]:
    """The payload of a token; TokenError when forged, for another purpose, or expired."""
    try:
        data = _serializer(purpose, key).loads(token, max_age=MAX_AGE_SECONDS[purpose])
    except SignatureExpired:
        raise TokenError("the link has expired") from None
    except BadSignature:
        raise TokenError("the link is not valid") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise TokenError("the link is not valid")
    if "m" not in data:
        raise TokenError("the link is not valid")
    return data


def check_in_url(base_url: str, member_id: str, match_id: str, occurrence: str, answer: str) -> str:
    token = make_link_token(CHECK_IN, member_id, p=match_id, o=occurrence, a=answer)
    return f"{base_url}/checkin/{token}"


def pause_url(base_url: str, member_id: str, cycle_label: str, key: str | None = None) -> str:
    return f"{base_url}/pause/{make_link_token(PAUSE, member_id, key, c=cycle_label)}"


def leave_url(base_url: str, member_id: str, cycle_label: str, key: str | None = None) -> str:
    return f"{base_url}/leave/{make_link_token(LEAVE, member_id, key, c=cycle_label)}"


def member_links(
    base_url: str, member_id: str, cycle_label: str, key: str | None = None
) -> dict[str, str]:
    """`pause_url` and `leave_url` for a member's mail; the layout's footer shows them. Pass
    `link_key()` as `key` when signing for many members."""
    key = key or link_key()  # once for both: intake signs them for every welcome
    return {
        "pause_url": pause_url(base_url, member_id, cycle_label, key),
        "leave_url": leave_url(base_url, member_id, cycle_label, key),
    }


def rematch_url(base_url: str, member_id: str, match_id: str) -> str:
    return f"{base_url}/rematch/{make_link_token(REMATCH, member_id, p=match_id)}"


def alumni_url(base_url: str, member_id: str, cycle_label: str, answer: str) -> str:
    return f"{base_url}/alumni/{make_link_token(ALUMNI, member_id, c=cycle_label, a=answer)}"
