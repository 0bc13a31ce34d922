"""Exact bipartite matching with capacities: min-cost flow on a candidate graph, certified by duals.

The LP of b-matching (each row at most once, column j at most cap[j] times) is totally
unimodular, so a dual solution (u per row, v per column, both >= 0, u_i + v_j >= w_ij for every
feasible pair) proves optimality when its objective equals the matching's total. We solve on the
top-K candidates per row with OR-Tools' min-cost flow, derive the duals from the flow (shortest
paths over the mentors: see `prices`), then price every pair left out: the next SPARE columns per
row from their kept profits, the rest by the bound `left_out` and, where that bound cannot rule a
row out, by scoring it again (on the worker threads). A left-out pair with
positive reduced profit joins the graph and we solve again (column generation); when none is left
the result is the optimum of the full problem. If rounds run out, the dual bound
``sum(max(u_i, max_j w_ij - v_j)) + sum(cap_j v_j)`` is a proven upper bound; the gap is reported.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
from ortools.graph.python import min_cost_flow

from mentorflow import progress
from mentorflow.errors import MatchingError
from mentorflow.matching import scoring
from mentorflow.matching.scoring import Scorer

INF = np.int64(1) << np.int64(60)
CLOSED_PRICE = np.int64(1) << np.int64(61)  # above any profit with its bonuses
ADD_PER_ROW = 8  # columns a violating row brings into the graph per pricing round
SPARE = 20  # per row, the next best columns after the graph's K, kept to price without scoring
SAMPLE_SHARE = 4  # top-K threshold from 1/4 of the columns: a cheap bound, then exact on the rest
LOWEST = True  # lowest prices leave rows the most surplus: fewer rows to price again
STORE_BYTES = 200 * 2**20
WORKERS = min(
    2, os.cpu_count() or 1
)  # scoring threads  # keep the whole profit matrix when it fits; else score again


@dataclass(frozen=True)
class BipartiteSolution:
    """Which column each row got (-1: none), with the certificate of how good that is."""

    row_col: np.ndarray  # int64 per row position
    row_profit: np.ndarray  # int64 per row (0 when unmatched)
    total: int  # sum of profits
    bound: int  # proven upper bound on the total (== total when certified)
    certified: bool
    pricing_rounds: int
    edges: np.ndarray  # (2, E) int64: the final candidate graph (rows, cols)
    row_feasible: np.ndarray  # bool per row: some feasible column exists
    col_feasible: np.ndarray  # bool per column: some feasible row exists
    edge_profit: np.ndarray | None = None  # int64 per edge of `edges` (without bonuses)
    gross_total: int = 0  # total with the lexicographic bonuses (see `row_bonus`)
    gross_bound: int = 0  # proven upper bound on gross_total

    @property
    def matched(self) -> int:
        return int((self.row_col >= 0).sum())


class Profits:
    """Profit rows on demand: from a stored matrix when it fits in memory, else scored again.

    Chunks are scored on up to WORKERS threads (numpy releases the GIL); results come back in
    order, and each chunk's profits do not depend on the others, so threads change no result.
    """

    def __init__(self, scorer: Scorer, store_bytes: int = STORE_BYTES) -> None:
        self.scorer = scorer
        nr, m = scorer.shape
        self.matrix: np.ndarray | None = None
        if nr * m * 4 <= store_bytes:
            self.matrix = np.empty((nr, m), dtype=np.int32)
            for pos, p in _scored(scorer, np.arange(nr)):
                self.matrix[pos[0] : pos[-1] + 1] = p

    def chunks(
        self, positions: np.ndarray | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self.matrix is None:
            yield from _scored(self.scorer, positions)
            return
        for pos in self.scorer.chunks(positions):
            if len(pos) and pos[-1] - pos[0] + 1 == len(pos):
                yield pos, self.matrix[pos[0] : pos[-1] + 1]  # a view: no copy
            else:
                yield pos, self.matrix[pos]


def _scored(
    scorer: Scorer, positions: np.ndarray | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(positions, profits) per chunk, computed ahead on a few threads, in order."""
    chunks = list(scorer.chunks(positions))
    if WORKERS <= 1 or len(chunks) < 4:
        for pos in chunks:
            yield pos, scorer.profit(pos)
        return
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        ahead: deque[tuple[np.ndarray, Future[np.ndarray]]] = deque()
        for pos in chunks:
            ahead.append((pos, pool.submit(scorer.profit, pos)))
            if len(ahead) > 2 * WORKERS:
                done_pos, done = ahead.popleft()
                yield done_pos, done.result()
        while ahead:
            done_pos, done = ahead.popleft()
            yield done_pos, done.result()


