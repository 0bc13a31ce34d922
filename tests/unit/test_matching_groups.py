"""Group models: CP-SAT's answer equals a brute-force optimum, sizes and hard rules hold, bounds
are real bounds, the example specs' pools are solved exactly."""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mentorflow.matching import build_pool, solve, split_sides
from mentorflow.matching.scoring import Scorer
from mentorflow.matching.synthetic import synthetic_records, synthetic_settings
from tests.unit.matching_strategies import bipartite_records, peer_records, profit_matrix, settings

FAST = hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# the patched module constants are the same for every example: safe to share the fixture
PATCHED = hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
OBJECTIVES = ["max_score", "max_matched"]


# ------------------------------------------------------------------ group: one mentor, lo..hi


def _mentor_profits(pool, s):
    mentees, mentors = split_sides(pool)
    P = profit_matrix(Scorer(pool, s, mentees, mentors))
    rows = {pool.ids[i]: k for k, i in enumerate(mentees)}
    cols = {pool.ids[j]: k for k, j in enumerate(mentors)}
    return P, rows, cols


def brute_mentor_groups(P: np.ndarray, lo: int, hi: int, objective: str) -> tuple[int, int]:
    """(mentees placed, total profit) of the best grouping, trying every assignment."""
    n, m = P.shape
    best = (0, 0)
    for choice in itertools.product(range(-1, m), repeat=n):
        if any(c >= 0 and P[i, c] <= 0 for i, c in enumerate(choice)):
            continue
        load = np.bincount([c for c in choice if c >= 0], minlength=m)
        if ((load > 0) & ((load < lo) | (load > hi))).any():
            continue
        count = sum(c >= 0 for c in choice)
        total = sum(int(P[i, c]) for i, c in enumerate(choice) if c >= 0)
        key = (count, total) if objective == "max_matched" else (total, count)
        if key > (best if objective == "max_matched" else best[::-1]):
            best = (count, total)
    return best


def _check_mentor_groups(result, pool, s) -> tuple[int, int]:
    P, rows, cols = _mentor_profits(pool, s)
    seen = Counter(member for m in result.matches for member in m.member_ids)
    assert all(count == 1 for count in seen.values()), "someone is in two groups"
    placed, total = 0, 0
    for m in result.matches:
        (mentor, side), *mentees = m.members
        assert side == "mentor" and s.group_min <= len(mentees) <= s.group_max
        for mentee, _ in mentees:
            assert P[rows[mentee], cols[mentor]] > 0, "an infeasible pair is in a group"
            placed, total = placed + 1, total + int(P[rows[mentee], cols[mentor]])
    assert result.matched_ids | {u.member_id for u in result.unmatched} == set(pool.ids)
    return placed, total


@pytest.mark.parametrize("objective", OBJECTIVES)
@given(records=bipartite_records(max_mentees=6, max_mentors=3))
@FAST
def test_group_with_minimum_equals_the_brute_force_optimum(objective, records):
    s = settings("group", group_min=2, group_max=3, objective=objective)
    pool = build_pool(records, s)
    result = solve(pool, s)
    placed, total = _check_mentor_groups(result, pool, s)
    P, *_ = _mentor_profits(pool, s)
    assert (placed, total) == brute_mentor_groups(P, 2, 3, objective)
    assert result.certified and result.gap == 0


def test_group_minimum_of_three_on_a_small_synthetic_pool_is_optimal():
    s = synthetic_settings("group", group_min=3, group_max=4)
    pool = build_pool(synthetic_records(9, 3, seed=4), s)
    result = solve(pool, s)
    placed, total = _check_mentor_groups(result, pool, s)
    P, *_ = _mentor_profits(pool, s)
    assert (placed, total)[1] == brute_mentor_groups(P, 3, 4, "max_score")[1]
    assert result.certified


# ------------------------------------------------------------ peer groups, every pair feasible


def _peer_profits(pool, s):
    everyone = np.arange(len(pool))
    P = profit_matrix(Scorer(pool, s, everyone, everyone, symmetric=True))
    return P, {member_id: k for k, member_id in enumerate(pool.ids)}


