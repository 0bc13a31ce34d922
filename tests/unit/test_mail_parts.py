"""Small mail parts: address checks, link tokens, calendar invites, settings from a spec."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from mentorflow.errors import TokenError
from mentorflow.mail.addresses import check_address
from mentorflow.mail.ics import checkin_invite, stable_uid
from mentorflow.mail.settings import mail_runtime
from mentorflow.mail.tokens import UNSUBSCRIBE, make_token, read_token
from mentorflow.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("zoe@example.org", None),
        ("jürgen@example.org", "SMTPUTF8"),
        ("zoe@exämple.org", "SMTPUTF8"),
        ("zoe.example.org", "name@domain"),
        ("zoe @example.org", "spaces"),
        ("", "empty"),
    ],
)
def test_check_address_gives_a_reason_without_echoing_the_address(address, reason):
    found = check_address(address)
    if reason is None:
        assert found is None
    else:
        assert reason in found and (not address or address not in found)


def test_tokens_carry_only_the_member_id_and_refuse_tampering():
    token = make_token(UNSUBSCRIBE, "m_abc", "k1")
    assert read_token(UNSUBSCRIBE, token, "k1") == "m_abc"
    assert "@" not in token
    with pytest.raises(TokenError):
        read_token(UNSUBSCRIBE, token, "k2")
    with pytest.raises(TokenError):
        read_token("survey", token, "k1")
    # change one signature character that carries full bits (the last one carries padding bits,
    # so a blind "replace the tail" edit sometimes decodes to the same signature)
    spot = len(token) - 5
    tampered = token[:spot] + ("A" if token[spot] != "A" else "B") + token[spot + 1 :]
    with pytest.raises(TokenError):
        read_token(UNSUBSCRIBE, tampered, "k1")


def test_checkin_invite_is_a_request_in_the_members_zone_with_a_stable_uid():
    uid = stable_uid("p:c:p_1:checkin-1", "example.org")
    assert uid == stable_uid("p:c:p_1:checkin-1", "example.org")
    text = checkin_invite(
        uid=uid,
        summary="Check-in",
        description="Wie läuft es?",
        start=datetime(2027, 7, 1, 16, 0, tzinfo=UTC),
        duration=timedelta(minutes=45),
        timezone="America/New_York",
        organizer="m@example.org",
        attendees=["a@example.org"],
        stamp=datetime(2027, 6, 1, tzinfo=UTC),
    )
    calendar = icalendar.Calendar.from_ical(text)
    assert calendar["METHOD"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == uid
    start = event.decoded("DTSTART")
    assert (start.hour, str(start.tzinfo)) == (12, "America/New_York")  # 16:00 UTC, EDT


def test_settings_from_the_demo_spec(monkeypatch):
    monkeypatch.delenv("MENTORFLOW_BASE_URL", raising=False)
    settings = mail_runtime(load_spec(ROOT / "program_specs" / "one_to_one.yaml"))
    assert settings.program_id == "demo-mentoring" and settings.default_language == "de"
    assert settings.login is None and settings.spec.sender.reply_to == "orga@example.org"
    assert settings.outbox_dir.parts[-2:] == ("outbox", "demo-mentoring")


def test_settings_resolve_smtp_credentials_from_the_environment(monkeypatch):
    spec = load_spec(ROOT / "program_specs" / "rotational.yaml")
    spec = replace(spec, sender=replace(spec.sender, dry_run=False))  # the example is a dry run
    monkeypatch.setenv("ROTATIONS_SMTP_USER", "user")
    monkeypatch.setenv("ROTATIONS_SMTP_PASSWORD", "secret")
    settings = mail_runtime(spec)
    assert settings.login is not None and settings.login.password == "secret"
    assert "rotation_start" in settings.spec.templates
    assert mail_runtime(spec, with_smtp=False).login is None
