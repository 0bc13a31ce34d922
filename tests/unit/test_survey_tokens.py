"""Issue 10: survey tokens are signed, expire when the occurrence closes, and name ids only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from mentorflow.engagement import links as engagement_links
from mentorflow.errors import TokenError
from mentorflow.mail.tokens import UNSUBSCRIBE, make_token
from mentorflow.surveys.tokens import SALT, SurveyClaim, make_survey_token, read_survey_token

KEY = "test-secret-key-not-for-production"
NOW = datetime(2027, 3, 15, 9, tzinfo=UTC)
CLAIM = SurveyClaim("m_abc", "fit", "1", "2027-03-01", NOW + timedelta(days=21), "p_001")


def test_a_token_reads_back_its_claim_and_holds_no_address() -> None:
    token = make_survey_token(CLAIM, KEY)
    assert read_survey_token(token, NOW, KEY) == CLAIM
    payload = URLSafeTimedSerializer(KEY, salt=SALT).loads(token)
    assert set(payload) == {"m", "s", "o", "c", "x", "p"}
    assert not any("@" in value for value in payload.values())


def test_a_tampered_token_is_refused() -> None:
    token = make_survey_token(CLAIM, KEY)
    body, signature = token.rsplit(".", 1)
    # change a character that carries full bits (the last one may only carry padding bits)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    other = make_survey_token(SurveyClaim("m_xyz", "fit", "1", "2027-03-01", CLAIM.closes_at), KEY)
    spliced = other.rsplit(".", 1)[0] + "." + signature  # another member's payload, this signature
    for bad in (f"{body}.{flipped}", spliced, "x", "", token[:-5]):
        with pytest.raises(TokenError):
            read_survey_token(bad, NOW, KEY)


def test_another_key_or_purpose_does_not_open_a_survey() -> None:
    with pytest.raises(TokenError):
        read_survey_token(make_survey_token(CLAIM, "another-key"), NOW, KEY)
    for foreign in (
        make_token(UNSUBSCRIBE, "m_abc", KEY),
        engagement_links.make_link_token("check_in", "m_abc", KEY, p="p_001", o="1", a="met"),
    ):
        with pytest.raises(TokenError):
            read_survey_token(foreign, NOW, KEY)


def test_a_token_expires_when_its_occurrence_closes() -> None:
    token = make_survey_token(CLAIM, KEY)
    read_survey_token(token, CLAIM.closes_at - timedelta(seconds=1), KEY)
    with pytest.raises(TokenError, match="expired"):
        read_survey_token(token, CLAIM.closes_at, KEY)


def test_a_token_older_than_the_maximum_age_is_expired(monkeypatch) -> None:
    import time

    long_open = SurveyClaim("m_abc", "fit", "1", "2027-03-01", NOW + timedelta(days=900))
    token = make_survey_token(long_open, KEY)
    later = time.time() + 401 * 24 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(TokenError, match="expired"):
        read_survey_token(token, NOW, KEY)
