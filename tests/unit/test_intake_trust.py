"""Issue 8, intake: every row of a broken export accounted for, and no answer in a reason.

Each input is a named file under tests/data/issue8/ (see the file names in each test).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mentorflow.clock import FixedClock
from mentorflow.intake import mails
from mentorflow.intake.report import quarantine_table, summary_markdown
from mentorflow.intake.service import IntakeReport, ingest
from mentorflow.intake.sources import read_csv
from mentorflow.mail.settings import MailRuntime
from mentorflow.store.db import open_store
from mentorflow.store.tables import enrolments, members, outbox
from tests.conftest import REPO_ROOT
from tests.fakes.intake import intake_spec
from tests.mail_support import settings_for

DATA = REPO_ROOT / "tests" / "data" / "issue8"
CLOCK = FixedClock(datetime(2027, 1, 20, 9, 0, tzinfo=UTC))


@pytest.fixture
def engine(store_url):
    engine = open_store(store_url)
    yield engine
    engine.dispose()


def run(engine: Any, name: str, tmp_path: Path, **changes: Any) -> IntakeReport:
    path = shutil.copy(DATA / name, tmp_path / name)
    settings = intake_spec(Path(path), **changes)
    return ingest(engine, read_csv(settings.intake.source), settings, CLOCK)


def emails(engine: Any, *where: Any) -> set[str]:
    query = select(members.c.email).join(enrolments, enrolments.c.member_id == members.c.id)
    with engine.connect() as conn:
        return set(conn.execute(query.where(*where)).scalars())


def assert_identity(report: IntakeReport) -> None:
    total = report.accepted + report.quarantined + report.not_consented + report.duplicates
    assert total == report.rows_read


def reasons_of(report: IntakeReport) -> dict[int, tuple[str, ...]]:
    return {row.row_number: row.reasons for row in report.quarantine}


def test_a_row_with_an_unquoted_comma_is_misaligned_not_a_refusal(engine, tmp_path):
    # misaligned_comma.csv: row 3 has `Hopper, Grace` unquoted, so every later cell moves right
    report = run(engine, "misaligned_comma.csv", tmp_path)
    assert_identity(report)
    assert (report.rows_read, report.accepted, report.not_consented) == (3, 2, 0)
    (reason,) = reasons_of(report)[3]
    assert reason.startswith("row: has 14 cells but the header has 11")
    assert emails(engine) == {"ada@example.org", "linus@example.org"}
    assert mails.queue_intake_mails(
        engine, intake_spec(tmp_path / "x.csv"), mail_settings(tmp_path), CLOCK
    ) == mails.QueuedMails(welcome=2)  # nobody who consented is told "not enrolled"


def test_a_row_split_by_a_line_break_is_two_misaligned_rows(engine, tmp_path):
    # short_rows.csv: an unquoted line break cuts one sign-up into a 9-cell and a 6-cell line
    report = run(engine, "short_rows.csv", tmp_path)
    assert_identity(report)
    assert (report.accepted, report.quarantined, report.not_consented) == (1, 2, 0)
    assert [r[0].split(":")[0] for r in reasons_of(report).values()] == ["row", "row"]
    assert "header has 11" in reasons_of(report)[4][0]


def test_an_unbalanced_quote_is_reported_at_its_line_and_swallows_no_row(engine, tmp_path):
    # unbalanced_quote.csv: 10 sign-ups; line 4 opens `"Meier Hans` and never closes it there
    report = run(engine, "unbalanced_quote.csv", tmp_path)
    assert_identity(report)
    assert (report.rows_read, report.accepted, report.quarantined) == (10, 9, 1)
    (reason,) = reasons_of(report)[4]
    assert "a quote opens on line 4 of the file" in reason
    assert "person2@example.org" not in emails(engine)
    assert len(emails(engine)) == 9


def test_a_quote_still_open_at_the_end_of_the_file_is_reported(engine, tmp_path):
    report = run(engine, "unclosed_quote_at_end.csv", tmp_path)  # the last line opens a quote
    assert_identity(report)
    assert (report.rows_read, report.accepted, report.quarantined) == (5, 4, 1)
    assert "a quote opens on line 6 of the file and is never closed" in reasons_of(report)[6][0]


def test_a_quoted_answer_over_several_lines_is_one_answer(engine, tmp_path):
    report = run(engine, "multiline_answer.csv", tmp_path)  # goals "Karriere\nPython\nNetzwerk"
    assert (report.rows_read, report.accepted) == (2, 2)
    table = read_csv(intake_spec(DATA / "multiline_answer.csv").intake.source)
    assert table.lines == 5 and len(table.rows) == 2
    assert "rows read: 2 (new this run: 2; the file has 5 lines" in summary_markdown(report)


def test_a_cell_beyond_the_csv_field_limit_quarantines_only_its_row(engine, tmp_path):
    report = run(engine, "huge_cell.csv", tmp_path)  # a 140,000-character name in row 2
    assert_identity(report)
    assert (report.accepted, report.quarantined) == (1, 1)
    assert reasons_of(report)[2] == ("row: has a cell longer than 131,072 characters",)


def test_malformed_addresses_are_refused_with_a_reason_and_idn_is_kept(engine, tmp_path):
    # bad_addresses.csv: a@b@x.org a..b@x.org .a@x.org a@x..org a@-x.org a@127.0.0.1, then
    # ok@example.org and ida@bücher.de (an internationalised domain)
    report = run(engine, "bad_addresses.csv", tmp_path)
    assert_identity(report)
    assert (report.accepted, report.quarantined) == (2, 6)
    for row, reasons in reasons_of(report).items():
        assert reasons[0].startswith("email: not a valid address: "), (row, reasons)
    assert emails(engine) == {"ok@example.org", "ida@xn--bcher-kva.de"}
    shown = " ".join(r for reasons in reasons_of(report).values() for r in reasons)
    assert "x.org" not in shown and "127.0.0.1" not in shown and "'@'" not in shown


def test_reasons_name_the_field_and_the_rule_never_the_answer(engine, tmp_path):
    # name_in_role.csv: Ada typed her name into the role question; Bob gave capacity 99
    report = run(engine, "name_in_role.csv", tmp_path)
    by_row = reasons_of(report)
    assert by_row[2] == ("role: is not one of the answers offered (Mentee, Mentor:in, beides)",)
    assert by_row[3] == ("capacity: must be a whole number from 0 to 50",)
    artifact = str(quarantine_table(report)) + summary_markdown(report)
    assert "Ada" not in artifact and "Lovelace" not in artifact and "99" not in artifact


def test_the_fix_mail_asks_for_what_the_capacity_reason_allows(engine, tmp_path):
    run(engine, "name_in_role.csv", tmp_path, remind_fixable=True)
    settings = intake_spec(tmp_path / "x.csv", remind_fixable=True)
    mails.queue_intake_mails(engine, settings, mail_settings(tmp_path), CLOCK)
    with engine.connect() as conn:
        bodies = dict(
            conn.execute(
                select(outbox.c.to_addr, outbox.c.text_body).where(outbox.c.purpose == "fix_signup")
            ).all()
        )
    assert "„Kapazität“: bitte eine ganze Zahl von 0 bis 50 angeben" in bodies["bob@example.org"]
    assert "„Rolle“: bitte eine der angebotenen Rollen wählen" in bodies["ada@example.org"]


def test_the_not_enrolled_mail_greets_without_a_name_it_does_not_keep(engine, tmp_path):
    run(engine, "not_consented.csv", tmp_path)  # Nina (de) and Noah (en) did not consent
    mails.queue_intake_mails(
        engine, intake_spec(tmp_path / "x.csv"), mail_settings(tmp_path), CLOCK
    )
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.language, outbox.c.text_body, outbox.c.html_body))
        found = {row.language: row for row in rows}
    assert found["de"].text_body.startswith("Hallo,\n")
    assert "<p>Hallo,</p>" in found["de"].html_body
    assert found["en"].text_body.startswith("Hi,\n")
    assert "<p>Hi,</p>" in found["en"].html_body


def mail_settings(tmp_path: Path) -> MailRuntime:
    return settings_for(tmp_path, program_id="demo", program_name="Demo-Mentoring")
