"""Peer pools: pairs equal the brute-force optimum, groups keep pairs feasible, rounds rotate."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings

from mentorflow.matching import build_pool, solve, solve_round
from mentorflow.matching.scoring import Scorer
from mentorflow.matching.synthetic import synthetic_records, synthetic_settings
from tests.unit.matching_strategies import brute_pairs, peer_records, profit_matrix, settings

FAST = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _matrix(pool, s):
    everyone = np.arange(len(pool))
    P = profit_matrix(Scorer(pool, s, everyone, everyone, symmetric=True))
    return P, {member_id: k for k, member_id in enumerate(pool.ids)}


def _check(result, pool, s, sizes):
    P, at = _matrix(pool, s)
    counts = Counter(member for m in result.matches for member in m.member_ids)
    assert all(c == 1 for c in counts.values()), "someone is in two groups"
    for m in result.matches:
        assert len(m.members) in sizes
        for a in m.member_ids:
            for b in m.member_ids:
                assert a == b or P[at[a], at[b]] > 0, "an infeasible pair was proposed"
    assert result.matched_ids | {u.member_id for u in result.unmatched} == set(pool.ids)


@given(records=peer_records(max_people=8))
@FAST
def test_peer_pairs_equal_the_brute_force_optimum(records):
    s = settings("peer")
    pool = build_pool(records, s)
    result = solve(pool, s)
    _check(result, pool, s, {2})
    P, at = _matrix(pool, s)
    total = sum(int(P[at[m.member_ids[0]], at[m.member_ids[1]]]) for m in result.matches)
    assert total == brute_pairs(P)
    assert result.certified


@given(records=peer_records(max_people=10))
@FAST
def test_peer_groups_keep_sizes_and_feasible_pairs(records):
    s = settings("peer", group_min=3, group_max=3)
    pool = build_pool(records, s)
    result = solve(pool, s)
    _check(result, pool, s, {3})
    assert result.upper_bound >= result.total_score - 1e-6


@given(records=peer_records(max_people=8))
@FAST
def test_peer_result_is_deterministic(records):
    s = settings("peer")
    assert solve(build_pool(records, s), s).matches == solve(build_pool(records, s), s).matches


def test_rotational_rounds_never_repeat_a_pair():
    s = synthetic_settings("rotational")
    pool = build_pool(synthetic_records(24, 0, seed=2, role="peer"), s)
    earlier: set[frozenset[str]] = set()
    for round_no in (1, 2, 3):
        result = solve_round(pool, s, round_no, [tuple(p) for p in earlier])
        assert result.round == round_no and result.matches
        assert not result.pairs() & earlier
        earlier |= result.pairs()


def test_rotational_with_mentors_pairs_across_sides():
    s = synthetic_settings("rotational")
    pool = build_pool(synthetic_records(12, 12, seed=2), s)
    first = solve_round(pool, s, 1, [])
    second = solve_round(pool, s, 2, [tuple(p) for p in first.pairs()])
    assert all(m.members[0][1] == "mentor" for m in first.matches + second.matches)
    assert not first.pairs() & second.pairs()


def test_larger_peer_pool_stays_close_to_its_bound():
    s = synthetic_settings("peer")
    pool = build_pool(synthetic_records(600, 0, seed=8, role="peer"), s)
    result = solve(pool, s)
    _check(result, pool, s, {2})
    assert result.gap <= 0.005
