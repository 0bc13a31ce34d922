"""What a pause showed, kept in the store: the proposal comes back equal, reviews close once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mentorflow.matching import build_pool, solve
from mentorflow.matching.result import result_from_json, result_json
from mentorflow.matching.synthetic import synthetic_records, synthetic_settings
from mentorflow.store import reviews
from mentorflow.store.db import open_store
from mentorflow.store.repo import ensure_cycle, ensure_program

NOW = datetime(2027, 1, 26, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("model", "mentors", "changes"),
    [("one_to_one", 5, {}), ("group", 3, {"group_min": 2, "group_max": 3}), ("peer", 0, {})],
)
def test_a_proposal_written_as_json_reads_back_equal(model, mentors, changes):
    s = synthetic_settings(model, **changes)
    result = solve(build_pool(synthetic_records(12, mentors, seed=3), s), s, hold_back=[])
    assert result.matches  # something to compare
    # through real JSON text, as the store keeps it
    back = result_from_json(json.loads(json.dumps(result_json(result))))
    assert back == result
    assert back.table_rows() == result.table_rows()


def test_a_run_finds_its_open_review_until_it_is_decided_or_superseded(tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as conn:
        ensure_program(conn, "demo", "Demo", NOW)
        cycle = ensure_cycle(conn, "demo", "2027-02", NOW.date(), NOW.date(), NOW)
        first = reviews.open_review(
            conn,
            program_id="demo",
            cycle_id=cycle.id,
            kind="screening",
            flow_run="run-1",
            shown={"members": ["m_a"]},
            now=NOW,
        )
        assert reviews.open_review_of(conn, cycle.id, "screening", "run-2") is None
        found = reviews.open_review_of(conn, cycle.id, "screening", "run-1")
        assert found is not None and (found.id, found.shown) == (first, {"members": ["m_a"]})
        # another run asks the same question: the first run's review no longer stands
        reviews.open_review(
            conn,
            program_id="demo",
            cycle_id=cycle.id,
            kind="screening",
            flow_run="run-2",
            shown={"members": ["m_a", "m_b"]},
            now=NOW + timedelta(hours=1),
        )
        assert reviews.open_review_of(conn, cycle.id, "screening", "run-1") is None
        assert reviews.open_review_of(conn, cycle.id, "screening", "run-2") is not None
        reviews.decide_review(conn, cycle.id, "screening", NOW + timedelta(hours=2))
        assert reviews.open_review_of(conn, cycle.id, "screening", "run-2") is None
