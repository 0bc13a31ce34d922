"""Signed, expiring survey tokens: one per member and survey occurrence, ids only, never an address.

The pattern of mentorflow.mail.tokens (itsdangerous, the same secret key) with its own salt, so
an unsubscribe or check-in token never opens a survey. The payload names the member, the survey,
the occurrence and the cycle; signed is not encrypted, so the store checks every claim again.
The token carries when the occurrence closes (signed, so it cannot be moved); after that moment
it is refused as expired, and no token is accepted more than MAX_AGE after it was signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from mentorflow.errors import TokenError
from mentorflow.mail.tokens import secret_key, signer

SALT = "mentorflow.survey"
MAX_AGE = timedelta(days=400)


@dataclass(frozen=True)
class SurveyClaim:
    """What a valid token says: whose answer to which occurrence of which survey, in which cycle."""

    member_id: str
    survey_id: str
    occurrence: str
    cycle_label: str
    closes_at: datetime  # UTC: answers are taken until then
    match_id: str = ""  # the pair it is about (fit check), empty when none


def _serializer(key: str | None) -> URLSafeTimedSerializer:
    return _cached(key or secret_key())


@lru_cache(maxsize=8)
def _cached(key: str) -> URLSafeTimedSerializer:
    # building a serializer derives its signer each time: the tick signs thousands of links
    return URLSafeTimedSerializer(key, salt=SALT)


def make_survey_token(claim: SurveyClaim, key: str | None = None) -> str:
    payload = {"m": claim.member_id, "s": claim.survey_id, "o": claim.occurrence}
    payload["c"] = claim.cycle_label
    payload["x"] = claim.closes_at.isoformat()
    if claim.match_id:
        payload["p"] = claim.match_id
    return signer(SALT, key or secret_key())(payload)


def read_survey_token(token: str, now: datetime, key: str | None = None) -> SurveyClaim:
    """The claim of a token; TokenError when forged, for another purpose, closed or expired."""
    try:
        data = _serializer(key).loads(token, max_age=int(MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise TokenError("the link has expired") from None
    except BadSignature:
        raise TokenError("the link is not valid") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "mscox"):
        raise TokenError("the link is not valid")
    try:
        closes_at = datetime.fromisoformat(data["x"])
    except ValueError:
        raise TokenError("the link is not valid") from None
    if closes_at.tzinfo is None or now >= closes_at:
        raise TokenError("the link has expired")
    return SurveyClaim(
        data["m"], data["s"], data["o"], data["c"], closes_at, str(data.get("p", ""))
    )