def brute_peer_groups(P: np.ndarray, lo: int, hi: int, objective: str) -> tuple[int, Fraction]:
    """(people placed, total value) of the best grouping: recursion over the first free person."""
    ok = P > 0

    def value(group: tuple[int, ...]) -> Fraction:
        pairs = sum(int(P[a, b]) for a, b in itertools.combinations(group, 2))
        return Fraction(pairs, len(group) - 1)

    def key(x: tuple[int, Fraction]) -> tuple:
        return x if objective == "max_matched" else (x[1], x[0])

    def rec(free: tuple[int, ...]) -> tuple[int, Fraction]:
        if len(free) < 2:
            return (0, Fraction(0))
        first, rest = free[0], free[1:]
        best = rec(rest)
        for size in range(lo, hi + 1):
            for others in itertools.combinations(rest, size - 1):
                group = (first, *others)
                if all(ok[a, b] for a, b in itertools.combinations(group, 2)):
                    left = tuple(p for p in rest if p not in others)
                    sub = rec(left)
                    cand = (sub[0] + size, sub[1] + value(group))
                    if key(cand) > key(best):
                        best = cand
        return best

    return rec(tuple(range(len(P))))


def _check_peer_groups(result, pool, s, lo, hi) -> tuple[int, Fraction]:
    P, at = _peer_profits(pool, s)
    seen = Counter(member for m in result.matches for member in m.member_ids)
    assert all(count == 1 for count in seen.values()), "someone is in two groups"
    placed, total = 0, Fraction(0)
    for m in result.matches:
        ids = m.member_ids
        assert lo <= len(ids) <= hi
        for a, b in itertools.combinations(ids, 2):
            assert P[at[a], at[b]] > 0, "an infeasible pair is in a group"
        pairs = sum(int(P[at[a], at[b]]) for a, b in itertools.combinations(ids, 2))
        placed, total = placed + len(ids), total + Fraction(pairs, len(ids) - 1)
    assert result.matched_ids | {u.member_id for u in result.unmatched} == set(pool.ids)
    return placed, total


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("sizes", [(3, 3), (2, 3), (3, 4)])
@given(records=peer_records(max_people=8))
@FAST
def test_peer_groups_equal_the_brute_force_optimum(objective, sizes, records):
    lo, hi = sizes
    s = settings("peer", group_min=lo, group_max=hi, objective=objective)
    pool = build_pool(records, s)
    result = solve(pool, s)
    got = _check_peer_groups(result, pool, s, lo, hi)
    P, _ = _peer_profits(pool, s)
    assert got == brute_peer_groups(P, lo, hi, objective)
    assert result.certified and result.gap == 0


@given(records=peer_records(max_people=14))
@FAST
def test_peer_group_invariants_and_a_real_bound(records):
    s = settings("peer", group_min=3, group_max=4)
    pool = build_pool(records, s)
    result = solve(pool, s)
    _check_peer_groups(result, pool, s, 3, 4)
    assert result.upper_bound >= result.total_score - 1e-6


@pytest.mark.parametrize("model", ["group", "peer"])
def test_same_data_and_seed_give_the_same_groups(model):
    s = synthetic_settings(model, group_min=3, group_max=4)
    records = synthetic_records(40, 10 if model == "group" else 0, seed=5,
                                role="peer" if model == "peer" else None)  # fmt: skip
    first, again = solve(build_pool(records, s), s), solve(build_pool(list(records), s), s)
    assert first.matches == again.matches and first.unmatched == again.unmatched
    assert first.upper_bound == again.upper_bound


@pytest.mark.parametrize("model", ["group", "peer"])
def test_every_member_is_told_why_they_are_in_their_group(model):
    from mentorflow.matching.explain import membership

    s = synthetic_settings(model, group_min=3, group_max=4)
    records = synthetic_records(12, 3 if model == "group" else 0, seed=5,
                                role="peer" if model == "peer" else None)  # fmt: skip
    result = solve(build_pool(records, s), s)
    assert result.matches
    for m in result.matches:
        for member_id, side in m.members:
            en, de = membership(m, member_id)
            others = [i for i in m.member_ids if i != member_id]
            # a mentee is explained by its mentor; a mentor and a peer by everyone in the group
            expected = [m.members[0][0]] if side == "mentee" else others
            assert all(f"with {o} (" in en and f"mit {o} (" in de for o in expected)


