"""After a cycle run on a real Prefect server, its database names no member: no address, no
name, in logs, artifacts, parameters, state messages, events or results (issue 12)."""

from __future__ import annotations

import csv
import json
import logging
import re
import sqlite3
import time

import pytest
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import get_current_settings
from typer.testing import CliRunner

from mentorflow.cli.main import app
from tests.flows.test_intake_flow import DEMO_CSV, demo_spec


def _needles() -> set[str]:
    """Every address and full name in the demo form, also as JSON escapes them."""
    found: set[str] = set()
    with DEMO_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            for value in (row["E-Mail-Adresse"], row["Wie dürfen wir dich nennen?"]):
                value = value.strip().lower()
                if len(value) >= 5:
                    found |= {value, json.dumps(value)[1:-1]}
    return found


def _prefect_rows() -> dict[str, list[str]]:
    url = get_current_settings().server.database.connection_url.get_secret_value()
    path = url.split("///", 1)[1]
    rows: dict[str, list[str]] = {}
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            rows[table] = [repr(r).lower() for r in db.execute(f'select * from "{table}"')]
    return rows


@pytest.mark.usefixtures("store")
def test_a_cycle_and_its_ticks_leave_no_member_data_in_prefect(tmp_path, monkeypatch):
    # the test session quiets Prefect to WARNING; here every INFO line must reach the server
    monkeypatch.setattr(logging.getLogger("prefect"), "level", logging.INFO)
    spec = demo_spec(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["run", "cycle", str(spec)]).exit_code == 0
    for as_of in ("2027-02-01T10:00", "2027-02-15T10:00", "2027-03-03T10:00"):
        result = runner.invoke(app, ["run", "tick", str(spec), "--as-of", as_of])
        assert result.exit_code == 0, result.output
    APILogWorker.drain_all(timeout=30)
    EventsWorker.drain_all(timeout=30)
    time.sleep(3)  # the server persists events and logs in the background

    rows = _prefect_rows()
    assert {
        t: len(rows[t]) > 0 for t in ("log", "artifact", "flow_run", "events")
    } == dict.fromkeys(("log", "artifact", "flow_run", "events"), True)
    leaks = {
        (table, needle)
        for table, texts in rows.items()
        for text in texts
        for needle, pattern in _patterns().items()
        if pattern.search(text)
    }
    assert leaks == set()


def _patterns() -> dict[str, re.Pattern[str]]:
    """Each needle as a word of its own: a member called just "Robin" is not the "robin" of a
    run name Prefect made up ("hypersonic-robin"), which failed this test now and then."""
    return {n: re.compile(rf"(?<![\w-]){re.escape(n)}(?![\w-])") for n in _needles()}


def test_a_needle_is_found_as_a_word_and_not_inside_a_generated_run_name():
    pattern = re.compile(r"(?<![\w-])robin(?![\w-])")
    assert pattern.search("{'name': 'robin'}") and pattern.search("hallo robin,")
    assert not pattern.search("'name': 'hypersonic-robin'") and not pattern.search("robinson")
