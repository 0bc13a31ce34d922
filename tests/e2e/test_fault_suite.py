"""The short fault suite (`python -m benchmarks.faults --quick`) in CI: never a mail sent twice,
never one silently lost, and no fault that ends in a traceback instead of a clear error."""

from __future__ import annotations

import os
import warnings

import pytest

from benchmarks import faults


@pytest.fixture(scope="module")
def rows() -> list[faults.Row]:
    with warnings.catch_warnings():  # forking with the SMTP server's thread alive is intended
        warnings.simplefilter("ignore", DeprecationWarning)
        return faults.run_suite(quick=True)


def test_no_fault_sends_a_mail_twice_or_loses_one_silently(rows):
    report = faults.table(rows)
    assert all(r.trials > 0 for r in rows), report
    assert [(r.fault, r.duplicates) for r in rows if r.duplicates] == [], report
    assert [(r.fault, r.lost, r.notes) for r in rows if r.lost] == [], report


def test_every_fault_ends_in_a_clear_error_not_a_traceback(rows):
    assert [(r.fault, r.notes) for r in rows if r.crashes] == [], faults.table(rows)


def test_the_kill_trials_really_kill(rows):
    kills = [r for r in rows if r.fault.startswith("kill -9")]
    assert len(kills) == 2 + bool(os.environ.get("MENTORFLOW_TEST_PG_URL"))
    assert all(r.kills > 0 for r in kills), faults.table(rows)
