"""Issue 11: the contributions sheet is read in a Prefect task with the intake's retries (429
and 5xx retried, a missing sheet not), by the retrospective flow and by `mentorflow report`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prefect import flow
from sqlalchemy import select
from typer.testing import CliRunner

from flows.retrospective import read_contributions, retrospective
from mentorflow.cli.main import app
from mentorflow.retrospective.contributions import ContributionsFileError
from mentorflow.store.tables import events
from tests.fakes.sheets import FakeSheets
from tests.retrospective_support import program
from tests.unit.test_retrospective_sheet import (
    KEY,
    SHEET_SPEC,
    TAB,
    TALLY,
    as_google_gives_it,
    people,
    spec_with,
)


@flow
def read_once(spec_path: str, client: Any) -> Any:
    return read_contributions.with_options(retry_delay_seconds=0)(spec_path, client)


def test_a_rate_limit_then_an_outage_are_retried(tmp_path) -> None:
    spec = spec_with(tmp_path, SHEET_SPEC)
    fake = FakeSheets()
    fake.add_spreadsheet(KEY, {TAB: as_google_gives_it(TALLY)})
    fake.fail_next(429, 503)
    table = read_once(str(spec), fake.client())
    assert table.header == ["member_id", "email", "contributions"] and len(table.rows) == 6
    assert len(fake.requests) == 5  # 429, 503, then metadata, metadata, values


def test_a_sheet_that_is_not_there_is_not_retried(tmp_path) -> None:
    fake = FakeSheets()
    with pytest.raises(ContributionsFileError, match="spreadsheet not found"):
        read_once(str(spec_with(tmp_path, SHEET_SPEC)), fake.client())
    assert len(fake.requests) == 1


def _stored_contributions(b: Any) -> dict[str, Any]:
    with b.engine.connect() as conn:
        data = conn.execute(select(events.c.data).where(events.c.kind == "retrospective")).scalar()
    return dict(data["figures"]["contributions"])


@pytest.mark.parametrize("by", ["mentorflow report", "the flow"])
def test_report_and_the_flow_count_from_the_sheet(tmp_path, store, monkeypatch, by):
    spec = spec_with(tmp_path, SHEET_SPEC)
    b = people(program(store, spec))
    fake = FakeSheets()
    fake.add_spreadsheet(KEY, {TAB: as_google_gives_it(TALLY)})
    monkeypatch.setattr("flows.sheets.client_for", lambda ref: fake.client())
    if by == "the flow":
        retrospective(str(spec))
    else:
        result = CliRunner().invoke(app, ["report", str(spec)])
        assert result.exit_code == 0, result.output
    c = _stored_contributions(b)
    assert c["source"] == f"sheet {KEY}/{TAB}"
    assert (c["counted"], c["total"], c["rows_naming_nobody"]) == (3, 6, 2)
    assert "stranger" not in json.dumps(c)


def test_report_with_a_bad_sheet_fails_in_one_line(tmp_path, store, monkeypatch):
    spec = spec_with(tmp_path, SHEET_SPEC)
    people(program(store, spec))
    fake = FakeSheets()
    fake.add_spreadsheet(KEY, {TAB: [["Name", "Anzahl"], ["Ada Secret", "3"]]})
    monkeypatch.setattr("flows.sheets.client_for", lambda ref: fake.client())
    result = CliRunner().invoke(app, ["report", str(spec)])
    assert result.exit_code == 1
    assert f"contributions sheet:{KEY}/{TAB} needs a `contributions` column" in result.output
    assert "Traceback" not in result.output and "Ada" not in result.output