# ------------------------------------------------------------ the bounds beyond the exact sizes


@pytest.mark.parametrize("path", ["priced", "generated", "shares"])
@given(records=peer_records(max_people=8))
@PATCHED
def test_peer_bounds_beyond_the_exact_size_bound_the_brute_force_optimum(
    path, records, monkeypatch
):
    from mentorflow.matching import groups
    from mentorflow.matching.scoring import SCALE

    monkeypatch.setattr(groups, "EXACT_PEERS", 0)  # never every clique: a real bound is needed
    if path != "priced":  # the large pools' paths: column generation, or subgradient prices
        monkeypatch.setattr(groups, "PRICE_PEERS", 0)
    if path == "shares":  # no LP: subgradient prices and each person's best share
        monkeypatch.setattr(groups, "GENERATE_PEERS", 0)
    s = settings("peer", group_min=3, group_max=4)
    pool = build_pool(records, s)
    result = solve(pool, s)
    _check_peer_groups(result, pool, s, 3, 4)
    P, _ = _peer_profits(pool, s)
    placed, value = brute_peer_groups(P, 3, 4, "max_score")
    assert result.upper_bound >= float(value - Fraction(placed, 2)) / SCALE - 1e-4
    assert result.total_score <= float(value - Fraction(placed, 2)) / SCALE + 1e-4


