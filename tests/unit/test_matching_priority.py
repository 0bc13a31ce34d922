"""Waitlist priority: members waitlisted in earlier cycles are matched first, exactly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mentorflow.matching import build_pool, solve, split_sides
from mentorflow.matching.report import summary_markdown
from mentorflow.matching.scoring import Scorer
from tests.unit.matching_strategies import bipartite_records, profit_matrix, settings
from tests.unit.test_matching_bipartite import FAST

BASE = {"languages": ["en"], "seniority": 0}
MENTOR = {
    **BASE,
    "id": "m_t1",
    "role": "mentor",
    "goals": ["python", "data"],
    "offers": ["python"],
    "utc_offset": 0,
    "availability_utc": [40, 41],
    "seniority": 3,
    "employer": "c",
    "capacity": 1,
}
GOOD_FIT = {
    **BASE,
    "id": "m_e1",
    "role": "mentee",
    "goals": ["python", "data"],
    "seeks": ["python"],
    "utc_offset": 0,
    "availability_utc": [40, 41],
    "employer": "a",
}
WAITED = {
    **BASE,
    "id": "m_e2",
    "role": "mentee",
    "goals": ["career"],
    "utc_offset": 5,
    "employer": "b",
}


@pytest.mark.parametrize("objective", ["max_score", "max_matched"])
def test_a_waitlisted_mentee_takes_the_last_place_from_a_better_fit(objective):
    s = settings(objective=objective)
    fresh = solve(build_pool([MENTOR, GOOD_FIT, WAITED], s), s)
    assert [m.key for m in fresh.matches] == ["m_t1+m_e1"]  # on score alone, e1 wins
    result = solve(build_pool([MENTOR, GOOD_FIT, {**WAITED, "priority": 1}], s), s)
    assert [m.key for m in result.matches] == ["m_t1+m_e2"]
    assert result.matches[0].score < fresh.matches[0].score  # the scores are not changed
    assert [(u.member_id, u.reason) for u in result.unmatched] == [("m_e1", "capacity_exhausted")]
    assert result.certified and result.stats["priority_matched"] == 1
    assert "waitlisted in earlier cycles first" in result.method
    assert "waitlisted in earlier cycles: 1 of 1 matched" in summary_markdown(result)


def test_priority_never_places_an_infeasible_pair():
    s = settings()
    blocked = {**WAITED, "languages": ["de"], "priority": 3}  # no common language with t1
    result = solve(build_pool([MENTOR, GOOD_FIT, blocked], s), s)
    assert [m.key for m in result.matches] == ["m_t1+m_e1"]
    assert {u.member_id: u.reason for u in result.unmatched} == {"m_e2": "no_feasible_partner"}


def _brute(P: np.ndarray, cap: np.ndarray, prio: np.ndarray, objective: str) -> tuple:
    """(priority matched, matched, total profit) of the lexicographic optimum, by trying all."""
    n, m = P.shape
    best: tuple = (-1,)
    for choice in itertools.product(range(-1, m), repeat=n):
        used = [c for c in choice if c >= 0]
        if any(c >= 0 and P[i, c] <= 0 for i, c in enumerate(choice)):
            continue
        if (np.bincount(used, minlength=m) > cap).any():
            continue
        waited = sum(int(prio[i]) for i, c in enumerate(choice) if c >= 0)
        total = sum(int(P[i, c]) for i, c in enumerate(choice) if c >= 0)
        key = (waited, len(used), total) if objective == "max_matched" else (waited, total)
        best = max(best, key)
    return best


@pytest.mark.parametrize("objective", ["max_score", "max_matched"])
@given(records=bipartite_records(), data=st.data())
@FAST
def test_result_is_the_lexicographic_optimum(objective, records, data):
    records = [
        {**r, "priority": data.draw(st.integers(0, 2)) if r["role"] == "mentee" else 0}
        for r in records
    ]
    s = settings(objective=objective)
    pool = build_pool(records, s)
    result = solve(pool, s)
    mentees, mentors = split_sides(pool)
    P = profit_matrix(Scorer(pool, s, mentees, mentors))
    row = {pool.ids[i]: k for k, i in enumerate(mentees)}
    col = {pool.ids[j]: k for k, j in enumerate(mentors)}
    pairs = [(row[e], col[m.members[0][0]]) for m in result.matches for e, _ in m.members[1:]]
    waited = sum(int(pool.priority[mentees[r]]) for r, _ in pairs)
    total = sum(int(P[r, c]) for r, c in pairs)
    got = (waited, len(pairs), total) if objective == "max_matched" else (waited, total)
    assert got == _brute(P, pool.capacity[mentors], pool.priority[mentees], objective)
    assert result.certified


def test_priority_that_cannot_be_exact_stops_with_a_clear_error():
    from mentorflow.errors import MatchingError
    from mentorflow.matching.bipartite import row_bonus

    rows = np.zeros(30_000, np.int64)
    wait = np.full(30_000, 2)
    assert row_bonus(np.array([120_001]), rows, 9_000, "max_score", wait).max() > 0
    with pytest.raises(MatchingError, match="use max_score or match the pool in parts"):
        row_bonus(np.array([120_001]), rows, 9_000, "max_matched", wait)
