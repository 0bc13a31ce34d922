"""Mentor/mentee models: optimum equals brute force; capacities, hard rules, determinism hold."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from scipy.optimize import linear_sum_assignment

from mentorflow.matching import build_pool, solve, split_sides
from mentorflow.matching.bipartite import solve_bipartite
from mentorflow.matching.result import REASONS, MatchResult
from mentorflow.matching.scoring import Scorer
from mentorflow.matching.synthetic import synthetic_records, synthetic_settings
from tests.unit.matching_strategies import (
    bipartite_records,
    brute_bipartite,
    profit_matrix,
    settings,
)

FAST = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _profits_by_id(pool, s):
    mentees, mentors = split_sides(pool)
    P = profit_matrix(Scorer(pool, s, mentees, mentors))
    ids = {pool.ids[i]: k for k, i in enumerate(mentees)}
    jds = {pool.ids[j]: k for k, j in enumerate(mentors)}
    return P, ids, jds, mentees, mentors


def _check_invariants(result: MatchResult, pool, s) -> None:
    P, ids, jds, _, mentors = _profits_by_id(pool, s)
    seen = Counter(member for m in result.matches for member, side in m.members if side == "mentee")
    assert all(count == 1 for count in seen.values()), "a mentee is matched twice"
    load = Counter(m.members[0][0] for m in result.matches for _ in m.members[1:])
    cap = {pool.ids[j]: int(pool.capacity[j]) for j in mentors}
    if s.model == "group":
        cap = dict.fromkeys(cap, s.group_max)
    assert all(load[k] <= cap[k] for k in load), "a mentor is over capacity"
    for m in result.matches:
        mentor = m.members[0][0]
        for mentee, _ in m.members[1:]:
            assert P[ids[mentee], jds[mentor]] > 0, "an infeasible pair was proposed"
    everyone = set(pool.ids)
    placed = result.matched_ids | {u.member_id for u in result.unmatched}
    assert placed == everyone
    assert not result.matched_ids & {u.member_id for u in result.unmatched if u.side == "mentee"}
    assert all(u.reason in REASONS for u in result.unmatched)


def _total_profit(result: MatchResult, pool, s) -> tuple[int, int]:
    P, ids, jds, *_ = _profits_by_id(pool, s)
    pairs = [(mentee, m.members[0][0]) for m in result.matches for mentee, _ in m.members[1:]]
    return len(pairs), sum(int(P[ids[a], jds[b]]) for a, b in pairs)


@pytest.mark.parametrize("model", ["one_to_one", "reverse"])
@pytest.mark.parametrize("objective", ["max_score", "max_matched"])
@given(records=bipartite_records())
@FAST
def test_total_equals_brute_force_optimum(model, objective, records):
    s = settings(model, objective=objective)
    pool = build_pool(records, s)
    result = solve(pool, s)
    _check_invariants(result, pool, s)
    P, _, _, _, mentors = _profits_by_id(pool, s)
    best = brute_bipartite(P, pool.capacity[mentors], objective)
    assert _total_profit(result, pool, s) == best
    assert result.certified and result.gap == 0


@given(records=bipartite_records(max_mentees=5, max_mentors=2))
@FAST
def test_group_without_minimum_equals_brute_force(records):
    s = settings("group", group_min=1, group_max=3)
    pool = build_pool(records, s)
    result = solve(pool, s)
    _check_invariants(result, pool, s)
    P, _, _, _, mentors = _profits_by_id(pool, s)
    best = brute_bipartite(P, np.full(len(mentors), 3), "max_score")
    assert _total_profit(result, pool, s) == best


@given(records=bipartite_records(max_mentees=5, max_mentors=3))
@FAST
def test_group_minimum_is_met_or_members_are_reported(records):
    s = settings("group", group_min=2, group_max=3)
    pool = build_pool(records, s)
    result = solve(pool, s)
    _check_invariants(result, pool, s)
    assert all(len(m.members) - 1 >= 2 for m in result.matches)
    assert result.upper_bound >= result.total_score - 1e-6


@given(records=bipartite_records())
@FAST
def test_same_input_and_seed_same_result(records):
    s = settings()
    first = solve(build_pool(records, s), s)
    again = solve(build_pool(list(records), s), s)
    assert first.matches == again.matches and first.unmatched == again.unmatched


def test_seniority_order_is_flipped_for_reverse_mentoring():
    base = {"goals": ["python"], "languages": ["en"], "employer": "x"}
    records = [
        {**base, "id": "m_junior", "role": "mentor", "seniority": 1},
        {**base, "id": "m_senior", "role": "mentee", "seniority": 5, "employer": "y"},
    ]
    s = settings("one_to_one")
    assert solve(build_pool(records, s), s).matches == ()
    r = settings("reverse")
    (match,) = solve(build_pool(records, r), r).matches
    assert match.key == "m_junior+m_senior"
    assert "mentee 4 levels above" in match.text("en")


def test_hard_rules_leave_people_unmatched_with_the_reason():
    base = {"goals": ["python"], "seniority": 1}
    records = [
        {**base, "id": "m_a", "role": "mentee", "languages": ["de"], "employer": "x"},
        {**base, "id": "m_b", "role": "mentee", "languages": ["en"], "employer": "acme"},
        {
            **base,
            "id": "m_c",
            "role": "mentor",
            "languages": ["en"],
            "employer": "acme",
            "seniority": 4,
        },
    ]
    s = settings()
    result = solve(build_pool(records, s), s)
    assert result.matches == ()
    reasons = {u.member_id: u.reason for u in result.unmatched}
    assert reasons == {
        "m_a": "no_feasible_partner",
        "m_b": "no_feasible_partner",
        "m_c": "no_feasible_partner",
    }


def test_capacity_exhausted_and_lost_on_score_are_told_apart():
    common = {"languages": ["en"], "seniority": 0}
    records = [
        {**common, "id": "m_e1", "role": "mentee", "goals": ["python"], "employer": "a"},
        {**common, "id": "m_e2", "role": "mentee", "goals": ["python"], "employer": "b"},
        {
            **common,
            "id": "m_t1",
            "role": "mentor",
            "goals": ["python"],
            "employer": "c",
            "seniority": 3,
            "capacity": 1,
        },
    ]
    s = settings()
    result = solve(build_pool(records, s), s)
    assert len(result.matches) == 1
    assert [u.reason for u in result.unmatched] == ["capacity_exhausted"]


def test_lost_on_score_when_a_rearrangement_could_add_the_person():
    # e1 fits t1 very well and t2 hardly; e2 can only meet t1, and only fits it a little.
    # Both could be matched (e1-t2, e2-t1), but e1-t1 alone scores more.
    base = {"languages": ["en"], "seniority": 0}
    records = [
        {
            **base,
            "id": "m_e1",
            "role": "mentee",
            "goals": ["python", "data"],
            "seeks": ["python"],
            "utc_offset": 0,
            "availability_utc": [40, 41],
            "employer": "a",
        },
        {**base, "id": "m_e2", "role": "mentee", "utc_offset": -8, "employer": "b"},
        {
            **base,
            "id": "m_t1",
            "role": "mentor",
            "goals": ["python", "data"],
            "offers": ["python"],
            "utc_offset": 0,
            "availability_utc": [40, 41],
            "seniority": 1,
            "employer": "c",
        },
        {**base, "id": "m_t2", "role": "mentor", "utc_offset": 8, "seniority": 5, "employer": "b"},
    ]
    s = settings()
    result = solve(build_pool(records, s), s)
    assert [m.key for m in result.matches] == ["m_t1+m_e1"]
    assert {u.member_id: u.reason for u in result.unmatched} == {
        "m_e2": "lost_on_score",
        "m_t2": "lost_on_score",
    }
    wide = settings(objective="max_matched")
    assert len(solve(build_pool(records, wide), wide).matches) == 2


def test_explanation_names_the_shared_values_in_both_languages():
    records = [
        {
            "id": "m_e",
            "role": "mentee",
            "goals": ["Python", "open-source governance"],
            "languages": ["de"],
            "utc_offset": 1,
            "availability_utc": list(range(40, 46)),
            "seniority": 1,
            "employer": "a",
        },
        {
            "id": "m_t",
            "role": "mentor",
            "goals": ["python", "open-source governance", "data"],
            "languages": ["de", "en"],
            "utc_offset": 2,
            "availability_utc": list(range(38, 50)),
            "seniority": 3,
            "employer": "b",
        },
    ]
    s = settings()
    (match,) = solve(build_pool(records, s), s).matches
    en, de = match.text("en"), match.text("de")
    assert "shared goals: Python, open-source governance" in en
    assert "time zones 1 h apart" in en and "6 h of shared availability a week" in en
    assert "gemeinsame Ziele: Python, open-source governance" in de
    assert "6 Std. gemeinsame Verfügbarkeit pro Woche" in de
    assert "common languages: German" in en and "gemeinsame Sprachen: Deutsch" in de
    assert abs(match.explanation[0].score - match.score) < 1e-3


def test_held_back_members_are_not_matched_and_say_so():
    records = synthetic_records(30, 10, seed=4)
    s = synthetic_settings()
    held = [records[0]["id"], records[-1]["id"]]
    result = solve(build_pool(records, s), s, hold_back=held)
    assert not set(held) & result.matched_ids
    assert {u.member_id for u in result.unmatched if u.reason == "held_back"} == set(held)


def test_earlier_pairs_are_never_repeated():
    records = synthetic_records(40, 15, seed=5)
    s = synthetic_settings()
    pool = build_pool(records, s)
    first = solve(pool, s)
    earlier = [tuple(sorted(p)) for p in first.pairs()]
    second = solve(pool, s, earlier_pairs=earlier)
    assert not first.pairs() & second.pairs()


@pytest.mark.parametrize(
    ("candidates", "chunk", "store"),
    [(1, None, True), (3, None, True), (40, None, True), (2, 2000, False), (6, 3000, True)],
)
def test_certified_optimum_equals_scipy_on_the_expanded_matrix(
    candidates, chunk, store, monkeypatch
):
    # small chunks run the threaded scoring; store=False scores rows again when pricing
    from mentorflow.matching import scoring
    from mentorflow.matching.bipartite import Profits

    s = synthetic_settings()
    pool = build_pool(synthetic_records(300, 100, seed=9), s)
    mentees, mentors = split_sides(pool)
    scorer = Scorer(pool, s, mentees, mentors)
    P = profit_matrix(scorer).astype(float)
    cap = pool.capacity[mentors]
    expanded = np.hstack([np.repeat(P, cap, axis=1), np.zeros((len(P), len(P)))])
    r, c = linear_sum_assignment(expanded, maximize=True)
    if chunk:
        monkeypatch.setattr(scoring, "CHUNK_ELEMENTS", chunk)
    profits = Profits(scorer, store_bytes=10**9 if store else 0)
    assert (profits.matrix is not None) == store
    sol = solve_bipartite(scorer, cap, candidates=candidates, max_rounds=50, profits=profits)
    assert sol.certified and sol.total == int(expanded[r, c].sum()) == sol.bound


def test_a_pool_whose_mentors_all_left_leaves_every_mentee_unmatched_without_a_crash():
    """Found in the tick: a leave or rematch can leave a round with mentees and no mentor."""
    import json
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data" / "issue9" / "mentees_only_pool.json"
    records = json.loads(data.read_text(encoding="utf-8"))
    s = synthetic_settings("one_to_one")
    result = solve(build_pool(records, s), s)
    assert result.matches == ()
    assert {u.member_id for u in result.unmatched} == {r["id"] for r in records}
    assert {u.reason for u in result.unmatched} == {"no_feasible_partner"}


def _one_sided(model: str, keep: str) -> list[dict]:
    """Only mentors, only mentees, a single peer, or nobody at all."""
    if model == "peer":
        peers = synthetic_records(3, 0, seed=2, role="peer")
        return [] if keep == "nobody" else peers[:1]
    return [r for r in synthetic_records(4, 3, seed=2) if r["role"] == keep]


@pytest.mark.parametrize("model", ["one_to_one", "group", "reverse", "peer"])
@pytest.mark.parametrize("keep", ["mentor", "mentee", "nobody"])
def test_a_pool_with_one_side_empty_or_nobody_is_solved_to_no_pairs(model, keep):
    s = synthetic_settings(model)
    records = _one_sided(model, keep)
    result = solve(build_pool(records, s), s)
    assert result.matches == ()
    assert {u.member_id for u in result.unmatched} == {r["id"] for r in records}
