"""The solver's candidate selection and pricing on pools wide enough for the fast paths."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from mentorflow.matching import bipartite as B
from mentorflow.matching.engine import split_sides
from mentorflow.matching.pool import build_pool
from mentorflow.matching.scoring import Scorer
from mentorflow.matching.synthetic import synthetic_records, synthetic_settings


@pytest.mark.parametrize("seed", range(40))
def test_top_k_equals_a_plain_sort_with_ties_and_zeros(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 40)), int(rng.integers(120, 800))  # wide rows: threshold path
    profits = rng.integers(0, rng.integers(1, 50), size=(n, m)).astype(np.int32)
    profits[rng.random((n, m)) < rng.random()] = 0
    k = int(rng.integers(1, 20))
    _, idx, top, left_out, any_column = B._top_k(np.arange(n), profits, k)
    ranked = -np.sort(-profits, axis=1)
    kept = np.where(top[:, :k] > 0, top[:, :k], 0)
    assert (kept == np.where(ranked[:, :k] > 0, ranked[:, :k], 0)).all()
    assert (np.take_along_axis(profits, idx[:, :k], 1)[kept > 0] == kept[kept > 0]).all()
    for row in range(n):  # a column is kept once
        columns = idx[row, :k][kept[row] > 0]
        assert len(set(columns.tolist())) == len(columns)
    assert (left_out == ranked[:, k]).all()
    assert (any_column == (profits > 0).any(0)).all()


@pytest.mark.parametrize(("mentees", "mentors", "seed"), [(600, 200, 1), (400, 150, 3)])
@pytest.mark.parametrize("store", [B.STORE_BYTES, 0], ids=["profits kept", "re-scored"])
def test_certified_total_equals_scipy_on_the_expanded_matrix(mentees, mentors, seed, store):
    settings = synthetic_settings("one_to_one")
    pool = build_pool(synthetic_records(mentees, mentors, seed=seed), settings)
    rows, columns = split_sides(pool)
    scorer = Scorer(pool, settings, rows, columns)
    capacity = pool.capacity[columns]
    full = scorer.profit(np.arange(len(rows)))
    slots = np.repeat(np.arange(len(columns)), np.where(scorer.closed, 0, capacity))
    r, c = linear_sum_assignment(full[:, slots], maximize=True)
    solution = B.solve_bipartite(scorer, capacity, profits=B.Profits(scorer, store), max_rounds=50)
    assert solution.certified
    assert solution.total == int(full[:, slots][r, c].sum())
