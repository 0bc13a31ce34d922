"""Whatever people type, intake never crashes and every row read is counted exactly once."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorflow.clock import FixedClock
from mentorflow.intake.addresses import AddressChecker, full_check
from mentorflow.intake.rows import ACCEPTED, NOT_CONSENTED, QUARANTINED, RowMapper
from mentorflow.intake.service import ingest
from mentorflow.intake.sources import table_from_values
from mentorflow.mail.addresses import check_address
from mentorflow.store.db import open_store
from tests.fakes.intake import HEADER, YES, intake_spec

PLAUSIBLE = {
    0: ["08.01.2027 22:38:39", "2027-01-09T10:00:00", "31.02.2027 10:00:00", "gestern", ""],
    1: ["ada@example.org", "ADA@example.org ", "bob@example.org", "jürgen@example.org", "x@", ""],
    3: ["Mentor:in", "Mentee", "beides", "mentor", "Zuschauer", ""],
    4: ["Deutsch", "Englisch", "Klingonisch", ""],
    5: ["Europe/Berlin", "UTC+2", "+05:30", "Berlin Zeit", "UTC+99", ""],
    6: ["Mo 18-20", "Mo 18-20, Di 09:00-11:00", "Sun 22-01", "Mo 25-26", "abends", ""],
    9: ["1", "2,5", "zwei", "-3", "1e309", "999999", ""],
    10: [YES, "Nein", "", "ja, ich stimme zu"],
}
cell_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@st.composite
def form_rows(draw: st.DrawFn) -> list[list[str]]:
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        width = draw(st.sampled_from([len(HEADER), len(HEADER) - 3, len(HEADER) + 2]))
        row = []
        for column in range(width):
            choices = PLAUSIBLE.get(column)
            if choices and draw(st.booleans()):
                row.append(draw(st.sampled_from(choices)))
            else:
                row.append(draw(cell_text))
        rows.append(row)
    return rows


@given(rows=form_rows())
@settings(max_examples=300, deadline=None)
def test_mapping_any_row_gives_one_outcome_and_never_raises(rows):
    mapper = RowMapper(intake_spec(Path("f.csv")), HEADER)
    for number, cells in enumerate(rows, start=2):
        mapped = mapper.map(cells, number)
        assert mapped.outcome in (ACCEPTED, QUARANTINED, NOT_CONSENTED)
        assert (mapped.outcome == QUARANTINED) == bool(mapped.problems)
        if mapped.outcome == ACCEPTED:
            assert mapped.email is not None and mapper.validator.problems(mapped.record) == []


@given(rows=form_rows(), more=form_rows())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_counts_add_up_to_rows_read_on_first_run_and_on_incremental_reruns(rows, more):
    settings_ = intake_spec(Path("f.csv"), remind_fixable=True)
    clock = FixedClock(datetime(2027, 1, 20, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as folder:
        engine = open_store(f"sqlite:///{folder}/store.db")
        try:
            for grid in (rows, rows + more, rows + more):
                table = table_from_values("csv:f.csv", [HEADER, *grid])
                report = ingest(engine, table, settings_, clock)
                total = report.accepted + report.quarantined + report.not_consented
                assert total + report.duplicates == report.rows_read == len(table.rows)
            assert report.new_rows == 0  # the third run read nothing new
        finally:
            engine.dispose()


local_part = st.from_regex(r"[A-Za-z0-9_+.-]{1,70}", fullmatch=True)
domain = st.sampled_from(["example.org", "x..org", "-x.org", "127.0.0.1", "x.test", "bücher.de"])


@given(st.text(max_size=40) | st.emails() | st.builds("{}@{}".format, local_part, domain))
@settings(max_examples=500, deadline=None)
def test_the_address_shortcut_agrees_with_email_validator_and_the_outbox(text):
    checked = AddressChecker().check(text)
    assert checked == full_check(text)  # the per-domain shortcut never changes a verdict
    if checked.email is not None:
        assert check_address(checked.email) is None  # what intake keeps, the outbox can send
