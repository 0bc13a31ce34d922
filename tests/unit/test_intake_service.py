"""Intake on the real store: who gets enrolled, quarantined or not enrolled, and what reruns do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from mentorflow.clock import FixedClock
from mentorflow.errors import HeaderMismatchError, StoreError
from mentorflow.intake import mails, screening
from mentorflow.intake.service import IntakeReport, ingest
from mentorflow.intake.sources import read_csv
from mentorflow.mail.settings import MailRuntime
from mentorflow.store.db import open_store
from mentorflow.store.tables import enrolments, events, intake_rows, members, outbox
from tests.fakes.intake import HEADER, answer, intake_spec, write_csv
from tests.mail_support import settings_for

CLOCK = FixedClock(datetime(2027, 1, 20, 9, 0, tzinfo=UTC))


@pytest.fixture
def engine(store_url):
    engine = open_store(store_url)
    yield engine
    engine.dispose()


def run(engine: Any, tmp_path: Any, rows: list[list[str]], **changes: Any) -> IntakeReport:
    path = write_csv(tmp_path / "form.csv", rows)
    settings = intake_spec(path, **changes)
    return ingest(engine, read_csv(settings.intake.source), settings, CLOCK)


def table(engine: Any, tbl: Any, *where: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(tbl).where(*where)))


def assert_identity(report: IntakeReport) -> None:
    total = report.accepted + report.quarantined + report.not_consented + report.duplicates
    assert total == report.rows_read


def test_a_clean_row_becomes_an_enrolled_member_with_canonical_answers(engine, tmp_path):
    report = run(engine, tmp_path, [answer(" Ada@Example.org ")])
    assert (report.rows_read, report.accepted) == (1, 1)
    (member,) = table(engine, members)
    assert member.email == "ada@example.org"
    assert member.name == "Ada Lovelace"
    assert member.consent_version == "2027-01"
    assert member.consent_at.replace(tzinfo=UTC) == datetime(2027, 1, 8, 21, 38, 39, tzinfo=UTC)
    (enrolment,) = table(engine, enrolments)
    assert (enrolment.status, enrolment.role, enrolment.capacity) == ("enrolled", "mentor", 2)
    assert enrolment.source_row == 2
    assert enrolment.answers["availability"] == ["Mon 18:00-20:00", "Wed 19:00-21:00"]
    assert enrolment.answers["availability_utc"] == [17, 18, 66, 67]
    assert enrolment.answers["languages"] == ["de", "en"]
    assert enrolment.answers["utc_offset"] == 1.0
    assert "email" not in enrolment.answers and "name" not in enrolment.answers


def test_bad_rows_are_quarantined_with_their_row_number_and_every_reason(engine, tmp_path):
    rows = [
        answer("ok@example.org"),
        answer("carl@example.org", role="Zuschauer", timezone="Berlin Zeit", availability="abends"),
        answer("dörte@example.org"),
        answer("kaputt@", capacity="zwei"),
    ]
    report = run(engine, tmp_path, rows)
    assert_identity(report)
    assert (report.accepted, report.quarantined) == (1, 3)
    by_row = {q.row_number: q.reasons for q in report.quarantine}
    assert sorted(by_row) == [3, 4, 5]
    assert [r.split(":")[0] for r in by_row[3]] == ["timezone", "role", "availability"]
    assert by_row[4][0].startswith("email: not a valid address: the address contains non-ASCII")
    assert [r.split(":")[0] for r in by_row[5]] == ["email", "capacity"]
    shown = " ".join(reason for reasons in by_row.values() for reason in reasons)
    assert not any(who in shown for who in ("carl", "dörte", "kaputt", "Ada"))
    stored = table(engine, intake_rows, intake_rows.c.outcome == "quarantined")
    assert sorted(r.row_number for r in stored) == [3, 4, 5]


def test_missing_required_answers_are_named(engine, tmp_path):
    report = run(engine, tmp_path, [answer(timezone="", availability="", role="")])
    (row,) = report.quarantine
    assert row.reasons == (
        "role: missing answer",
        "timezone: missing answer",
        "availability: missing answer",
    )


def test_rows_after_the_closing_date_are_quarantined_as_late(engine, tmp_path):
    report = run(engine, tmp_path, [answer(at="26.01.2027 00:10:00")])
    assert report.quarantine[0].reasons == ("submitted_at: after intake closed on 2027-01-25",)


def test_a_row_without_consent_is_not_enrolled_and_keeps_no_answers(engine, tmp_path):
    report = run(engine, tmp_path, [answer("eve@example.org", consent="Nein, danke")])
    assert (report.not_consented, report.accepted) == (1, 0)
    (member,) = table(engine, members)
    assert (member.name, member.timezone, member.consent_at) == (None, None, None)
    (enrolment,) = table(engine, enrolments)
    assert (enrolment.status, enrolment.answers) == ("not_enrolled", {})


def test_a_row_without_consent_and_without_usable_address_is_still_counted(engine, tmp_path):
    report = run(engine, tmp_path, [answer("not-an-address", consent="")])
    assert (report.rows_read, report.not_consented) == (1, 1)
    assert table(engine, members) == []


def test_latest_submission_wins_and_earlier_answers_go_to_the_event_log(engine, tmp_path):
    rows = [
        answer("ada@example.org", at="10.01.2027 10:00:00", goals="Neu"),
        answer("ADA@example.org", at="08.01.2027 10:00:00", goals="Alt"),
    ]
    report = run(engine, tmp_path, rows)
    assert (report.accepted, report.duplicates) == (1, 1)
    (enrolment,) = table(engine, enrolments)
    assert enrolment.answers["goals"] == ["Neu"]
    (event,) = table(engine, events, events.c.kind == "intake.superseded")
    assert event.data["answers"]["goals"] == ["Alt"]
    assert event.data["source_row"] == 3


def test_a_later_row_in_a_later_run_supersedes_the_stored_one(engine, tmp_path):
    first = [answer("ada@example.org", at="08.01.2027 10:00:00", goals="Alt")]
    run(engine, tmp_path, first)
    report = run(engine, tmp_path, [*first, answer(at="12.01.2027 10:00:00", goals="Neu")])
    assert_identity(report)
    assert (report.new_rows, report.accepted, report.duplicates) == (1, 1, 1)
    outcomes = {r.row_number: r.outcome for r in table(engine, intake_rows)}
    assert outcomes == {2: "superseded", 3: "accepted"}
    (enrolment,) = table(engine, enrolments)
    assert enrolment.answers["goals"] == ["Neu"]
    (event,) = table(engine, events, events.c.kind == "intake.superseded")
    assert event.data["answers"]["goals"] == ["Alt"]


def test_a_fixed_row_replaces_the_quarantined_one(engine, tmp_path):
    broken = answer(at="08.01.2027 10:00:00", timezone="Berlin Zeit")
    run(engine, tmp_path, [broken], remind_fixable=True)
    report = run(engine, tmp_path, [broken, answer(at="09.01.2027 10:00:00")])
    assert (report.accepted, report.quarantined, report.duplicates) == (1, 0, 1)
    assert len(table(engine, members)) == 1


def test_rerun_on_the_same_source_changes_nothing(engine, tmp_path):
    rows = [
        answer("a@example.org"),
        answer("b@example.org", role="??"),
        answer("c@example.org", consent="Nein"),
    ]
    first = run(engine, tmp_path, rows)
    before = {t.name: table(engine, t) for t in (members, enrolments, intake_rows, events)}
    again = run(engine, tmp_path, rows)
    after = {t.name: table(engine, t) for t in (members, enrolments, intake_rows, events)}
    assert after == before
    assert again.new_rows == 0 and again.newly_enrolled == ()
    assert again.counts() | {"new_rows": 3} == first.counts()


def test_identical_rows_are_kept_apart_and_counted(engine, tmp_path):
    report = run(engine, tmp_path, [answer(), answer()])
    assert (report.rows_read, report.accepted, report.duplicates) == (2, 1, 1)


def test_blank_rows_are_not_sign_ups_and_row_numbers_stay_as_in_the_sheet(engine, tmp_path):
    report = run(
        engine,
        tmp_path,
        [answer("a@example.org"), [""] * len(HEADER), answer("b@example.org", role="??")],
    )
    assert report.rows_read == 2
    assert report.quarantine[0].row_number == 4


def test_header_mismatch_names_the_missing_column_and_suggests_the_close_one(engine, tmp_path):
    path = write_csv(tmp_path / "form.csv", [answer()])
    text = path.read_text(encoding="utf-8").replace("Zeitzone", "Zeitzone ", 1)
    path.write_text(text.replace("Wann hast du Zeit?", "Wann hast du Zeit", 1), encoding="utf-8")
    settings = intake_spec(path)
    with pytest.raises(HeaderMismatchError) as raised:
        ingest(engine, read_csv(settings.intake.source), settings, CLOCK)
    message = str(raised.value)
    assert "'Wann hast du Zeit?' is missing (did you mean 'Wann hast du Zeit'?)" in message
    assert "Zeitzone" not in message  # trailing spaces do not matter


def test_screening_keeps_applicants_pending_until_the_organizer_decides(engine, tmp_path):
    run(
        engine,
        tmp_path,
        [answer("a@example.org"), answer("b@example.org"), answer("c@example.org")],
        screening=True,
    )
    settings = intake_spec(tmp_path / "form.csv", screening=True)
    pending = screening.pending_applicants(engine, settings)
    assert len(pending) == 3
    text = screening.describe_pending(pending)
    assert all(a.member_id in text for a in pending)
    assert "@" not in text and "Ada" not in text and "Karriere" in text
    first, second, _third = (a.member_id for a in pending)
    outcome = screening.apply_decision(
        engine, settings, CLOCK, approve=[first, "m_unknown"], decline=[second]
    )
    assert outcome.unknown == ("m_unknown",)
    statuses = {r.member_id: r.status for r in table(engine, enrolments)}
    assert statuses[first] == "enrolled" and statuses[second] == "declined"
    assert list(statuses.values()).count("pending_approval") == 1
    kinds = [e.kind for e in table(engine, events, events.c.member_id.is_not(None))]
    assert sorted(kinds) == ["intake.approved", "intake.declined"]


def test_a_resubmission_keeps_an_approved_or_declined_decision(engine, tmp_path):
    run(engine, tmp_path, [answer(at="08.01.2027 10:00:00")], screening=True)
    settings = intake_spec(tmp_path / "form.csv", screening=True)
    screening.apply_decision(engine, settings, CLOCK, approve=[], decline=[], approve_all=True)
    run(
        engine,
        tmp_path,
        [answer(at="08.01.2027 10:00:00"), answer(at="09.01.2027 10:00:00")],
        screening=True,
    )
    assert [r.status for r in table(engine, enrolments)] == ["enrolled"]


# --- mails -------------------------------------------------------------------------------------


def mail_settings(tmp_path: Any) -> MailRuntime:
    return settings_for(tmp_path, program_id="demo", program_name="Demo-Mentoring")


def queue(engine: Any, tmp_path: Any, **changes: Any) -> mails.QueuedMails:
    settings = intake_spec(tmp_path / "form.csv", **changes)
    return mails.queue_intake_mails(engine, settings, mail_settings(tmp_path), CLOCK)


def test_welcome_not_enrolled_and_fix_mails_are_queued_once(engine, tmp_path):
    rows = [
        answer("a@example.org"),
        answer("b@example.org", consent="Nein"),
        answer("c@example.org", timezone="Mond"),
        answer("d@example.org", at="30.01.2027 10:00:00"),
    ]
    run(engine, tmp_path, rows, remind_fixable=True)
    queued = queue(engine, tmp_path, remind_fixable=True)
    assert queued == mails.QueuedMails(welcome=1, not_enrolled=1, fix_signup=1)  # late: not fixable
    fix = table(engine, outbox, outbox.c.purpose == "fix_signup")[0]
    assert "„Zeitzone“: bitte eine Zeitzone wie Europe/Berlin" in fix.text_body
    assert fix.to_addr == "c@example.org"
    assert table(engine, intake_rows, intake_rows.c.fix_mail_sent.is_(True))[0].row_number == 4
    run(engine, tmp_path, rows, remind_fixable=True)
    assert queue(engine, tmp_path, remind_fixable=True) == mails.QueuedMails()
    assert len(table(engine, outbox)) == 3


def test_not_enrolled_and_fix_mails_link_the_sign_up_form(engine, tmp_path):
    form = "https://forms.gle/demo-2027"
    rows = [answer("b@example.org", consent="Nein"), answer("c@example.org", timezone="Mond")]
    run(engine, tmp_path, rows, remind_fixable=True, form_url=form)
    queue(engine, tmp_path, remind_fixable=True, form_url=form)
    bodies = {row.purpose: row.text_body for row in table(engine, outbox)}
    assert form in bodies["not_enrolled"]
    assert form in bodies["fix_signup"]


def test_no_fix_mail_unless_the_spec_asks_for_it(engine, tmp_path):
    run(engine, tmp_path, [answer(timezone="Mond")])
    assert queue(engine, tmp_path) == mails.QueuedMails()
    assert table(engine, members) == []


def test_pending_applicants_get_their_welcome_only_after_approval(engine, tmp_path):
    run(engine, tmp_path, [answer()], screening=True)
    assert queue(engine, tmp_path, screening=True).welcome == 0
    settings = intake_spec(tmp_path / "form.csv", screening=True)
    screening.apply_decision(engine, settings, CLOCK, approve=[], decline=[], approve_all=True)
    assert queue(engine, tmp_path, screening=True).welcome == 1


def test_a_store_failure_reaches_prefect_without_the_statements_addresses(engine, tmp_path):
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE events")  # the write of the earlier answers fails
    rows = [answer("ada@example.org", at="08.01.2027 10:00:00"), answer("ada@example.org")]
    with pytest.raises(StoreError) as raised:
        run(engine, tmp_path, rows)
    assert "example.org" not in str(raised.value)
    assert raised.value.__suppress_context__ and raised.value.__cause__ is None
    assert table(engine, members) == []  # one transaction: nothing half-written


def test_approve_all_covers_only_the_applicants_the_organizer_was_shown(engine, tmp_path):
    run(engine, tmp_path, [answer(at="08.01.2027 10:00:00", email="a@example.org")], screening=True)
    settings = intake_spec(tmp_path / "form.csv", screening=True)
    shown = [a.member_id for a in screening.pending_applicants(engine, settings)]
    later = [answer(at="08.01.2027 10:00:00", email="a@example.org"), answer(email="b@example.org")]
    run(engine, tmp_path, later, screening=True)  # signed up while the question waited
    outcome = screening.apply_decision(
        engine, settings, CLOCK, approve=[], decline=[], approve_all=True, shown=shown
    )
    assert outcome.approved == tuple(shown)
    statuses = sorted(r.status for r in table(engine, enrolments))
    assert statuses == ["enrolled", "pending_approval"]


def test_intake_records_the_spec_that_runs_the_program(engine, tmp_path):
    """Issue 11: the retrospective names the exact spec (file and sha256) the flows ran."""
    from mentorflow.store.tables import programs

    path = write_csv(tmp_path / "form.csv", [answer("ada@example.org")])
    settings = intake_spec(path)
    ingest(engine, read_csv(settings.intake.source), settings, CLOCK)
    (program,) = table(engine, programs)
    assert (program.spec_path, program.spec_sha256) == (str(settings.path), settings.sha256)
