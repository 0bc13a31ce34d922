"""Groups solved with CP-SAT: exact where the pool allows, warm-started beyond, with a real bound.

Two models form groups:

- `group`: a mentor leads no group or one of `lo..hi` mentees; the value is the sum of its
  mentor-mentee profits. CP-SAT gets x_e per candidate pair and y_j per mentor with
  ``lo * y_j <= load_j <= hi * y_j`` and ``x_e <= y_j``; up to EXACT_PAIRS feasible pairs the
  model holds every feasible pair, so CP-SAT's optimum is the optimum of the pool.
- `peer` groups of `lo..hi` people in which every pair is feasible; the value of a group is the
  sum of its pair profits / (size - 1). CP-SAT packs candidate groups (cliques of the feasibility
  graph; every clique while the pool is small, those among each person's best partners beyond).

The bounds are valid for the whole pool, not only for the candidates (see `mentor_bound` and
`share_bound`): Lagrangian relaxations whose multipliers come from LP duals or subgradient
steps, evaluated over every pair of the stored profit matrix. CP-SAT runs on one worker with a
fixed seed and a *deterministic* time limit, so the same data and seed give the same result.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
from ortools.sat.python import cp_model

from mentorflow.errors import MatchingError
from mentorflow.matching.bipartite import BipartiteSolution, prices, row_bonus

EXACT_PAIRS = 60_000  # group model: every feasible pair goes into the model up to here
EXACT_PEERS = 40  # peer groups: every feasible clique goes into the model up to here
EXACT_CLIQUES = 200_000  # ... as long as there are at most this many
PEER_NEIGHBOURS = 8  # beyond: cliques among each person's best partners
LARGE_NEIGHBOURS = 6  # ... beyond PRICE_PEERS people
PRICE_PEERS = 400  # up to here every group is priced against the LP's prices (a real bound)
PRICE_ROUNDS = 3  # column-generation rounds
PRICE_LIMIT = 200_000  # more groups with positive reduced value than this: no priced bound
DETERMINISTIC_SECONDS = 20.0  # CP-SAT's deterministic time limit (work units, not wall clock)
SELECT_COLUMNS = (500, 2000)  # peer groups: CP-SAT on the groups of best reduced value first
SELECT_LARGE = (2000,)  # ... when not every clique is a candidate (no proof to finish)
SELECT_SECONDS = 1.0  # ... with this deterministic time each
START_CANDIDATES = 12  # mentors per mentee in that start's graph
START_SECONDS = 1.0  # ... for a better start on the candidate graph
LARGE_SECONDS = 4.0  # ... on candidates of a larger pool (the bound comes from elsewhere)
LARGE_MATRIX = 2_000_000  # pairs: beyond, the group model keeps its heuristic (with the bound)
SUBGRADIENT_STEPS = 60
SMALL_MATRIX = 400_000  # pairs: subgradient steps on the whole matrix up to here
# peer groups beyond PRICE_PEERS people (groups of at most 4): column generation
GENERATE_PEERS = 6_000  # up to here (beyond: subgradient prices and the pair Lagrangian)
GENERATE_NEIGHBOURS = 3  # first columns: cliques among each person's 3 best partners
GENERATE_ROUNDS = 6  # LP solves at most (each 1-3 s at 5,000 people)
GENERATE_STOP = 3e-3  # ... or until the LP's value grows by less than this share
GENERATE_PARTNERS = 8  # each round: groups among each person's 8 best partners at the prices
GENERATE_PER_PERSON = 2  # ... of which each person's 2 best join
GENERATE_WORK = 300_000_000  # the exact pricing's budget (entries of q read); beyond: no bound


@dataclass(frozen=True)
class Solved:
    """A CP-SAT run: chosen items, value (gross units), its own bound, whether optimal."""

    chosen: np.ndarray  # bool per item (candidate pair or candidate group)
    value: int
    bound: int
    optimal: bool
    status: str
    work: float = 0.0  # CP-SAT's deterministic time: the search's effort, whatever the load


def _solve(model: cp_model.CpModel, items: list, seed: int, gap: float, seconds: float) -> Solved:
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = 1  # one worker: its search is deterministic
    p.random_seed = int(seed) % (2**31)
    p.max_deterministic_time = seconds
    p.relative_gap_limit = gap
    p.linearization_level = 2  # the LP with cuts in the search: far better packings per unit
    p.log_search_progress = False
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Solved(
            np.zeros(len(items), bool), 0, 0, False, solver.status_name(status),
            solver.deterministic_time,
        )  # fmt: skip
    chosen = np.array([solver.boolean_value(v) for v in items], dtype=bool)
    return Solved(
        chosen,
        round(solver.objective_value),
        math.floor(solver.best_objective_bound + 1e-6),
        status == cp_model.OPTIMAL,
        solver.status_name(status),
        solver.deterministic_time,
    )


# ----------------------------------------------------------------------------------------------
# group: one mentor, lo..hi mentees


def mentor_groups_cpsat(
    rows: np.ndarray,
    cols: np.ndarray,
    gross: np.ndarray,
    nr: int,
    m: int,
    lo: int,
    hi: np.ndarray,
    hint: np.ndarray,
    seed: int,
    gap: float = 0.0,
    seconds: float = DETERMINISTIC_SECONDS,
    cap: int | None = None,
) -> Solved:
    """Best assignment on the given pairs: each row once, each column 0 or lo..hi[j] rows.

    `hint` is a column per row (-1: none), a feasible start (a heuristic's answer); `cap` a
    proven upper bound on the objective (it lets CP-SAT stop as soon as it reaches it).
    """
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in range(len(rows))]
    by_row: list[list[int]] = [[] for _ in range(nr)]
    by_col: list[list[int]] = [[] for _ in range(m)]
    for k, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        by_row[r].append(k)
        by_col[c].append(k)
    for ks in by_row:
        if len(ks) > 1:
            model.add_at_most_one(x[k] for k in ks)
    for c, ks in enumerate(by_col):
        if not ks:
            continue
        y = model.new_bool_var(f"y{c}")
        load = sum(x[k] for k in ks)
        model.add(load <= int(hi[c]) * y)
        model.add(load >= min(lo, int(hi[c])) * y)
        for k in ks:
            model.add_implication(x[k], y)
    objective = sum(int(w) * x[k] for k, w in enumerate(gross.tolist()) if w)
    if cap is not None:
        model.add(objective <= cap)
    model.maximize(objective)
    hinted = hint[rows] == cols
    for k, v in enumerate(x):
        model.add_hint(v, bool(hinted[k]))
    return _solve(model, x, seed, gap, seconds)


def mentor_bound(
    G: np.ndarray, lo: int, hi: np.ndarray, u0: np.ndarray, incumbent: float
) -> tuple[float, np.ndarray]:
    """A bound on every grouping of the pool, and the multipliers that give it.

    Lagrangian relaxation of "each mentee at most once" with multipliers u >= 0: each mentor
    then takes its best group alone (none, or lo..hi mentees by G - u), and
    ``sum(u) + sum_j max(0, best_j)`` bounds every grouping (G: gross profits, 0 infeasible).
    Subgradient steps (Polyak, towards `incumbent`) on the mentors' top rows, then one exact
    evaluation over the whole matrix: the bound holds whatever the steps did.
    """
    nr = G.shape[0]
    small = G.size <= SMALL_MATRIX  # iterate on every pair; beyond, on each mentor's best rows
    width = nr if small else min(nr, int(hi.max(initial=1)) * 6 + 8)
    order = _top_rows(G, width)
    sub = np.take_along_axis(G, order, 0).astype(np.float64)
    u = np.maximum(np.asarray(u0, np.float64), 0)
    start = _mentor_full(G, u, lo, hi)
    best_u, best = u.copy(), np.inf
    theta = 1.0
    for _ in range(SUBGRADIENT_STEPS):
        value, picked = _mentor_relaxed(sub, order, u, lo, hi)
        if value < best - 1e-9:
            best, best_u = value, u.copy()
        else:
            theta *= 0.8
        grad = 1.0 - np.bincount(picked, minlength=nr)
        norm = float((grad * grad).sum())
        if norm == 0 or best - incumbent <= 1e-9 * max(1.0, abs(best)):
            break
        u = np.maximum(0.0, u - theta * (value - incumbent) / norm * grad)
    found = _mentor_full(G, best_u, lo, hi) if not small else best
    return (found, best_u) if found < start else (start, np.maximum(np.asarray(u0, float), 0))


def _top_rows(A: np.ndarray, k: int) -> np.ndarray:
    """Per column, the rows of its k largest entries, largest first (ties: lower row)."""
    if k < len(A):
        part = np.argpartition(-A, k - 1, axis=0)[:k]
        vals = np.take_along_axis(A, part, 0)
        order = np.lexsort((part, -vals), axis=0)
        return np.take_along_axis(part, order, 0)
    return np.argsort(-A, axis=0, kind="stable")


def _mentor_relaxed(
    sub: np.ndarray, order: np.ndarray, u: np.ndarray, lo: int, hi: np.ndarray
) -> tuple[float, np.ndarray]:
    """The relaxation's value on each mentor's best rows, and the rows it picks (with repeats)."""
    red = np.where(sub > 0, sub - u[order], -np.inf)
    rank = np.argsort(-red, axis=0, kind="stable")
    vals = np.take_along_axis(red, rank, 0)
    gain, size = _best_prefix(vals, lo, hi)
    pick = np.arange(len(vals))[:, None] < size[None, :]
    rows = np.take_along_axis(order, rank, 0)[pick]
    return float(u.sum() + gain.sum()), rows


def _best_prefix(vals: np.ndarray, lo: int, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of values sorted high to low: the best sum of the top k, k in lo..hi (or 0)."""
    top = int(hi.max(initial=1))
    k = min(top, len(vals))
    prefix = np.cumsum(np.where(np.isfinite(vals[:k]), vals[:k], -1e30), axis=0)
    sizes = np.arange(1, k + 1)[:, None]
    allowed = (sizes >= min(lo, top)) & (sizes <= hi[None, :])
    prefix = np.where(allowed, prefix, -np.inf)
    best_k = np.argmax(prefix, axis=0)
    gain = prefix[best_k, np.arange(vals.shape[1])]
    open_ = gain > 0
    return np.where(open_, gain, 0.0), np.where(open_, best_k + 1, 0)


def _mentor_full(G: np.ndarray, u: np.ndarray, lo: int, hi: np.ndarray, block: int = 256) -> float:
    """The relaxation's value over every pair (columns in blocks: memory stays bounded)."""
    nr, m = G.shape
    top = int(hi.max(initial=1))
    total = float(u.sum())
    for start in range(0, m, block):
        g = G[:, start : start + block]
        red = np.where(g > 0, g - u[:, None], -np.inf)
        k = min(top, nr)
        part = -np.partition(-red, k - 1, axis=0)[:k] if k < nr else red
        vals = -np.sort(-part, axis=0)
        gain, _ = _best_prefix(vals, lo, hi[start : start + block])
        total += float(gain.sum())
    return total


def mentor_keep(
    G: np.ndarray, u: np.ndarray, lo: int, hi: np.ndarray, floor: float, block: int = 256
) -> np.ndarray:
    """Pairs that can be in a grouping worth more than `floor` (bool, like G).

    With the pair forced in, the relaxation's value is ``L(u) - best_j + forced_ij``, where
    forced_ij is mentor j's best group that contains i. A pair whose forced value is at most
    `floor` is in no grouping worth more than `floor`: the rest is all a better grouping needs.
    """
    nr, m = G.shape
    top = int(hi.max(initial=1))
    total = _mentor_full(G, u, lo, hi)
    keep = np.zeros(G.shape, dtype=bool)
    for start in range(0, m, block):
        g = G[:, start : start + block]
        h = hi[start : start + block]
        red = np.where(g > 0, g - u[:, None], -np.inf)
        k = min(top, nr)
        idx = _top_rows(red, k)
        vals = np.take_along_axis(red, idx, 0)
        gain, _ = _best_prefix(vals, lo, h)
        prefix = np.vstack([np.zeros((1, vals.shape[1])), np.cumsum(vals, axis=0)])  # 0..k
        sizes = np.arange(1, k + 1)[:, None]
        allowed = (sizes >= min(lo, top)) & (sizes <= h[None, :])  # k x cols
        # not among the top k: the best k-1 others, then this pair
        others = np.where(allowed, prefix[:-1], -np.inf).max(axis=0)
        forced = others[None, :] + red
        # among the top k at rank t: sizes k >= t hold it in their prefix
        for t in range(k):
            with_it = np.where(allowed & (sizes > t), prefix[1:], -np.inf)
            without = np.where(allowed & (sizes <= t), prefix[:-1] + vals[t][None, :], -np.inf)
            best_t = np.maximum(with_it.max(axis=0), without.max(axis=0))
            np.put_along_axis(forced, idx[t][None, :], best_t[None, :], 0)
        bound = total - gain[None, :] + forced
        keep[:, start : start + block] = (g > 0) & (bound >= floor + 1 - 1e-7 * abs(total))
    return keep


@dataclass(frozen=True)
class MentorLP:
    """The group model's LP: mentee prices (its duals) and its solution when that is integral."""

    value: float
    prices: np.ndarray  # per mentee, >= 0
    row_col: np.ndarray | None  # a column per row (-1: none) when the LP's solution is 0/1


def mentor_lp(
    rows: np.ndarray,
    cols: np.ndarray,
    gross: np.ndarray,
    nr: int,
    m: int,
    lo: int,
    hi: np.ndarray,
) -> MentorLP:
    """The LP relaxation of the group model on the given pairs (HiGHS dual simplex: a
    deterministic solve): 0 <= x_e <= y_j <= 1, each row at most once, ``lo * y_j <= load_j <=
    hi_j * y_j``. A single mentor's polytope is integral (x / y is a box with a cardinality
    range), so the LP equals the Lagrangian dual of `mentor_bound` and its row duals are the best
    multipliers u; `_mentor_full` at them is the exact bound, whatever the LP's tolerances.
    """
    import scipy.sparse as sp
    from scipy.optimize import linprog

    n_e = len(rows)
    e = np.arange(n_e)
    ones = np.ones(n_e)
    width = n_e + m
    y = n_e + np.arange(m)
    once = sp.csr_matrix((ones, (rows, e)), shape=(nr, width))
    load = sp.csr_matrix((ones, (cols, e)), shape=(m, width))
    at_most = load - sp.csr_matrix((hi.astype(np.float64), (np.arange(m), y)), shape=(m, width))
    least = np.minimum(lo, hi).astype(np.float64)
    at_least = sp.csr_matrix((least, (np.arange(m), y)), shape=(m, width)) - load
    link = sp.csr_matrix(
        (np.concatenate([ones, -ones]), (np.concatenate([e, e]), np.concatenate([e, n_e + cols]))),
        shape=(n_e, width),
    )
    matrix = sp.vstack([once, at_most, at_least, link]).tocsr()
    cost = -np.concatenate([gross.astype(np.float64), np.zeros(m)])
    rhs = np.concatenate([np.ones(nr), np.zeros(2 * m + n_e)])
    found = linprog(cost, A_ub=matrix, b_ub=rhs, bounds=(0, 1), method="highs-ds")
    if found.status != 0:
        return MentorLP(np.inf, np.zeros(nr), None)
    prices = np.maximum(0.0, -np.asarray(found.ineqlin.marginals[:nr]))
    x = found.x[:n_e]
    row_col: np.ndarray | None = None
    if np.all((x < 1e-6) | (x > 1 - 1e-6)):
        row_col = np.full(nr, -1, np.int64)
        row_col[rows[x > 0.5]] = cols[x > 0.5]
        load_j = np.bincount(row_col[row_col >= 0], minlength=m)
        if ((load_j > 0) & ((load_j < least) | (load_j > hi))).any():
            row_col = None  # not a grouping after all (tolerances)
        elif np.bincount(rows[x > 0.5], minlength=nr).max(initial=0) > 1:
            row_col = None
    return MentorLP(float(-found.fun), prices, row_col)


# ----------------------------------------------------------------------------------------------
# peer groups: lo..hi people, every pair feasible


def all_cliques(ok: np.ndarray, lo: int, hi: np.ndarray | int) -> list[tuple[int, ...]] | None:
    """Every group of lo..hi people whose pairs are all feasible (None: more than EXACT_CLIQUES)."""
    n = len(ok)
    top = int(np.max(hi))
    out: list[tuple[int, ...]] = []

    def grow(group: tuple[int, ...], allowed: np.ndarray) -> bool:
        if len(group) >= lo:
            out.append(group)
            if len(out) > EXACT_CLIQUES:
                return False
        if len(group) == top:
            return True
        for j in np.flatnonzero(allowed).tolist():
            rest = allowed & ok[j]
            rest[: j + 1] = False
            if not grow((*group, j), rest):
                return False
        return True

    for i in range(n):
        allowed = ok[i].copy()
        allowed[: i + 1] = False
        if not grow((i,), allowed):
            return None
    return out


def neighbour_cliques(P: np.ndarray, lo: int, hi: int, k: int) -> list[tuple[int, ...]]:
    """Groups of lo..hi people made of one person and partners among their k best (feasible)."""
    n = len(P)
    k = min(k, n - 1)
    if n <= PRICE_PEERS or k >= n - 1:
        best = np.argsort(-P, axis=1, kind="stable")[:, :k]
    else:  # the same k partners up to ties, without sorting every row
        best = np.argpartition(-P, k - 1, axis=1)[:, :k]
    found: set[tuple[int, ...]] = set()
    ok = P > 0
    for size in range(max(2, lo), hi + 1):
        combos = np.array(list(itertools.combinations(range(k), size - 1)), dtype=np.int64)
        if not len(combos):
            continue
        members = np.concatenate(
            [np.repeat(np.arange(n), len(combos))[:, None], best[:, combos].reshape(-1, size - 1)],
            axis=1,
        )
        good = np.ones(len(members), bool)
        for a, b in itertools.combinations(range(size), 2):
            good &= ok[members[:, a], members[:, b]]
        members = np.unique(np.sort(members[good], axis=1), axis=0)
        found.update(map(tuple, members.tolist()))
    return sorted(found)


def group_values(
    P: np.ndarray, groups: list[tuple[int, ...]], bonus: int, scale: int
) -> np.ndarray:
    """Each group's gross value times `scale` (an integer): pair sum * scale / (size - 1), plus
    the per-person bonus (max_matched)."""
    out = np.zeros(len(groups), np.int64)
    by_size: dict[int, list[int]] = {}
    for k, g in enumerate(groups):
        by_size.setdefault(len(g), []).append(k)
    for size, ks in by_size.items():
        members = np.array([groups[k] for k in ks], dtype=np.int64)
        total = np.zeros(len(ks), np.int64)
        for a, b in itertools.combinations(range(size), 2):
            total += P[members[:, a], members[:, b]]
        out[ks] = total * (scale // (size - 1)) + bonus * scale * size
    return out


def peer_groups_cpsat(
    n: int,
    groups: list[tuple[int, ...]],
    values: np.ndarray,
    hint: set[tuple[int, ...]],
    seed: int,
    gap: float = 0.0,
    seconds: float = DETERMINISTIC_SECONDS,
    cap: int | None = None,
) -> Solved:
    """Best packing of the candidate groups: each person in at most one (`cap`: a proven
    upper bound on the objective)."""
    model = cp_model.CpModel()
    z = [model.new_bool_var(f"g{k}") for k in range(len(groups))]
    by_person: list[list[int]] = [[] for _ in range(n)]
    for k, g in enumerate(groups):
        for p in g:
            by_person[p].append(k)
    for ks in by_person:
        if len(ks) > 1:
            model.add_at_most_one(z[k] for k in ks)
    objective = sum(int(v) * z[k] for k, v in enumerate(values.tolist()))
    if cap is not None:
        model.add(objective <= cap)
    model.maximize(objective)
    for k, g in enumerate(groups):
        model.add_hint(z[k], g in hint)
    return _solve(model, z, seed, gap, seconds)


def peer_bound(
    P: np.ndarray, lo: int, hi: int, bonus: float, incumbent: float, steps: int = SUBGRADIENT_STEPS
) -> float:
    """A bound on every grouping of the pool (profit units, bonus included).

    A group's value is the sum of its members' shares, ``sum_{j in g, j != i} (P_ij / 2 +
    L_ij) / (size - 1) + bonus``, for any antisymmetric L (L_ij = -L_ji cancels within the
    group). Each person alone takes their best share (best size, best feasible partners; 0 when
    unplaced), so the sum of these maxima bounds every grouping. L lives on each person's best
    partners (both directions) and is improved by subgradient steps: whom i picks but who does
    not pick i becomes less attractive to i. Partners outside that set keep L = 0 and enter
    with the exact values of their best profits.
    """
    n = len(P)
    if n < 2:
        return 0.0
    k = min(n - 1, max(3 * hi, 12))
    nbr = np.argsort(-P, axis=1, kind="stable")[:, :k]
    half = P[np.arange(n)[:, None], nbr].astype(np.float64) / 2
    mask = np.zeros_like(P, dtype=bool)
    mask[np.arange(n)[:, None], nbr] = True
    rest = np.where(mask, 0, P)  # partners outside the set: L = 0
    outside = -np.sort(-np.partition(-rest, hi - 2, axis=1)[:, : hi - 1], axis=1) / 2
    pos = _positions(nbr)  # where j's list holds i, per (i, slot); -1: not there
    lam = np.zeros_like(half)
    best, theta = np.inf, 1.0
    best_lam = lam.copy()
    for _ in range(steps):
        value, weight = _peer_relaxed(half + lam, outside, P, nbr, lo, hi, bonus)
        if value < best - 1e-9:
            best, best_lam = value, lam.copy()
        else:
            theta *= 0.7
        # d value / d L_ij = weight i gives j, minus the weight j gives i (L_ji = -L_ij)
        back = np.where(pos >= 0, weight[nbr, np.maximum(pos, 0)], 0.0)
        grad = weight - back
        norm = float((grad * grad).sum())
        if norm == 0 or best - incumbent <= 1e-9 * max(1.0, abs(best)):
            break
        step = theta * (value - incumbent) / norm
        lam = _antisymmetric(lam - step * grad, nbr, pos)
    value, _ = _peer_relaxed(half + best_lam, outside, P, nbr, lo, hi, bonus)
    return value


def _positions(nbr: np.ndarray) -> np.ndarray:
    """pos[i, s] = the slot of i in the list of j = nbr[i, s], or -1."""
    n = len(nbr)
    key = {(int(i), int(j)): s for i in range(n) for s, j in enumerate(nbr[i].tolist())}
    return np.array(
        [[key.get((int(j), i), -1) for j in nbr[i].tolist()] for i in range(n)], np.int64
    )


def _antisymmetric(lam: np.ndarray, nbr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """L_ij = -L_ji where both directions are listed; a one-sided pair keeps L = 0 (sound)."""
    back = np.where(pos >= 0, lam[nbr, np.maximum(pos, 0)], 0.0)
    return np.where(pos >= 0, (lam - back) / 2, 0.0)


def _peer_relaxed(
    adj: np.ndarray,
    outside: np.ndarray,
    P: np.ndarray,
    nbr: np.ndarray,
    lo: int,
    hi: int,
    bonus: float,
) -> tuple[float, np.ndarray]:
    """Sum of everyone's best share, and the weight 1/(size-1) each person gives each listed
    partner it picks."""
    n, k = adj.shape
    feas = P[np.arange(n)[:, None], nbr] > 0
    vals = np.where(feas, adj, -np.inf)
    both = np.concatenate([vals, np.where(outside > 0, outside, -np.inf)], axis=1)
    order = np.argsort(-both, axis=1, kind="stable")[:, : hi - 1]
    top = np.take_along_axis(both, order, 1)
    prefix = np.cumsum(np.where(np.isfinite(top), top, -1e30), axis=1)
    best = np.zeros(n)
    size = np.zeros(n, np.int64)
    for s in range(max(2, lo), hi + 1):
        share = prefix[:, s - 2] / (s - 1) + bonus
        better = share > best
        best[better], size[better] = share[better], s
    weight = np.zeros_like(adj)
    for s in range(max(2, lo), hi + 1):
        who = np.flatnonzero(size == s)
        for r in range(s - 1):
            slot = order[who, r]
            inside = slot < k
            weight[who[inside], slot[inside]] = 1.0 / (s - 1)
    return float(best.sum()), weight


def share_bound(P: np.ndarray, pi: np.ndarray, lo: int, hi: int, bonus: float) -> float:
    """A bound on every grouping of the pool (profit units, bonus included) from person prices
    pi >= 0 (the packing LP's duals on the candidates, ideally), whatever the candidates were.

    A group's value is ``rc_g + sum of its members' prices`` with ``rc_g = sum over its pairs of
    q_ab / (size - 1)`` and ``q_ab = P_ab - (pi_a - bonus) - (pi_b - bonus)``; splitting rc_g
    into halves of pairs, member a gets ``sum_b q_ab / (2 (size - 1))``, at most the same sum
    over a's best size - 1 feasible partners. Groups are disjoint and pi >= 0, so
    ``sum(pi) + sum_a max(0, best share of a)`` bounds every grouping: every pair of the matrix is
    read (in blocks of rows), nothing is assumed about partners outside the candidates.
    """
    n = len(P)
    pi = np.maximum(np.asarray(pi, np.float64), 0.0)
    shifted = pi - bonus
    total = float(pi.sum())
    if n < 2 or hi < 2:
        return total
    for start in range(0, n, 512):
        block = P[start : start + 512]
        rows = np.arange(len(block))
        q = block - shifted[start : start + 512, None] - shifted[None, :]
        q = np.where(block > 0, q, -np.inf)
        q[rows, start + rows] = -np.inf
        k = min(hi - 1, n - 1)
        top = -np.sort(np.partition(-q, k - 1, axis=1)[:, :k], axis=1)  # largest first
        prefix = np.cumsum(np.where(np.isfinite(top), top, -np.inf), axis=1)
        best = np.zeros(len(block))
        for size in range(max(2, lo), min(hi, n) + 1):
            share = prefix[:, size - 2] / (2 * (size - 1))
            best = np.maximum(best, np.where(np.isfinite(share), share, 0.0))
        total += float(best.sum())
    return total


# ----------------------------------------------------------------------------------------------
# the group model from the engine's solutions


@dataclass(frozen=True)
class MentorGroups:
    """The group model's answer: the assignment with its bound (profit units, bonuses off)."""

    solution: BipartiteSolution
    bound: int
    certified: bool
    method: str
    closed: frozenset[int]  # mentors with feasible mentees but no group


def solve_mentor_groups(
    P: np.ndarray,
    capacity: np.ndarray,
    relaxed: BipartiteSolution,
    heuristic: BipartiteSolution,
    lo: int,
    objective: str,
    priority: np.ndarray | None,
    seed: int,
    gap_tolerance: float = 0.0,
) -> MentorGroups:
    """CP-SAT on every feasible pair (small pools: the optimum) or on the candidate graph
    warm-started from `heuristic` (larger), and the Lagrangian bound over every pair.

    `relaxed` is the exact solution without the minimum: its duals start the multipliers.
    """
    nr, m = P.shape
    P = P.astype(np.int64)
    bonus = row_bonus(np.array([P.max(initial=0)]), np.zeros(nr, np.int64), m, objective, priority)
    G = np.where(P > 0, P + bonus[:, None], 0)
    G[:, capacity <= 0] = 0
    large = G.size > LARGE_MATRIX  # the heuristic start and the bound only
    hint = heuristic.row_col
    incumbent = _gross(G, hint)
    bound_full, u = mentor_bound(G, lo, capacity, _duals(G, capacity, relaxed, bonus), incumbent)
    gross_bound = math.floor(bound_full + 1e-6)
    row_col, how = hint, "the start is optimal" if incumbent >= gross_bound else "no search"
    if incumbent < gross_bound and not large:
        # only pairs that can be in a better grouping than the start (valid for every pair)
        keep = mentor_keep(G, u, lo, capacity, incumbent)
        rows, cols = np.nonzero(keep)
        full = len(rows) <= EXACT_PAIRS
        how = ""
        if full:  # the LP on them: its duals bound, its solution is often integral
            lp = mentor_lp(rows, cols, G[rows, cols], nr, m, lo, capacity)
            kept = np.where(keep, G, 0)  # a better grouping uses only these pairs
            gross_bound = min(gross_bound, max(incumbent, math.floor(
                _mentor_full(kept, lp.prices, lo, capacity) + 1e-6
            )))  # fmt: skip
            if lp.row_col is not None and _gross(G, lp.row_col) > incumbent:
                row_col = hint = lp.row_col
                incumbent = _gross(G, hint)
            how = f"the LP on {len(rows)} pairs that can improve it"
            if incumbent < gross_bound:  # reduced-cost fixing at the LP's prices
                keep &= mentor_keep(kept, lp.prices, lo, capacity, incumbent)
                keep[np.arange(nr)[hint >= 0], hint[hint >= 0]] = True
                rows, cols = np.nonzero(keep)
        if incumbent < gross_bound:
            if not full:  # too many: the candidate graph's share of them
                rows, cols = _candidate_pairs(G, relaxed, hint)
                rows, cols = rows[keep[rows, cols]], cols[keep[rows, cols]]
            run = mentor_groups_cpsat(
                rows, cols, G[rows, cols], nr, m, lo, capacity, hint, seed, gap=gap_tolerance,
                seconds=DETERMINISTIC_SECONDS if full else LARGE_SECONDS, cap=gross_bound,
            )  # fmt: skip
            if run.value > incumbent:
                row_col = np.full(nr, -1, np.int64)
                row_col[rows[run.chosen]] = cols[run.chosen]
            if full and run.optimal:  # the best grouping is the start or in the model
                gross_bound = min(gross_bound, max(run.bound, incumbent))
            how += ", then " if how else ""
            share = "" if full else " (a share)"
            how += f"CP-SAT on {len(rows)} pairs that can improve it{share}, {run.work:.2f} "
            how += "deterministic s"
    value = _gross(G, row_col)
    certified = value >= gross_bound
    gross_bound = max(gross_bound, value)
    matched = row_col >= 0
    pure = np.where(matched, P[np.arange(nr), np.maximum(row_col, 0)], 0)
    total = int(pure.sum())
    bound = max(total, gross_bound - int(bonus[matched].sum()))
    load = np.bincount(row_col[matched], minlength=m)
    has_rows = (G > 0).any(axis=0)
    closed = (
        frozenset(int(c) for c in np.flatnonzero((load == 0) & has_rows)) if lo > 1 else frozenset()
    )
    solution = replace(
        heuristic,
        row_col=row_col,
        row_profit=pure,
        total=total,
        bound=bound,
        certified=certified,
        edges=np.unique(np.concatenate([relaxed.edges, _pairs_of(row_col)], axis=1), axis=1),
    )
    method = (
        f"closing small groups, then {how} ({'optimal' if certified else 'best found'}); "
        "bound: Lagrangian relaxation over every pair, multipliers from subgradient steps"
        + (" and the LP's duals" if "LP" in how else "")
    )
    return MentorGroups(solution, bound, certified, method, closed)


def _candidate_pairs(
    G: np.ndarray, relaxed: BipartiteSolution, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The relaxation's graph, the start's pairs and each mentee's START_CANDIDATES best."""
    nr, m = G.shape
    k = min(m, START_CANDIDATES)
    best = np.argpartition(-G, k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (nr, 1))
    wide = np.stack([np.repeat(np.arange(nr), k), best.ravel()])
    edges = np.concatenate([relaxed.edges, _pairs_of(start), wide], axis=1)
    key = np.unique(edges[0] * m + edges[1])
    rows, cols = key // m, key % m
    keep = G[rows, cols] > 0
    return rows[keep], cols[keep]


def _pairs_of(row_col: np.ndarray) -> np.ndarray:
    r = np.flatnonzero(row_col >= 0)
    return np.stack([r, row_col[r]]).astype(np.int64)


def _gross(G: np.ndarray, row_col: np.ndarray) -> int:
    r = np.flatnonzero(row_col >= 0)
    return int(G[r, row_col[r]].sum())


def _duals(
    G: np.ndarray, capacity: np.ndarray, relaxed: BipartiteSolution, bonus: np.ndarray
) -> np.ndarray:
    """Row duals of the relaxation without minimum (a good start for the multipliers)."""
    nr, m = G.shape
    rows, cols = relaxed.edges
    matched = relaxed.row_col >= 0
    own = np.where(matched, relaxed.row_profit + bonus, 0)
    try:
        v = prices(nr, m, rows, cols, G[rows, cols], relaxed.row_col, own, capacity)
    except MatchingError:  # a different bonus tier than the relaxation's: start from the profits
        return own.astype(np.float64)
    return np.where(matched, own - v[np.maximum(relaxed.row_col, 0)], 0).astype(np.float64)


# ----------------------------------------------------------------------------------------------
# peer groups from the engine


@dataclass(frozen=True)
class PeerGroups:
    """Groups (positions, value in profit units), the bound (profit units), how it was solved."""

    groups: list[tuple[tuple[int, ...], float]]
    bound: float
    certified: bool
    method: str


def solve_peer_groups(
    P: np.ndarray,
    lo: int,
    hi: int,
    objective: str,
    seed: int,
    hint: list[list[int]],
    gap_tolerance: float = 0.0,
) -> PeerGroups:
    """Peer groups of lo..hi people: the packing LP over candidate groups (priced against every
    group while the pool is small enough), its rounding or `hint` (a heuristic) as the start,
    CP-SAT on the groups of best reduced value (`pack_by_reduced_value`). Every clique of a
    small pool: exact."""
    n = len(P)
    P = P.astype(np.int64)
    lo, hi = max(2, lo), min(max(2, hi), n)
    scale = math.lcm(*range(1, hi))  # group values pair_sum / (size - 1) become integers
    bonus = int(n * int(P.max(initial=0)) // 2 + 1) if objective == "max_matched" else 0
    cands = all_cliques(P > 0, lo, hi) if n <= EXACT_PEERS else None
    full = cands is not None
    large = n > PRICE_PEERS  # no LP on every clique of best partners
    generate = generates_columns(n, hi, objective)  # column generation, exact pricing
    if cands is None:
        width = GENERATE_NEIGHBOURS if generate else LARGE_NEIGHBOURS if large else PEER_NEIGHBOURS
        cands = neighbour_cliques(P, lo, hi, width)
    hinted = {tuple(sorted(g)) for g in hint if lo <= len(g) <= hi}
    cands = sorted(set(cands) | hinted)
    if generate:
        cands, shares, pi, priced_bound = generate_columns(P, cands, lo, hi, bonus, scale)
    elif large:
        shares, pi, priced_bound = np.zeros(len(cands)), np.zeros(n), None
    else:
        cands, shares, pi, priced_bound = _price_and_solve_lp(P, cands, lo, hi, bonus, scale, full)
    values = group_values(P, cands, bonus, scale)
    members = _members(cands)
    start = np.array([g in hinted for g in cands], dtype=bool)
    if large and not generate:  # prices by subgradient steps on the candidates
        pi = packing_subgradient(members, values, n, float(values[start].sum()))
    shared = share_bound(P, pi / scale, lo, hi, bonus)  # every grouping, from the prices
    rounded = round_packing(members, values, shares)
    if generate:  # an interior solution leaves more people out: fill in (+1.1% at 5,000)
        rounded = fill_packing(members, values, rounded)
    for better in (rounded, _support_packing(n, cands, values, shares, start, seed)):
        if values[better].sum() > values[start].sum():
            start = better
    incumbent = int(values[start].sum())
    lagrange, keep = packing_keep(members, values, pi, incumbent)
    keep |= start
    chosen, value, optimal = np.flatnonzero(start), incumbent, not (keep & ~start).any()
    work, searched = 0.0, 0
    if not optimal and incumbent < math.floor(lagrange + 1e-6):
        found = pack_by_reduced_value(
            members, cands, values, pi, start, seed, math.floor(lagrange + 1e-6), full,
            gap_tolerance,
        )  # fmt: skip
        if found.value > incumbent:
            chosen, value = np.flatnonzero(found.chosen), found.value
        optimal, work, searched = found.optimal, found.work, int(found.bound)
        lagrange, keep = packing_keep(members, values, pi, value)
        keep |= found.chosen
    if full:  # every clique is a candidate: the Lagrangian bound covers every grouping
        gross_bound = math.floor(lagrange + 1e-6) / scale
        if optimal:
            gross_bound = min(gross_bound, value / scale)
    elif priced_bound is not None and priced_bound < shared:  # every group was priced
        gross_bound = priced_bound
    elif priced_bound is not None:  # the pair Lagrangian is far looser beyond: not tried
        gross_bound, priced_bound = shared, None
    else:
        gross_bound = min(shared, peer_bound(P, lo, hi, bonus, value / scale))
    certified = gross_bound <= value / scale + 1e-9
    groups = [(cands[k], _peer_value(P, cands[k])) for k in chosen.tolist()]
    placed = sum(len(g) for g, _ in groups)
    bound = max(sum(v for _, v in groups), gross_bound - bonus * placed)
    if full:
        scope, how = f"every feasible group ({len(cands)})", ""
    elif priced_bound is not None and generate:
        scope = f"{len(cands)} groups (column generation, interior point)"
        how = "; bound: the LP's prices made feasible for every group of the pool"
    elif priced_bound is not None:
        scope, how = f"{len(cands)} groups", "; bound: the packing LP priced against every group"
    else:
        scope = f"{len(cands)} candidate groups"
        how = (
            "; bound: the better of the Lagrangian relaxation of pairs and each person's best "
            "share at the prices, over every pair"
        )
    first = (
        f"person prices by subgradient steps on {scope}, greedy groups as the start"
        if large and not generate
        else f"packing LP on {scope}, its rounding{' (filled)' if generate else ''} or greedy "
        "groups as the start"
    )
    method = (
        f"{first}, then CP-SAT on the {searched} groups of best reduced value "
        f"({int(keep.sum())} can beat the result; {'optimal' if certified else 'best found'}, "
        f"{work:.2f} deterministic s){how}"
    )
    return PeerGroups(groups, bound, certified, method)


def pack_by_reduced_value(
    members: np.ndarray,
    cands: list[tuple[int, ...]],
    values: np.ndarray,
    pi: np.ndarray,
    start: np.ndarray,
    seed: int,
    cap: int,
    full: bool,
    gap: float = 0.0,
) -> Solved:
    """CP-SAT on the candidates of best reduced value at prices pi (the LP's duals, ideally),
    in growing shares (SELECT_COLUMNS; SELECT_LARGE when not `full`), each run started from the
    best packing so far.

    After each run, the groups that can be in a packing better than it are those whose reduced
    value is within the gap between the Lagrangian bound and its value (`packing_keep`); when
    the run was optimal on its share and the share holds all of them, the packing is the best of
    all candidates. A pool with every clique as a candidate ends with a run on all those groups.
    Returns the packing over all candidates (`chosen`), its value, `optimal`, the work, and as
    `bound` the size of the last share searched.
    """
    priced = np.where(members >= 0, pi[np.maximum(members, 0)], 0.0).sum(axis=1)
    order = np.argsort(-(values - priced), kind="stable")
    best, value = start.copy(), int(values[start].sum())
    work, optimal, searched = 0.0, False, 0
    steps = SELECT_COLUMNS if full else SELECT_LARGE
    shares = [k for k in steps if k < len(cands)] + [len(cands)]
    for size in shares:
        _, keep = packing_keep(members, values, pi, value)
        share = np.zeros(len(cands), bool)
        share[order[:size]] = True
        share |= best
        last = size == len(cands) or (keep & ~share).sum() == 0
        if size == len(cands) and not full and searched:
            break  # beyond the shares the search would not finish: keep the best found
        if last:
            share &= keep | best  # only what can beat the best found
        ks = np.flatnonzero(share)
        run = peer_groups_cpsat(
            len(pi), [cands[k] for k in ks], values[ks], {cands[k] for k in np.flatnonzero(best)},
            seed, gap=gap, cap=cap,
            seconds=DETERMINISTIC_SECONDS if last and full else SELECT_SECONDS,
        )  # fmt: skip
        work, searched = work + run.work, len(ks)
        if run.value > value:
            best = np.zeros(len(cands), bool)
            best[ks[run.chosen]] = True
            value = run.value
        _, keep = packing_keep(members, values, pi, value)
        if run.optimal and not (keep & ~share).any():
            optimal = True  # the best packing is the best one or made of the share
            break
        if last:
            break
    return Solved(best, value, searched, optimal, "", work)


def _price_and_solve_lp(
    P: np.ndarray,
    cands: list[tuple[int, ...]],
    lo: int,
    hi: int,
    bonus: int,
    scale: int,
    full: bool,
) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray, float | None]:
    """The packing LP on the candidates; on a pool of up to PRICE_PEERS people (groups of at
    most 4) groups with positive reduced value join (column generation), and the Lagrangian
    bound at the final prices covers every group (None when not computed)."""
    n = len(P)
    can_price = not full and n <= PRICE_PEERS and hi <= 4
    bound: float | None = None
    cands = list(cands)
    lp = PackingLP(n)
    lp.add(_members(cands), group_values(P, cands, bonus, scale))
    for _ in range(PRICE_ROUNDS if can_price else 1):
        shares, pi = lp.solve()
        if not can_price:
            break
        priced = price_groups(P, pi / scale - bonus, lo, hi, PRICE_LIMIT)
        if priced is None:
            break
        found, gains = priced
        here = float(pi.sum() / scale + gains.sum())
        bound = here if bound is None else min(bound, here)
        known = set(cands)
        new = [g for g in found if g not in known]
        if not new:
            break
        cands += new
        lp.add(_members(new), group_values(P, new, bonus, scale))
    else:
        shares, pi = lp.solve()
    return cands, shares, pi, bound


def generates_columns(n: int, hi: int, objective: str) -> bool:
    """Whether a pool of n people in groups of up to hi takes the column-generation path (its
    start matters little there: the LP's rounding is far better than greedy groups). Not for
    `max_matched`: its per-person bonus dwarfs the scores, and the interior point's duals, exact
    only relative to it, gave a bound far looser than the subgradient path's (tried)."""
    return PRICE_PEERS < n <= GENERATE_PEERS and hi <= 4 and objective == "max_score"


def generate_columns(
    P: np.ndarray,
    cands: list[tuple[int, ...]],
    lo: int,
    hi: int,
    bonus: int,
    scale: int,
) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray, float | None]:
    """The packing LP by column generation on a large pool (groups of at most 4): the interior
    point solver on the candidates, then each round each person's best groups among their best
    partners at the LP's prices join (`best_groups_at`), until the LP's value stalls; then every
    group of the pool is priced exactly (`positive_groups`) and the prices, made feasible for
    them, give the bound (`priced_bound`; None when the pricing exceeds its budget)."""
    n = len(P)
    lp = PackingLP(n, interior=True)
    lp.add(_members(cands), group_values(P, cands, bonus, scale))
    known, cands = set(cands), list(cands)
    value = 0.0
    for _ in range(GENERATE_ROUNDS):
        shares, pi = lp.solve()
        before, value = value, float(lp.highs.getInfo().objective_function_value)
        if value - before <= GENERATE_STOP * abs(value):
            break
        found = best_groups_at(
            P, pi / scale - bonus, lo, hi, GENERATE_PARTNERS, GENERATE_PER_PERSON
        )
        new = [
            g for g in (tuple(x for x in row if x >= 0) for row in found.tolist()) if g not in known
        ]
        if not new:
            break
        known.update(new)
        cands += new
        lp.add(_members(new), group_values(P, new, bonus, scale))
    else:
        shares, pi = lp.solve()
    priced = positive_groups(P, pi / scale - bonus, lo, hi, GENERATE_WORK)
    bound = None if priced is None else priced_bound(pi / scale, *priced)
    return cands, shares, pi, bound


def _members(groups: list[tuple[int, ...]]) -> np.ndarray:
    """Groups as a padded array (-1 past a group's size)."""
    top = max((len(g) for g in groups), default=1)
    out = np.full((len(groups), top), -1, np.int64)
    for k, g in enumerate(groups):
        out[k, : len(g)] = g
    return out


class PackingLP:
    """The packing LP (each person in at most one group, shares in [0, 1]) in one HiGHS
    instance: groups that join are new columns and each solve starts from the previous basis
    (the dual simplex: deterministic). HiGHS is scipy's copy, as in `sides`. `interior`: the
    interior-point solver instead (no basis; measured 1-3 s against minutes for the simplex on
    50,000-90,000 groups of 5,000 people), whose prices need not be exactly dual feasible:
    every bound from them repairs that (`priced_bound`)."""

    def __init__(self, n: int, interior: bool = False) -> None:
        from mentorflow.matching.sides import _highs

        highspy = _highs()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = 0, n
        lp.row_lower_ = np.full(n, -highspy.kHighsInf)
        lp.row_upper_ = np.ones(n)
        lp.sense_ = highspy.ObjSense.kMaximize
        self.n, self.columns = n, 0
        self.highs = highspy._Highs()
        self.highs.setOptionValue("output_flag", False)
        self.interior = interior
        if interior:  # beyond a few thousand people: IPX, without crossover (its duals suffice)
            self.highs.setOptionValue("solver", "ipm")
            self.highs.setOptionValue("run_crossover", "off")
        self.highs.passModel(lp)

    def add(self, members: np.ndarray, values: np.ndarray) -> None:
        k = len(members)
        if not k:
            return
        valid = members >= 0
        sizes = valid.sum(axis=1)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
        index = members[valid].astype(np.int32)
        self.highs.addCols(
            k, values.astype(np.float64), np.zeros(k), np.ones(k), len(index), starts, index,
            np.ones(len(index)),
        )  # fmt: skip
        self.columns += k

    def solve(self) -> tuple[np.ndarray, np.ndarray]:
        """(group shares z, person prices pi >= 0)."""
        from mentorflow.matching.sides import _highs

        highspy = _highs()
        if not self.columns:
            return np.zeros(0), np.zeros(self.n)
        self.highs.run()
        found = self.highs.getSolution()
        optimal = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        # without crossover IPX may stop short of its tolerances ("unknown"): its prices still
        # serve, since every bound from them is repaired (measured: 5,000 people, 6,000 groups)
        if not optimal and not (self.interior and found.dual_valid):
            return np.zeros(self.columns), np.zeros(self.n)
        y = np.asarray(found.row_dual)
        y = y if y.sum() >= 0 else -y  # a maximum: HiGHS may report duals negated
        return np.asarray(found.col_value), np.maximum(0.0, y)


def round_packing(members: np.ndarray, values: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Groups of the LP, largest share first (then value), kept while disjoint: a start."""
    order = np.lexsort((-values, -np.round(shares, 6)))
    used: set[int] = set()
    out = np.zeros(len(members), bool)
    for k in order.tolist():
        if shares[k] <= 1e-6:
            break
        g = [p for p in members[k].tolist() if p >= 0]
        if used.isdisjoint(g):
            used.update(g)
            out[k] = True
    return out


def fill_packing(members: np.ndarray, values: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """`chosen` plus the other groups, best value first, kept while disjoint from the rest."""
    used = set(members[chosen].ravel().tolist()) - {-1}
    out = chosen.copy()
    for k in np.argsort(-values, kind="stable").tolist():
        group = [p for p in members[k].tolist() if p >= 0]
        if not out[k] and used.isdisjoint(group):
            used.update(group)
            out[k] = True
    return out


def packing_subgradient(
    members: np.ndarray, values: np.ndarray, n: int, target: float, steps: int = 300
) -> np.ndarray:
    """Person prices pi >= 0 that make the packing's Lagrangian bound small (subgradient steps
    with Polyak's rule towards `target`, a packing's value): the LP's prices, approximately."""
    valid = members >= 0
    idx = np.maximum(members, 0)
    pi = np.zeros(n)
    best, best_pi, theta = np.inf, pi.copy(), 1.0
    for _ in range(steps):
        rc = values - np.where(valid, pi[idx], 0.0).sum(axis=1)
        value = float(pi.sum() + np.maximum(rc, 0).sum())
        if value < best - 1e-9:
            best, best_pi = value, pi.copy()
        else:
            theta *= 0.95
        use = np.bincount(idx[valid & (rc > 0)[:, None]], minlength=n)
        grad = 1.0 - use
        grad[(pi <= 0) & (grad > 0)] = 0.0  # pi stays >= 0
        norm = float((grad * grad).sum())
        if norm == 0 or best - target <= 1e-9 * max(1.0, best):
            break
        pi = np.maximum(0.0, pi - theta * (value - target) / norm * grad)
    return best_pi


def _support_packing(
    n: int,
    cands: list[tuple[int, ...]],
    values: np.ndarray,
    shares: np.ndarray,
    start: np.ndarray,
    seed: int,
) -> np.ndarray:
    """The best packing of the groups the LP uses (and the start's): a small, quick model."""
    support = np.flatnonzero((shares > 1e-6) | start)
    run = peer_groups_cpsat(
        n,
        [cands[k] for k in support],
        values[support],
        {cands[k] for k in np.flatnonzero(start)},
        seed,
        seconds=START_SECONDS,
    )
    out = np.zeros(len(cands), bool)
    out[support[run.chosen]] = True
    return out


def price_groups(
    P: np.ndarray, pi: np.ndarray, lo: int, hi: int, limit: int
) -> tuple[list[tuple[int, ...]], np.ndarray] | None:
    """Every group of lo..hi people (hi <= 4) with positive reduced value at prices pi, with
    those values (scaled like `group_values` with scale 1: pair sum / (size - 1) - prices).

    With q_ab = P_ab - pi_a - pi_b, a group's reduced value is sum of its q / (size - 1):
    each member is in size - 1 of its pairs. A triple is enumerated from each person a over all
    pairs b < c above a; a quad extends a triple whose sum can still turn positive (each
    person's best q bounds what a fourth adds). None: more than `limit` (no bound from them).
    """
    n = len(P)
    q = np.where(P > 0, P - pi[:, None] - pi[None, :], -np.inf)
    np.fill_diagonal(q, -np.inf)
    best = q.max(axis=1)
    found: list[tuple[int, ...]] = []
    gains: list[float] = []
    if lo <= 2:
        first, second = np.nonzero(np.triu(q > 0, 1))
        found += list(zip(first.tolist(), second.tolist(), strict=True))
        gains += q[first, second].tolist()
    upper = np.triu(np.ones((n, n), bool), 1)
    for a in range(n - 2):
        t = q[a][:, None] + q[a][None, :] + q  # triples a < b < c
        t[:, : a + 1] = -np.inf
        t[: a + 1, :] = -np.inf
        t = np.where(upper, t, -np.inf)
        if lo <= 3 <= hi:
            b, c = np.nonzero(t > 0)
            found += [(a, int(x), int(y)) for x, y in zip(b.tolist(), c.tolist(), strict=True)]
            gains += (t[b, c] / 2).tolist()
        if hi >= 4:
            b, c = np.nonzero(t + best[a] + best[:, None] + best[None, :] > 0)
            for at in range(0, len(b), 1024):  # the fourth member, for many triples at once
                x, y = b[at : at + 1024], c[at : at + 1024]
                four = t[x, y][:, None] + q[a][None, :] + q[x] + q[y]
                four[np.arange(n)[None, :] <= y[:, None]] = -np.inf
                r, d = np.nonzero(four > 0)
                found += list(zip(itertools.repeat(a), x[r].tolist(), y[r].tolist(), d.tolist()))
                gains += (four[r, d] / 3).tolist()
        if len(found) > limit:
            return None
    return found, np.array(gains)


def best_groups_at(
    P: np.ndarray, q_shift: np.ndarray, lo: int, hi: int, k: int, per_person: int
) -> np.ndarray:
    """Groups with positive reduced value among each person's k best partners at the prices
    (q_ab = P_ab - q_shift_a - q_shift_b), each person's `per_person` best (padded members,
    sorted within a group, duplicates removed): cheap pricing for the rounds of column
    generation (the exact pricing, `positive_groups`, comes last)."""
    n = len(P)
    k = min(k, n - 1)
    ok = P > 0
    found, gains, owners = [], [], []
    for start in range(0, n, 512):
        block = P[start : start + 512]
        rows = np.arange(len(block))
        q = np.where(
            block > 0, block - q_shift[start : start + 512, None] - q_shift[None, :], -np.inf
        )
        q[rows, start + rows] = -np.inf
        top = np.argpartition(-q, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(top, np.lexsort((top, -np.take_along_axis(q, top, 1))), 1)
        for size in range(lo, hi + 1):
            combos = np.array(list(itertools.combinations(range(k), size - 1)), np.int64)
            owner = np.repeat(start + rows, len(combos))
            members = np.concatenate([owner[:, None], top[:, combos].reshape(-1, size - 1)], 1)
            good = np.ones(len(members), bool)
            total = np.zeros(len(members))
            for a, b in itertools.combinations(range(size), 2):
                x, y = members[:, a], members[:, b]
                good &= ok[x, y]
                total += P[x, y] - q_shift[x] - q_shift[y]
            keep = good & (total > 0)
            found.append(
                np.pad(np.sort(members[keep], 1), ((0, 0), (0, hi - size)), constant_values=-1)
            )
            gains.append(total[keep] / (size - 1))
            owners.append(owner[keep])
    members, gain, owner = np.concatenate(found), np.concatenate(gains), np.concatenate(owners)
    order = np.lexsort((-gain, owner))
    members, owner = members[order], owner[order]
    rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
    return np.unique(members[rank < per_person], axis=0)


def positive_groups(
    P: np.ndarray, q_shift: np.ndarray, lo: int, hi: int, limit: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Every group of lo..hi people (2 <= lo, hi <= 4) of the pool with positive reduced value
    at the prices (members padded with -1, reduced values in profit units); None when finding
    them would read more than `limit` entries of q.

    With q_ab = P_ab - q_shift_a - q_shift_b, 2 x a group's reduced value x (size - 1) is the sum
    over its members x of s_x = sum of q_xy over the others. A positive group has a member a
    (its *leader*) with the largest s_a > 0. With a's partners sorted by q_a, b >= c >= d: b has
    q_ab > 0; in a quad q_ac > -q_ab / 2 and q_ad > -2 max(q_a) (in a triple q_ac > -q_ab), so
    each person leads only groups of their few best partners and, at good prices, few of them.
    """
    n = len(P)
    found: list[np.ndarray] = []
    gains: list[np.ndarray] = []
    work = 0
    for a in range(n):
        qa = np.where(P[a] > 0, P[a] - q_shift[a] - q_shift, -np.inf)
        qa[a] = -np.inf
        top = float(qa.max(initial=-np.inf))
        if top <= 0:
            continue  # a leads no positive group
        near = np.flatnonzero(qa > (-2 * top if hi >= 4 else -top))
        near = near[np.argsort(-qa[near], kind="stable")]
        v, slot = qa[near], np.arange(len(near))
        b_count = int((v > 0).sum())
        c_count = int((v > -top / 2).sum()) if hi >= 4 else b_count
        work += max(b_count, c_count) * len(near)
        if work > limit:  # before building the rows (poor prices: thousands of them)
            return None
        rows = _q_rows(P, q_shift, near[: max(b_count, c_count)], near)
        after = slot[None, :] > np.arange(b_count)[:, None]
        if lo <= 2:
            (j,) = np.nonzero(v > 0)
            keep = near[j] > a  # a pair is found from both ends: once
            found.append(_padded(np.stack([np.full(keep.sum(), a), near[j[keep]]], 1), hi))
            gains.append(v[j[keep]])
        if lo <= 3 <= hi:
            own = v[:b_count, None] + v[None, :]
            total = own + rows[:b_count]
            i, j = np.nonzero(after & (own > 0) & (total > 0))
            found.append(_padded(np.stack([np.full(len(i), a), near[i], near[j]], 1), hi))
            gains.append(total[i, j] / 2)
        if hi >= 4:
            i, j = np.nonzero(after[:, :c_count] & (v[:b_count, None] + 2 * v[None, :c_count] > 0))
            work += len(i) * len(near)
            if work > limit:
                return None
            own = (v[i] + v[j])[:, None] + v[None, :]
            total = (v[i] + v[j] + rows[i, j])[:, None] + v[None, :] + rows[i] + rows[j]
            r, d = np.nonzero((own > 0) & (total > 0) & (slot[None, :] > j[:, None]))
            quads = np.stack([np.full(len(r), a), near[i[r]], near[j[r]], near[d]], 1)
            found.append(quads)
            gains.append(total[r, d] / 3)
        if work > limit:
            return None
    if not found:
        return np.zeros((0, hi), np.int64), np.zeros(0)
    members = np.concatenate(found)
    members = np.where(members >= 0, members, n)
    members = np.sort(members, 1)
    members[members == n] = -1
    members, first = np.unique(members, axis=0, return_index=True)
    return members, np.concatenate(gains)[first]


def _q_rows(P: np.ndarray, q_shift: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    sub = P[np.ix_(rows, cols)]
    q = np.where(sub > 0, sub - q_shift[rows, None] - q_shift[None, cols], -np.inf)
    q[rows[:, None] == cols[None, :]] = -np.inf
    return q


def _padded(members: np.ndarray, width: int) -> np.ndarray:
    return np.pad(members, ((0, 0), (0, width - members.shape[1])), constant_values=-1)


def priced_bound(prices: np.ndarray, members: np.ndarray, gains: np.ndarray) -> float:
    """A bound on every grouping from person prices >= 0 and *every* group of positive reduced
    value (`positive_groups`), in the units of both.

    A packing is worth ``sum(prices) + sum of its groups' reduced values`` at most; splitting a
    group's reduced value evenly among its members, each person is in one group of the packing,
    so that sum is at most each person's largest share of a positive group. Equivalently, the
    prices plus those shares are feasible for the LP's dual over every group. Never more than
    ``sum(prices) + sum of all positive reduced values`` (the Lagrangian bound).
    """
    share = np.zeros(len(prices))
    if len(members):
        size = (members >= 0).sum(1)
        for col in range(members.shape[1]):
            there = members[:, col] >= 0
            np.maximum.at(share, members[there, col], gains[there] / size[there])
    return float(np.sum(prices) + share.sum())


def packing_keep(
    members: np.ndarray, values: np.ndarray, pi: np.ndarray, floor: int
) -> tuple[float, np.ndarray]:
    """The Lagrangian bound of the packing at prices pi, and the groups that can be in a packing
    worth more than `floor`.

    Relaxing "each person at most once": ``L = sum(pi) + sum_g max(0, rc_g)`` with
    ``rc_g = value_g - sum of its members' prices`` bounds every packing of these groups, for
    any pi >= 0. With group g forced in, the bound is ``L - max(0, rc_g) + rc_g``; a group
    whose forced bound is at most `floor` is in no packing worth more.
    """
    priced = np.where(members >= 0, pi[np.maximum(members, 0)], 0.0).sum(axis=1)
    rc = values - priced
    lagrange = float(pi.sum() + np.maximum(rc, 0).sum())
    forced = lagrange - np.maximum(rc, 0) + rc
    return lagrange, forced >= floor + 1 - 1e-9 * max(1.0, abs(lagrange))


def _peer_value(P: np.ndarray, group: tuple[int, ...]) -> float:
    pairs = sum(int(P[a, b]) for a, b in itertools.combinations(group, 2))
    return pairs / (len(group) - 1)