@dataclass(frozen=True)
class Graph:
    """The candidate graph: each row's best K columns, each column's best L rows."""

    rows: np.ndarray
    cols: np.ndarray
    profit: np.ndarray
    left_out: np.ndarray  # per row: an upper bound on the profit of any pair left out
    col_feasible: np.ndarray  # per column: has any feasible row
    spare_cols: np.ndarray  # (rows, SPARE) int64: the next best columns, not in the graph
    spare_profit: np.ndarray  # (rows, SPARE) int64: their profits (0: none)


def candidate_graph(profits: Profits, k: int, col_k: int = 0, spare: int = 0) -> Graph:
    """Top-k columns per row (and top-col_k rows per column), the next `spare` columns per row
    kept aside; left_out bounds the rest."""
    nr, m = profits.scorer.shape
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    left = np.zeros(nr, dtype=np.int64)
    col_any = np.zeros(m, dtype=bool)
    spare_cols = np.zeros((nr, spare), np.int64)
    spare_prof = np.zeros((nr, spare), np.int64)
    if col_k:
        col_vals, col_rows = np.zeros((0, m), np.int32), np.zeros((0, m), np.int64)
        for pos, p in profits.chunks():
            col_vals, col_rows = _merge_columns(col_vals, col_rows, p, pos, col_k)
        parts.append((col_rows.ravel(), np.tile(np.arange(m), len(col_rows)), col_vals.ravel()))
    scored = progress.track("matching: pairs scored", nr * m)
    with scored as bar:
        for pos, idx, prof, best_left, any_row in _map_chunks(
            profits, partial(_top_k, k=k + spare)
        ):
            col_any |= any_row
            left[pos] = best_left
            width = min(k, idx.shape[1])
            spare_cols[pos, : idx.shape[1] - width] = idx[:, width:]
            spare_prof[pos, : idx.shape[1] - width] = prof[:, width:]
            idx, prof = idx[:, :width], prof[:, :width]
            parts.append(
                (np.broadcast_to(pos[:, None], idx.shape).ravel(), idx.ravel(), prof.ravel())
            )
            bar.advance(len(pos) * m)
    if not parts:
        empty = np.zeros(0, np.int64)
        return Graph(empty, empty, empty, left, col_any, spare_cols, spare_prof)
    rows = np.concatenate([x[0] for x in parts]).astype(np.int64)
    cols = np.concatenate([x[1] for x in parts]).astype(np.int64)
    prof = np.concatenate([x[2] for x in parts]).astype(np.int64)
    keep = prof > 0
    key, first = np.unique(rows[keep] * m + cols[keep], return_index=True)
    return Graph(key // m, key % m, prof[keep][first], left, col_any, spare_cols, spare_prof)


def _top_k(pos: np.ndarray, p: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """One chunk's best k columns per row, best first (profit 0: none), the best profit left
    out, feasible columns.

    The (k+1)-th best of a sample of the columns is a threshold at least k+1 entries of the row
    reach; only those few entries are sorted. Ties go to the lower column.
    """
    n, m = p.shape
    width = max(4 * (k + 1), m // SAMPLE_SHARE)
    if width >= m:
        order = np.argsort(-p, axis=1, kind="stable")
        idx = order[:, :k]
        top = np.take_along_axis(p, idx, 1)
        left = np.take_along_axis(p, order[:, k : k + 1], 1)[:, 0] if m > k else np.zeros(n)
        return pos, idx, top, left.astype(np.int64), np.asarray((p > 0).any(axis=0))
    sample = np.partition(p[:, :width], width - k - 1, axis=1)[:, width - k - 1]
    flat = np.flatnonzero(p >= np.maximum(sample, 1)[:, None])  # 1-D: much faster than 2-D
    r = flat // m
    val = p.reshape(-1)[flat].astype(np.int64)
    order = np.argsort(r * (1 << 32) - val, kind="stable")  # by row, best first, then column
    r, c, val = r[order], flat[order] - r[order] * m, val[order]
    counts = np.bincount(r, minlength=n)
    rank = np.arange(len(r)) - (np.cumsum(counts) - counts)[r]
    idx = np.zeros((n, k), np.int64)
    top = np.zeros((n, k), p.dtype)
    sel = rank < k
    idx[r[sel], rank[sel]], top[r[sel], rank[sel]] = c[sel], val[sel]
    left = np.zeros(n, np.int64)
    at = rank == k
    left[r[at]] = val[at]  # fewer than k+1 entries: all feasible ones are kept, none left out
    return pos, idx, top, left, np.asarray((p > 0).any(axis=0))


def _map_chunks(profits: Profits, work: Callable[..., tuple]) -> Iterator[tuple]:
    """`work(pos, profits)` for every chunk, on WORKERS threads, results in chunk order."""
    chunks = list(profits.scorer.chunks())

    def run(pos: np.ndarray) -> tuple:
        if profits.matrix is not None:
            return work(pos, profits.matrix[pos[0] : pos[-1] + 1])
        return work(pos, profits.scorer.profit(pos))

    if WORKERS <= 1 or len(chunks) < 4:
        yield from map(run, chunks)
        return
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        yield from pool.map(run, chunks)  # results are small: top-k only


def _merge_columns(
    vals: np.ndarray, rows: np.ndarray, p: np.ndarray, pos: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    stack = np.concatenate([vals, p])
    who = np.concatenate([rows, np.broadcast_to(pos[:, None], p.shape)])
    if len(stack) <= k:
        return stack, who
    sel = np.argpartition(stack, len(stack) - k, axis=0)[len(stack) - k :]
    return np.take_along_axis(stack, sel, 0), np.take_along_axis(who, sel, 0)


def solve_bipartite(
    scorer: Scorer,
    capacity: np.ndarray,
    *,
    objective: str = "max_score",
    candidates: int = 6,
    max_rounds: int = 10,
    gap_tolerance: float = 0.0,
    profits: Profits | None = None,
    col_candidates: int | None = None,
    priority: np.ndarray | None = None,
    graph: Graph | None = None,
    closed_rows: np.ndarray | None = None,
    known_bound: int | None = None,
) -> BipartiteSolution:
    """The optimum of the declared objective for rows x columns with column capacities.

    Rows with `priority` > 0 (waitlisted before) are matched first: the solution maximises the
    sum of matched rows' priorities, then the objective (see `row_bonus`). Stops when certified
    optimal, when the proven relative gap is at most `gap_tolerance`, or
    after `max_rounds` pricing rounds (the proven gap is then in the result).

    `graph` reuses a candidate graph of the same scorer (no scoring again); rows marked in
    `closed_rows` take no column (a `both` member placed as a mentor). The bonuses are computed
    before rows are closed, so gross totals of one graph compare across closings.
    `known_bound`: a proven upper bound on the gross total that the caller has (one for every
    side choice of `both` members): the flow on the graph is then the answer, without pricing,
    certified only when it reaches that bound.
    """
    nr, m = scorer.shape
    capacity = np.where(scorer.closed, 0, np.asarray(capacity, dtype=np.int64))
    profits = profits or Profits(scorer)
    col_k = 0 if col_candidates is None else col_candidates
    if graph is None:
        graph = candidate_graph(profits, candidates, col_k=min(nr, col_k), spare=SPARE)
    bonus = row_bonus(graph.profit, graph.left_out, m, objective, priority)
    if closed_rows is not None and closed_rows.any():
        graph = without_rows(graph, closed_rows)
    rows, cols, prof = graph.rows, graph.cols, graph.profit
    if nr == 0 or m == 0:  # nobody on one side (everyone of it left): nothing to match
        return _empty_solution(nr, graph)
    rounds = 0
    while True:
        rounds += 1
        gross = prof + bonus[rows]
        row_col, row_prof = min_cost_flow_on(nr, m, rows, cols, gross, capacity)
        total_now = int(row_prof.sum())
        if known_bound is not None:
            bound, certified = max(known_bound, total_now), total_now >= known_bound
            break
        v = prices(nr, m, rows, cols, gross, row_col, row_prof, capacity, lowest=LOWEST)
        u = np.where(row_col >= 0, row_prof - v[np.maximum(row_col, 0)], 0)
        extra, bound = _price_out(profits, u, v, capacity, graph, bonus)
        certified = extra is None
        close = bound - total_now <= gap_tolerance * max(1, bound - bonus[row_col >= 0].sum())
        if extra is None or rounds >= max_rounds or close:
            break
        rows, cols = np.concatenate([rows, extra[0]]), np.concatenate([cols, extra[1]])
        prof = np.concatenate([prof, extra[2]])
    matched = row_col >= 0
    pure = np.where(matched, row_prof - bonus, 0)
    total = int(pure.sum())
    upper = int(bound - int(bonus[matched].sum()))
    return BipartiteSolution(
        row_col=row_col,
        row_profit=pure,
        total=total,
        bound=max(upper, total),
        certified=certified,
        pricing_rounds=rounds,
        edges=np.stack([rows, cols]),
        row_feasible=np.bincount(rows, minlength=nr) > 0,
        col_feasible=graph.col_feasible,
        edge_profit=prof,
        gross_total=total_now,
        gross_bound=max(int(bound), total_now),
    )


def _empty_solution(nr: int, graph: Graph) -> BipartiteSolution:
    """The proven optimum of a pool without rows or without columns: no pair at all."""
    return BipartiteSolution(
        row_col=np.full(nr, -1, dtype=np.int64),
        row_profit=np.zeros(nr, dtype=np.int64),
        total=0,
        bound=0,
        certified=True,
        pricing_rounds=0,
        edges=np.zeros((2, 0), dtype=np.int64),
        row_feasible=np.zeros(nr, dtype=bool),
        col_feasible=graph.col_feasible,
    )


def without_rows(graph: Graph, closed: np.ndarray) -> Graph:
    """The graph with the rows marked in `closed` taking no column (and nothing to price)."""
    keep = ~closed[graph.rows]
    left = np.where(closed, 0, graph.left_out)
    spare = (
        np.where(closed[:, None], 0, graph.spare_profit)
        if graph.spare_profit.size
        else graph.spare_profit
    )
    return Graph(
        graph.rows[keep],
        graph.cols[keep],
        graph.profit[keep],
        left,
        graph.col_feasible,
        graph.spare_cols,
        spare,
    )


def with_edges(graph: Graph, rows: np.ndarray, cols: np.ndarray, profit: np.ndarray) -> Graph:
    """The graph plus edges found by pricing elsewhere (duplicates kept once)."""
    m = max(int(graph.cols.max(initial=0)), int(cols.max(initial=0))) + 1
    r = np.concatenate([graph.rows, rows])
    c = np.concatenate([graph.cols, cols])
    p = np.concatenate([graph.profit, profit])
    key, first = np.unique(r * m + c, return_index=True)
    return Graph(
        key // m,
        key % m,
        p[first],
        graph.left_out,
        graph.col_feasible,
        graph.spare_cols,
        graph.spare_profit,
    )


def row_bonus(
    prof: np.ndarray,
    left_out: np.ndarray,
    m: int,
    objective: str,
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """Per row, what each of its feasible pairs gets on top of its profit: lexicographic tiers.

    max_matched: every pair is worth more than any score sum of the others. Priority: each unit
    of a row's priority is worth more than everything below it together (all matched pairs with
    their max_matched bonus), so the most priority is matched first, then the objective.
    """
    nr = len(left_out)
    top = max(int(prof.max(initial=0)), int(left_out.max(initial=0)))
    matched = (nr + 1) * (top + 1) if objective == "max_matched" else 0
    weight = np.zeros(nr, np.int64) if priority is None else np.asarray(priority, np.int64)
    weight = np.maximum(weight, 0)
    if not weight.any():
        return np.full(nr, matched, np.int64)
    unit = (nr + 1) * (top + matched + 1)
    if (int(weight.max()) * unit + matched + top) * (nr + m + 2) >= 2**62:
        raise MatchingError(
            f"waitlist priority with objective {objective} does not fit exact 64-bit costs for "
            f"{nr} mentees; use max_score or match the pool in parts"
        )
    return matched + weight * unit


def min_cost_flow_on(
    nr: int, m: int, rows: np.ndarray, cols: np.ndarray, prof: np.ndarray, capacity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The best b-matching on the given pairs alone: (column per row or -1, its profit)."""
    sink = nr + m
    flow = min_cost_flow.SimpleMinCostFlow()
    tails = np.concatenate([rows, np.arange(nr), nr + np.arange(m)])
    heads = np.concatenate([nr + cols, np.full(nr, sink), np.full(m, sink)])
    caps = np.concatenate([np.ones(len(rows) + nr, np.int64), capacity])
    costs = np.concatenate([-prof, np.zeros(nr + m, np.int64)])
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(sink + 1, np.int64)
    supplies[:nr], supplies[sink] = 1, -nr
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise MatchingError(f"min-cost flow did not solve: {status}")
    used = flow.flows(np.arange(len(rows))) > 0
    row_col = np.full(nr, -1, np.int64)
    row_prof = np.zeros(nr, np.int64)
    row_col[rows[used]] = cols[used]
    row_prof[rows[used]] = prof[used]
    return row_col, row_prof


def prices(
    nr: int,
    m: int,
    rows: np.ndarray,
    cols: np.ndarray,
    prof: np.ndarray,
    row_col: np.ndarray,
    row_prof: np.ndarray,
    capacity: np.ndarray,
    *,
    lowest: bool = True,
) -> np.ndarray:
    """Column prices v >= 0 that, with u_i = w_i,a(i) - v_a(i), are optimal duals on the graph.

    Each row must like its own column at least as much as any candidate at these prices:
    ``v_a - v_k <= w_ia - w_ik``, a system of difference constraints. Columns with room left
    have price 0 and merge into a root node (so does "unmatched", worth 0); the shortest path
    distances from the root solve the system (Bellman-Ford, vectorised). No negative cycle exists
    because the flow is optimal.
    """
    load = np.bincount(row_col[row_col >= 0], minlength=m)
    root = m
    node = np.where((load >= capacity) & (capacity > 0), np.arange(m), root)
    node = np.append(node, root)  # index m ("unmatched") is the root too
    own = np.where(row_col >= 0, row_col, m)
    own_node = node[own]
    keep = (cols != row_col[rows]) & (capacity[cols] > 0)  # a closed column binds nobody
    matched = np.flatnonzero(row_col >= 0)
    full = np.flatnonzero(node[:m] != root)
    tails = np.concatenate([node[cols[keep]], np.full(len(matched), root), full])
    heads = np.concatenate([own_node[rows[keep]], own_node[matched], np.full(len(full), root)])
    weights = np.concatenate(
        [row_prof[rows[keep]] - prof[keep], row_prof[matched], np.zeros(len(full), np.int64)]
    )
    loops = tails == heads
    if (weights[loops] < 0).any():
        raise MatchingError("the flow is not optimal on its own graph (negative self-loop)")
    if lowest:
        # shortest distances *to* the root, negated: the lowest prices (the highest u)
        dist = -_bellman_ford(m + 1, root, heads[~loops], tails[~loops], weights[~loops])
    else:
        dist = _bellman_ford(m + 1, root, tails[~loops], heads[~loops], weights[~loops])
    v = dist[node[:m]]
    return np.where(capacity > 0, v, CLOSED_PRICE)  # a closed column is never worth its price


def _bellman_ford(
    n: int, source: int, tails: np.ndarray, heads: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    order = np.argsort(heads, kind="stable")
    tails, heads, weights = tails[order], heads[order], weights[order]
    targets, starts = np.unique(heads, return_index=True)
    dist = np.full(n, INF, dtype=np.int64)
    dist[source] = 0
    for _ in range(n + 1):
        reach = dist[tails]
        cand = np.where(reach >= INF, INF, reach + weights)
        best = np.minimum.reduceat(cand, starts)
        better = best < dist[targets]
        if not better.any():
            return dist
        dist[targets[better]] = best[better]
    raise MatchingError("negative cycle in the price graph: the flow is not optimal")


def _price_out(
    profits: Profits,
    u: np.ndarray,
    v: np.ndarray,
    capacity: np.ndarray,
    graph: Graph,
    bonus: np.ndarray,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray] | None, int]:
    """Pairs left out of the graph that would improve the dual objective, and the dual bound."""
    extra, bound, _ = price_out(profits, u, v, capacity, graph, bonus)
    return extra, bound


def price_out(
    profits: Profits,
    u: np.ndarray,
    v: np.ndarray,
    capacity: np.ndarray,
    graph: Graph,
    bonus: np.ndarray,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray] | None, int, np.ndarray]:
    """`_price_out`, and the row prices raised to cover every pair of the pool (with v, a
    dual solution feasible for the whole pool: the bound is its objective).

    The spare columns kept per row are priced from their stored profits. Any other left-out
    pair has profit at most `left_out_i`, so it can only violate when
    ``v_j < left_out_i + bonus - u_i``: rows with no such column are skipped, and when rows are
    scored again only those columns are (prices >= 0 keep this sound).
    """
    m = len(v)
    reach = np.where(graph.left_out > 0, graph.left_out + bonus, 0) - u
    suspects = np.flatnonzero(reach > 0)
    suspects = suspects[np.argsort(-reach[suspects], kind="stable")]
    best = u.copy()
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if graph.spare_profit.size:
        sp = graph.spare_profit
        gain = np.where(sp > 0, sp + bonus[:, None] - v[graph.spare_cols], np.int64(-1))
        best = np.maximum(best, gain.max(axis=1))
        bad = np.flatnonzero(gain.max(axis=1) > u)
        if len(bad):
            sub = gain[bad] - u[bad][:, None]
            ok = sub > 0
            rows = np.broadcast_to(bad[:, None], sub.shape)[ok]
            found.append((rows, graph.spare_cols[bad][ok], sp[bad][ok]))
    wide = bool(bonus.any()) or int(v.max(initial=0)) >= 2**30
    work = partial(_price_chunk, profits, u, v, bonus, wide)
    for pos, row_best, violations in _in_threads(
        work, _suspect_chunks(profits, suspects, reach, v)
    ):
        best[pos] = np.maximum(best[pos], row_best)
        if violations is not None:
            found.append(violations)
    bound = int(best.sum()) + int((np.where(capacity > 0, v, 0) * capacity).sum())
    if not found:
        return None, bound, best
    rows, cols, prof = (np.concatenate([f[k] for f in found]).astype(np.int64) for k in range(3))
    _, first = np.unique(rows * m + cols, return_index=True)  # spare pairs are scored again too
    return (rows[first], cols[first], prof[first]), bound, best


def _suspect_chunks(
    profits: Profits, suspects: np.ndarray, reach: np.ndarray, v: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows, column positions) to price: all columns from a stored matrix, else only the
    columns cheap enough to matter for the chunk (rows come sorted by reach)."""
    if profits.matrix is not None:
        return [(pos, np.arange(len(v))) for pos in profits.scorer.chunks(suspects)]
    out = []
    start = 0
    while start < len(suspects):
        colsel = np.flatnonzero(v < reach[suspects[start]])  # the chunk's largest reach
        step = max(8, scoring.CHUNK_ELEMENTS // max(1, len(colsel)))  # fewer columns: more rows
        if len(colsel):
            out.append((suspects[start : start + step], colsel))
        start += step
    return out


def _price_chunk(
    profits: Profits,
    u: np.ndarray,
    v: np.ndarray,
    bonus: np.ndarray,
    wide: bool,
    pos: np.ndarray,
    colsel: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """One chunk's best gain per row and its violating pairs (the best ADD_PER_ROW per row)."""
    if profits.matrix is not None:
        p = profits.matrix[pos]
    else:
        p = profits.scorer.restricted(colsel).profit(pos)
    vs = v[colsel]
    # an infeasible pair (profit 0) has gain -v <= 0 <= u: it never violates
    lift = np.where(p > 0, bonus[pos][:, None], 0) if wide else 0
    gain = (p.astype(np.int64) + lift) if wide else p.astype(np.int32)
    gain -= (vs if wide else vs.astype(np.int32))[None, :]
    row_best = gain.max(axis=1)
    bad = np.flatnonzero(row_best > u[pos])
    if not len(bad):
        return pos, row_best, None
    return (
        pos,
        row_best,
        _best_violations(gain[bad] - u[pos[bad]][:, None], p[bad], pos[bad], colsel),
    )


def _in_threads(work: Callable[..., tuple], items: list[tuple]) -> Iterator[tuple]:
    """`work(*item)` for every item on WORKERS threads (numpy releases the GIL), in order."""
    if WORKERS <= 1 or len(items) < 4:
        yield from (work(*item) for item in items)
        return
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        yield from pool.map(lambda item: work(*item), items)


def _best_violations(
    sub: np.ndarray, p: np.ndarray, rows: np.ndarray, colsel: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    take = min(ADD_PER_ROW, sub.shape[1])
    idx = np.argpartition(-sub, take - 1, axis=1)[:, :take]
    ok = np.take_along_axis(sub, idx, 1) > 0
    return (
        np.broadcast_to(rows[:, None], idx.shape)[ok],
        colsel[idx[ok]],
        np.take_along_axis(p, idx, 1)[ok],
    )
