"""Scoring: every fast path (tables, counted values, tiles, threads) gives the same profits."""

from __future__ import annotations

import numpy as np
import pytest

from mentorflow.matching import build_pool, scoring, split_sides
from mentorflow.matching.scoring import Scorer
from mentorflow.matching.synthetic import synthetic_records, synthetic_settings


def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    # no lookup tables, matrix products for every intersection, one tile per chunk, no threads
    monkeypatch.setattr(scoring, "TABLE_KEYS", -1)
    monkeypatch.setattr(scoring, "SPARSE_VALUES", -1)
    monkeypatch.setattr(scoring, "TILE_ELEMENTS", 1 << 40)
    monkeypatch.setattr(scoring, "SPLIT_PAIRS", 1 << 60)


@pytest.mark.parametrize("model", ["one_to_one", "reverse", "peer"])
def test_fast_paths_give_the_profits_of_the_plain_computation(model, monkeypatch):
    s = synthetic_settings(model)
    peer = model == "peer"
    records = synthetic_records(400, 0 if peer else 150, seed=4, role="peer" if peer else None)
    for r in records[::17]:  # unknown values: NaN numbers, empty sets
        r["seniority"], r["utc_offset"], r["languages"], r["communication"] = None, None, [], None
    pool = build_pool(records, s)
    rows, cols = (np.arange(len(pool)),) * 2 if peer else split_sides(pool)
    closed = np.arange(len(cols)) % 11 == 0
    earlier = [(pool.ids[rows[i]], pool.ids[cols[i // 2]]) for i in range(0, 60, 3)]
    kw = dict(symmetric=peer, closed_cols=closed, earlier_pairs=earlier)
    with monkeypatch.context() as plain:
        _plain(plain)
        slow = Scorer(pool, s, rows, cols, **kw)
        expected = slow.profit(np.arange(len(rows)))
        some = np.flatnonzero(np.arange(len(cols)) % 3 == 0)
        expected_some = slow.restricted(some).profit(np.arange(0, len(rows), 2))
    monkeypatch.setattr(scoring, "TILE_ELEMENTS", 700)  # many tiles per chunk
    monkeypatch.setattr(scoring, "TILE_ROWS", 7)
    monkeypatch.setattr(scoring, "SPLIT_PAIRS", 1000)  # shared out to threads
    monkeypatch.setattr(scoring, "SPARSE_VALUES", 3)  # some tiles counted, some multiplied
    fast = Scorer(pool, s, rows, cols, **kw)
    assert fast._tables, "the synthetic criteria should use lookup tables"
    got = np.vstack([fast.profit(pos) for pos in fast.chunks()])
    assert (expected > 0).any() and (expected == 0).any()
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        fast.restricted(some).profit(np.arange(0, len(rows), 2)), expected_some
    )
    most = np.flatnonzero(np.arange(len(cols)) % 5 != 0)  # scored whole, then selected
    np.testing.assert_array_equal(
        fast.restricted(most).restricted(np.arange(0, len(most), 2)).profit(np.arange(9)),
        expected[:9, most[::2]],
    )
