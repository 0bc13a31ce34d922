"""Organizer sign-in: short-lived single-use links, a signed session cookie, CSRF checks.

A sign-in link carries (organizer, program, nonce) signed with its own salt; the session cookie
carries (organizer, program, CSRF token) signed with another. Member tokens (unsubscribe,
check-in, survey) are signed with other salts, so none of them opens an organizer page, and
neither organizer token can stand in for the other. A used nonce is kept in the `events` table
(kind `organizer_signin`, no member), so a link works once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, Engine, insert, select

from mentorflow.errors import TokenError
from mentorflow.mail.settings import configured_base_url
from mentorflow.spec.model import ProgramSpec
from mentorflow.store.tables import events, programs

SIGNIN_SALT = "mentorflow.organizer-signin"
SESSION_SALT = "mentorflow.organizer-session"
SIGNIN_MAX_AGE = 15 * 60
SESSION_MAX_AGE = 8 * 3600
SESSION_COOKIE = "mentorflow_organizer"
SIGNIN_EVENT = "organizer_signin"
SIGNIN_PATH = "/organizer/sign-in/"


@dataclass(frozen=True)
class Organizer:
    """Who is signed in, for which program; `csrf` goes into every form of the session."""

    email: str
    program_id: str
    csrf: str


def _signer(salt: str, key: str) -> URLSafeSerializer:
    # The issue time is in the signed payload, read against the app's clock (not the wall's).
    return URLSafeSerializer(key, salt=salt)


def organizer_listed(spec: ProgramSpec, email: str) -> bool:
    return any(o.email.lower() == email.lower() for o in spec.program.organizers)


def make_signin_token(spec: ProgramSpec, email: str, key: str, now: datetime) -> str:
    """A sign-in token for an organizer listed in `spec`; TokenError for anyone else."""
    if not organizer_listed(spec, email):
        raise TokenError(f"{email} is not an organizer of {spec.program.id}")
    data = {"o": email.lower(), "p": spec.program.id, "n": secrets.token_urlsafe(16)}
    return _signer(SIGNIN_SALT, key).dumps({**data, "t": int(now.timestamp())})


def signin_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + SIGNIN_PATH + token


def _loads(salt: str, token: str, key: str, max_age: int, now: datetime) -> dict[str, Any]:
    try:
        data = _signer(salt, key).loads(token)
    except BadSignature:
        raise TokenError("the link is not valid") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "op"):
        raise TokenError("the link is not valid")
    issued = data.get("t")
    if not isinstance(issued, int):
        raise TokenError("the link is not valid")
    if not 0 <= now.timestamp() - issued <= max_age:
        raise TokenError("the link has expired")
    return data


def read_signin_token(token: str, key: str, now: datetime) -> tuple[str, str, str]:
    """(organizer email, program id, nonce); TokenError when forged, foreign or expired."""
    data = _loads(SIGNIN_SALT, token, key, SIGNIN_MAX_AGE, now)
    if not isinstance(data.get("n"), str):
        raise TokenError("the link is not valid")
    return data["o"], data["p"], data["n"]


def _spend(conn: Connection, program_id: str, nonce: str, now: datetime) -> bool:
    """Record the nonce as used; False when an earlier use is recorded (then roll back).

    The program row is locked first (PostgreSQL) and the insert comes before the check
    (SQLite takes its write lock there), so of two racing uses exactly one sees none before it.
    """
    conn.execute(select(programs.c.id).where(programs.c.id == program_id).with_for_update())
    mine = conn.execute(
        insert(events)
        .values(program_id=program_id, kind=SIGNIN_EVENT, at=now, data={"nonce": nonce})
        .returning(events.c.id)
    ).scalar_one()
    earlier = conn.execute(
        select(events.c.data).where(
            events.c.program_id == program_id, events.c.kind == SIGNIN_EVENT, events.c.id < mine
        )
    ).scalars()
    return not any(isinstance(d, dict) and d.get("nonce") == nonce for d in earlier)


def use_signin_token(engine: Engine, spec: ProgramSpec, token: str, key: str, now: datetime) -> str:
    """Spend the link: the session cookie's value. TokenError when it is not good (any more)."""
    email, program_id, nonce = read_signin_token(token, key, now)
    if program_id != spec.program.id or not organizer_listed(spec, email):
        raise TokenError("the link is not valid")
    with engine.connect() as conn, conn.begin() as transaction:
        if not _spend(conn, program_id, nonce, now):
            transaction.rollback()
            raise TokenError("the link was used already")
    session = {
        "o": email,
        "p": program_id,
        "c": secrets.token_urlsafe(24),
        "t": int(now.timestamp()),
    }
    return _signer(SESSION_SALT, key).dumps(session)


def read_session(cookie: str | None, key: str, now: datetime) -> Organizer | None:
    """The signed-in organizer of a session cookie, or None (missing, forged or expired)."""
    if not cookie:
        return None
    try:
        data = _loads(SESSION_SALT, cookie, key, SESSION_MAX_AGE, now)
    except TokenError:
        return None
    if not isinstance(data.get("c"), str):
        return None
    return Organizer(data["o"], data["p"], data["c"])


def cookie_secure(request_scheme: str, base_url: str | None) -> bool:
    """Secure when the request came over https or the program is served at an https address."""
    return request_scheme == "https" or (base_url or "").lower().startswith("https://")


def same_site(headers: dict[str, str], host_url: str) -> bool:
    """False for a request a browser marks cross-site (Sec-Fetch-Site, else Origin)."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    wanted = urlsplit(host_url)
    given = urlsplit(origin)
    return (given.scheme, given.netloc) == (wanted.scheme, wanted.netloc)


def csrf_ok(organizer: Organizer, sent: object) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(sent, organizer.csrf)


PAGES = ("", "applicants", "proposal", "quarantine", "mail")


def review_path(program_id: str, page: str = "") -> str:
    """The path of an organizer page: the program id only, nothing about a member."""
    assert page in PAGES
    return f"/organizer/{program_id}/{page}"


def review_note(url: str | None) -> str:
    """The paragraph that points a Prefect form or artifact at its review page (or nothing)."""
    return f"\n\nReview with names (organizer sign-in): {url}" if url else ""


def review_url(spec: ProgramSpec, page: str = "") -> str | None:
    """The page's address under the spec's base_url, else MENTORFLOW_BASE_URL (else None)."""
    base = configured_base_url(spec.sender.base_url)
    return base.rstrip("/") + review_path(spec.program.id, page) if base else None
