"""Issue 9: the welcome and the introduction carry the pause and leave links the tick's mails do,
in both languages, text and HTML; leaving from the welcome keeps a member out of matching."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from mentorflow.clock import FixedClock
from mentorflow.engagement import answers, links
from mentorflow.intake import mails
from mentorflow.mail.settings import MailRuntime
from mentorflow.matching import build_pool, handover, solve, store_io
from mentorflow.matching.settings import settings_from_spec
from mentorflow.store.tables import outbox
from tests.fakes.matching import intake_csv

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "issue8"
NOW = datetime(2027, 1, 26, 9, 0, tzinfo=UTC)
LINK = re.compile(r"http://127\.0\.0\.1:8000/(pause|leave)/([A-Za-z0-9_.\-]+)")


def _program(tmp_path):  # type: ignore[no-untyped-def]
    """The German sign-up data with Priya writing in English: both languages in one cycle."""
    text = (DATA / "bounced_partner.csv").read_text(encoding="utf-8")
    text = text.replace("Priya Nair;Mentee;Deutsch;", "Priya Nair;Mentee;Englisch;")
    (tmp_path / "mixed.csv").write_text(text, encoding="utf-8")
    spec, engine, cycle = intake_csv(tmp_path, tmp_path / "mixed.csv")
    mail = MailRuntime(spec=spec, base_url="http://127.0.0.1:8000", outbox_dir=tmp_path / "out")
    return spec, engine, cycle, mail


def _mails(engine, purpose: str) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.execute(select(outbox).where(outbox.c.purpose == purpose)))


def _assert_links(mail_row, cycle_label: str) -> None:  # type: ignore[no-untyped-def]
    for body in (mail_row.text_body, mail_row.html_body):
        found = dict(LINK.findall(body))
        assert set(found) == {"pause", "leave"}, body
        for purpose, token in found.items():
            claim = links.read_link_token(purpose, token)
            assert claim == {"m": mail_row.member_id, "c": cycle_label}
    words = ("Pause", "Leave the program") if mail_row.language == "en" else ("Pausieren",)
    assert all(w in mail_row.text_body for w in words)


def _match(spec, engine, cycle):  # type: ignore[no-untyped-def]
    settings = settings_from_spec(spec)
    with engine.connect() as conn:
        found = store_io.load_pool_input(conn, spec.program.id, cycle.id)
    result = solve(build_pool(found.records, settings, week_of=spec.cycle.start), settings)
    with engine.begin() as conn:
        ids = store_io.save_proposal(conn, cycle.id, result, NOW)
    return result, ids


def test_welcome_mails_carry_pause_and_leave_links_in_both_languages(tmp_path):
    spec, engine, cycle, mail = _program(tmp_path)
    mails.queue_intake_mails(engine, spec, mail, FixedClock(NOW))
    welcome = _mails(engine, "welcome")
    assert {m.language for m in welcome} == {"de", "en"}
    for row in welcome:
        _assert_links(row, cycle.label)


def test_introductions_carry_pause_and_leave_links_in_both_languages(tmp_path):
    spec, engine, cycle, mail = _program(tmp_path)
    result, ids = _match(spec, engine, cycle)
    handover.introduce(engine, spec, mail, cycle.id, result, ids, FixedClock(NOW))
    intros = _mails(engine, "introduction")
    assert {m.language for m in intros} == {"de", "en"}
    for row in intros:
        _assert_links(row, cycle.label)


def test_a_member_who_left_from_the_welcome_is_not_matched(tmp_path):
    spec, engine, cycle, mail = _program(tmp_path)
    mails.queue_intake_mails(engine, spec, mail, FixedClock(NOW))
    before, _ = _match(spec, engine, cycle)
    leaver = next(i for i, side in before.matches[0].members if side == "mentee")
    welcome = next(m for m in _mails(engine, "welcome") if m.member_id == leaver)
    token = dict(LINK.findall(welcome.text_body))["leave"]
    with engine.begin() as conn:
        outcome = answers.record_leave(conn, links.read_link_token("leave", token), "no_time", NOW)
    assert outcome == answers.RECORDED
    after, _ = _match(spec, engine, cycle)
    assert leaver not in {i for m in after.matches for i in m.member_ids}
    assert leaver not in {u.member_id for u in after.unmatched}  # left: not waitlisted either
