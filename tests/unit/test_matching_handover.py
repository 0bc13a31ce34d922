"""After matching, what members and organizers read: nobody introduced to a bounced address,
waitlist mails that promise only what exists, German numbers and inclusive forms."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select, update

from mentorflow.clock import FixedClock
from mentorflow.mail.settings import MailRuntime
from mentorflow.mail.templates import render
from mentorflow.matching import build_pool, handover, report, solve, store_io
from mentorflow.matching.result import MatchResult, Unmatched
from mentorflow.matching.settings import settings_from_spec
from mentorflow.store.tables import members, outbox
from tests.fakes.matching import intake_csv

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "issue8"
NOW = datetime(2027, 1, 26, 9, 0, tzinfo=UTC)


def _ids(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(members.c.email, members.c.id)).all())


def _propose(spec, engine, cycle):
    s = settings_from_spec(spec)
    with engine.connect() as conn:
        found = store_io.load_pool_input(conn, spec.program.id, cycle.id)
    result = solve(build_pool(found.records, s, week_of=spec.cycle.start), s)
    with engine.begin() as conn:
        ids = store_io.save_proposal(conn, cycle.id, result, NOW)
    return result, ids


def _queue(spec, engine, cycle, result, ids, tmp_path, **kwargs) -> None:
    mail = MailRuntime(spec=spec, base_url="http://127.0.0.1:8000", outbox_dir=tmp_path / "outbox")
    handover.queue_mails(
        engine,
        mail=mail,
        program_id=spec.program.id,
        cycle_id=cycle.id,
        cycle_label=cycle.label,
        result=result,
        match_ids=ids,
        clock=FixedClock(NOW),
        **kwargs,
    )


def _mails(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox)))


def test_a_member_whose_address_bounced_is_not_matched_and_says_why(tmp_path):
    spec, engine, cycle = intake_csv(tmp_path, DATA / "bounced_partner.csv")
    who = _ids(engine)
    bounced = who["ayse.yilmaz@example.com"]  # the mentor's best fit
    with engine.begin() as conn:
        conn.execute(
            update(members)
            .where(members.c.id == bounced)
            .values(bounced_at=NOW, bounce_reason="550 5.1.1 user unknown")
        )
    result, ids = _propose(spec, engine, cycle)
    assert bounced not in result.matched_ids
    (entry,) = [u for u in result.unmatched if u.member_id == bounced]
    assert entry.reason == "address_bounced"
    assert result.pairs() == {
        frozenset({who["juergen.gross@example.org"], who["priya.nair@example.org"]})
    }
    rows = report.unmatched_rows(result)
    assert {"member": bounced, "side": "mentee", "reason": entry.text("en")} in rows
    assert "bounced" in entry.text("en") and "@" not in str(rows)  # ids only
    _queue(spec, engine, cycle, result, ids, tmp_path)
    mails = _mails(engine)
    assert bounced not in {m.member_id for m in mails}  # no introduction, no waitlist mail
    (intro,) = [m for m in mails if m.member_id == who["juergen.gross@example.org"]]
    assert "Priya Nair" in intro.text_body and "Ayşe" not in intro.text_body


def test_german_explanations_and_export_use_a_decimal_comma_and_the_program_language(tmp_path):
    spec, engine, cycle = intake_csv(tmp_path, DATA / "bounced_partner.csv")
    result, ids = _propose(spec, engine, cycle)
    who = _ids(engine)
    (match,) = [m for m in result.matches if who["priya.nair@example.org"] in m.member_ids]
    assert "Zeitzonen 4,5 h auseinander" in match.text("de")  # Berlin +1, Kolkata +5:30
    assert "time zones 4.5 h apart" in match.text("en")
    rows = handover.export_rows(engine, result, ids, language=spec.program.language)
    path = handover.export_csv(rows, spec.program.id, cycle.label)
    with path.open(encoding="utf-8", newline="") as handle:
        written = list(csv.reader(handle))
    texts = [r[-1] for r in written[1:]]
    assert texts and all("gemeinsame" in t or "Zeitzonen" in t for t in texts)
    assert not any("shared" in t or "apart" in t for t in texts)


def test_a_mentor_is_told_who_writes_first_without_a_gendered_article(tmp_path):
    spec, engine, cycle = intake_csv(tmp_path, DATA / "bounced_partner.csv")
    result, ids = _propose(spec, engine, cycle)
    _queue(spec, engine, cycle, result, ids, tmp_path)
    who = _ids(engine)
    mentors = [m for m in _mails(engine) if m.member_id == who["juergen.gross@example.org"]]
    assert mentors and all(m.language == "de" for m in mentors)
    for m in mentors:
        assert "Deine Mentee" not in m.text_body and "Deine Mentee" not in m.html_body
        assert "meldet sich in den nächsten Tagen bei Dir" in m.text_body


def _waitlist(tmp_path, lang: str, **context) -> str:
    from mentorflow.mail.outbox import standard_context
    from tests.mail_support import settings_for

    base = standard_context(settings_for(tmp_path), member_id="m_x", name="Zoë", cycle_label="c")
    mail = render("waitlist", {**base, **context}, language=lang, default_language="de")
    return mail.text + mail.html


def test_waitlist_mail_promises_a_next_cycle_only_when_there_is_one(tmp_path):
    for lang in ("de", "en"):
        plain = _waitlist(tmp_path, lang, next_cycle_starts=None)
        assert "next cycle" not in plain and "nächsten Durchgang" not in plain
        assert "nächsten Runde" not in plain and "Start am" not in plain
        known = _waitlist(tmp_path, lang, next_cycle_starts=date(2027, 9, 1))
        assert ("next cycle" in known) if lang == "en" else ("nächsten Durchgang" in known)


def test_rotational_member_matched_before_is_not_told_nobody_fits(tmp_path):
    for lang, nobody in (
        ("en", "could not find someone who really fits"),
        ("de", "der wirklich gut passt"),
    ):
        seen = _waitlist(
            tmp_path, lang, matched_before=True, rotational=True, next_round_starts=date(2027, 3, 1)
        )
        assert nobody not in seen and "this cycle we" not in seen.lower()
        assert ("next round" in seen) if lang == "en" else ("nächste Runde" in seen)
        last = _waitlist(tmp_path, lang, matched_before=True, rotational=True)
        assert nobody not in last
        assert "waiting list" not in last and "Warteliste" not in last


def test_rotational_round_mail_and_priority_for_members_matched_in_an_earlier_round(tmp_path):
    spec, engine, cycle = intake_csv(tmp_path, DATA / "bounced_partner.csv")
    _propose(spec, engine, cycle)
    with engine.begin() as conn:
        store_io.approve(conn, spec.program.id, cycle.id, NOW)
    who = _ids(engine)
    mentor, mentee = who["juergen.gross@example.org"], who["priya.nair@example.org"]
    # round 2: nobody new for the mentee who was matched in round 1, and one round remains
    second = MatchResult(
        model="rotational",
        objective="max_score",
        matches=(),
        unmatched=(Unmatched(mentee, "mentee", "no_feasible_partner"),),
        total_score=0.0,
        upper_bound=0.0,
        certified=True,
        method="",
        round=2,
    )
    rounds = (date(2027, 2, 1), date(2027, 3, 1), date(2027, 4, 1))
    _queue(spec, engine, cycle, second, {}, tmp_path, rounds=rounds)
    (mail,) = [m for m in _mails(engine) if m.member_id == mentee and m.purpose == "waitlist"]
    assert "der wirklich gut passt" not in mail.text_body
    assert "schon Dein Gegenüber" in mail.text_body and "nächste Runde" in mail.text_body
    from mentorflow.store.tables import enrolments

    with engine.connect() as conn:
        priority = dict(conn.execute(select(enrolments.c.member_id, enrolments.c.priority)).all())
    assert priority[mentee] == 0 and priority[mentor] == 0  # matched this cycle: no priority


def test_waitlist_greets_without_a_name_when_none_is_stored(tmp_path):
    from mentorflow.mail.outbox import standard_context
    from tests.mail_support import settings_for

    base = standard_context(settings_for(tmp_path), member_id="m_x", name="", cycle_label="c")
    for lang, hello in (("de", "Hallo,"), ("en", "Hi,")):
        mail = render("waitlist", base, language=lang, default_language="de")
        assert mail.text.startswith(hello) and " ," not in mail.text