@pytest.mark.parametrize("objective", OBJECTIVES)
@given(data=st.data())
@FAST
def test_the_share_bound_bounds_every_grouping_at_any_prices(objective, data):
    from mentorflow.matching.groups import share_bound

    n = data.draw(st.integers(3, 8))
    upper = data.draw(st.lists(st.integers(-3000, 10_001), min_size=n * n, max_size=n * n))
    P = np.triu(np.maximum(0, np.array(upper, np.int64).reshape(n, n)), 1)
    P = P + P.T
    pi = np.array(data.draw(st.lists(st.floats(0, 12_000), min_size=n, max_size=n)))
    lo, hi = data.draw(st.sampled_from([(3, 3), (2, 3), (3, 4)]))
    bonus = int(n * int(P.max(initial=0)) // 2 + 1) if objective == "max_matched" else 0
    placed, value = brute_peer_groups(P, lo, hi, objective)
    assert share_bound(P, pi, lo, hi, bonus) >= float(value) + bonus * placed - 1e-6


def _random_profits(data, n: int) -> np.ndarray:
    upper = data.draw(st.lists(st.integers(-3000, 10_001), min_size=n * n, max_size=n * n))
    P = np.triu(np.maximum(0, np.array(upper, np.int64).reshape(n, n)), 1)
    return P + P.T


@given(data=st.data())
@FAST
def test_positive_groups_are_every_group_of_positive_reduced_value(data):
    from mentorflow.matching.groups import positive_groups

    n = data.draw(st.integers(2, 9))
    P = _random_profits(data, n)
    shift = np.array(data.draw(st.lists(st.floats(-3000, 9000), min_size=n, max_size=n)))
    lo, hi = data.draw(st.sampled_from([(3, 3), (2, 3), (3, 4), (2, 4), (4, 4)]))
    want = {}
    for size in range(lo, hi + 1):
        for g in itertools.combinations(range(n), size):
            pairs = list(itertools.combinations(g, 2))
            if all(P[a, b] > 0 for a, b in pairs):
                reduced = sum(P[a, b] - shift[a] - shift[b] for a, b in pairs) / (size - 1)
                if reduced > 0:
                    want[g] = reduced
    found = positive_groups(P, shift, lo, hi, 10**9)
    assert found is not None
    rows, gains = found[0].tolist(), found[1].tolist()
    got = {tuple(p for p in row if p >= 0): r for row, r in zip(rows, gains, strict=True)}
    assert set(got) == set(want)
    assert all(abs(got[g] - want[g]) <= 1e-6 * max(1.0, abs(want[g])) for g in want)
    assert positive_groups(P, shift, lo, hi, 0) is None or not want  # the budget is kept


@pytest.mark.parametrize("objective", OBJECTIVES)
@given(data=st.data())
@FAST
def test_the_priced_bound_bounds_every_grouping_at_any_prices(objective, data):
    from mentorflow.matching.groups import positive_groups, priced_bound

    n = data.draw(st.integers(3, 8))
    P = _random_profits(data, n)
    pi = np.array(data.draw(st.lists(st.floats(0, 12_000), min_size=n, max_size=n)))
    lo, hi = data.draw(st.sampled_from([(3, 3), (2, 3), (3, 4)]))
    bonus = int(n * int(P.max(initial=0)) // 2 + 1) if objective == "max_matched" else 0
    found = positive_groups(P, pi - bonus, lo, hi, 10**9)
    assert found is not None
    placed, value = brute_peer_groups(P, lo, hi, objective)
    bound = priced_bound(pi, *found)
    assert bound >= float(value) + bonus * placed - 1e-6
    assert bound <= float(pi.sum() + found[1].sum()) + 1e-6  # never above the Lagrangian bound


@given(records=bipartite_records(max_mentees=6, max_mentors=3))
@PATCHED
def test_group_bound_of_large_pools_bounds_the_brute_force_optimum(records, monkeypatch):
    from mentorflow.matching import groups
    from mentorflow.matching.scoring import SCALE

    monkeypatch.setattr(groups, "LARGE_MATRIX", 0)  # heuristic start and the bound only
    s = settings("group", group_min=2, group_max=3)
    pool = build_pool(records, s)
    result = solve(pool, s)
    _check_mentor_groups(result, pool, s)
    P, *_ = _mentor_profits(pool, s)
    placed, total = brute_mentor_groups(P, 2, 3, "max_score")
    assert result.upper_bound >= (total - placed) / SCALE - 1e-4


# ------------------------------------------------------------ the example specs' sample pools


def _example_pool(tmp_path, name):
    from datetime import UTC, datetime
    from pathlib import Path

    from sqlalchemy import update

    from mentorflow.clock import FixedClock
    from mentorflow.intake import service, sources
    from mentorflow.matching import store_io
    from mentorflow.matching.settings import settings_from_spec
    from mentorflow.spec import load_spec
    from mentorflow.store import repo
    from mentorflow.store.db import open_store
    from mentorflow.store.tables import enrolments

    root = Path(__file__).resolve().parents[2]
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    spec = load_spec(root / "program_specs" / f"{name}.yaml")
    now = FixedClock(datetime(2027, 1, 26, 9, 0, tzinfo=UTC))
    service.ingest(engine, sources.read_csv(spec.intake.source), spec, now, "test")
    with engine.begin() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        conn.execute(
            update(enrolments)
            .where(enrolments.c.status == "pending_approval")
            .values(status="enrolled")
        )
        found = store_io.load_pool_input(conn, spec.program.id, cycle.id)
    s = settings_from_spec(spec)
    return build_pool(found.records, s, week_of=spec.cycle.start), s


def test_the_group_example_is_solved_exactly(tmp_path):
    pool, s = _example_pool(tmp_path, "group")
    result = solve(pool, s)
    placed, total = _check_mentor_groups(result, pool, s)
    assert result.certified and result.gap == 0  # was 5.5% with the heuristic alone
    P, *_ = _mentor_profits(pool, s)
    assert P.shape[0] <= 10 and P.shape[1] <= 4  # small enough to enumerate
    assert (placed, total) == brute_mentor_groups(P, s.group_min, s.group_max, s.objective)


def test_the_peer_example_is_solved_exactly(tmp_path):
    pool, s = _example_pool(tmp_path, "peer")
    lo, hi = max(2, s.group_min), s.peer_group_size
    result = solve(pool, s)
    got = _check_peer_groups(result, pool, s, lo, hi)
    assert result.certified and result.gap == 0  # was 11-17% with the heuristic alone
    P, _ = _peer_profits(pool, s)
    assert got == brute_peer_groups(P, lo, hi, s.objective)


def test_peer_groups_beyond_400_people_report_a_tight_gap():
    """Column generation and the exact pricing (the subgradient path reported about 21% here)."""
    s = synthetic_settings("peer", group_min=3, group_max=4)
    result = solve(build_pool(synthetic_records(500, 0, seed=1, role="peer"), s), s)
    assert "column generation" in result.method
    assert result.total_score <= result.upper_bound
    assert (result.upper_bound - result.total_score) / result.upper_bound <= 0.03
