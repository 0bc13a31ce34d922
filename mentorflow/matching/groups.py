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
`peer_bound`): Lagrangian relaxations whose multipliers are improved by subgradient steps and
then evaluated over every pair of the stored profit matrix. CP-SAT runs on one worker with a
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
DETERMINISTIC_SECONDS = 20.0  # CP-SAT's deterministic time limit (work units, not wall clock)
SUBGRADIENT_STEPS = 60


@dataclass(frozen=True)
class Solved:
    """A CP-SAT run: chosen items, value (gross units), its own bound, whether optimal."""

    chosen: np.ndarray  # bool per item (candidate pair or candidate group)
    value: int
    bound: int
    optimal: bool
    status: str


def _solve(model: cp_model.CpModel, items: list, seed: int, gap: float, seconds: float) -> Solved:
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = 1  # one worker: its search is deterministic
    p.random_seed = int(seed) % (2**31)
    p.max_deterministic_time = seconds
    p.relative_gap_limit = gap
    p.log_search_progress = False
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Solved(np.zeros(len(items), bool), 0, 0, False, solver.status_name(status))
    chosen = np.array([solver.boolean_value(v) for v in items], dtype=bool)
    return Solved(
        chosen,
        int(round(solver.objective_value)),
        int(math.floor(solver.best_objective_bound + 1e-6)),
        status == cp_model.OPTIMAL,
        solver.status_name(status),
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
) -> Solved:
    """Best assignment on the given pairs: each row once, each column 0 or lo..hi[j] rows.

    `hint` is a column per row (-1: none), a feasible start (a heuristic's answer).
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
    model.maximize(sum(int(w) * x[k] for k, w in enumerate(gross.tolist()) if w))
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
    nr, m = G.shape
    width = min(nr, int(hi.max(initial=1)) * 6 + 8)
    order = np.argsort(-G, axis=0, kind="stable")[:width]  # each mentor's best rows
    sub = np.take_along_axis(G, order, 0).astype(np.float64)
    u = np.maximum(np.asarray(u0, np.float64), 0)
    best_u, best = u.copy(), np.inf
    theta = 1.0
    for _ in range(SUBGRADIENT_STEPS):
        value, picked = _mentor_relaxed(sub, order, u, lo, hi)
        if value < best - 1e-9:
            best, best_u = value, u.copy()
        else:
            theta *= 0.7
        grad = 1.0 - np.bincount(picked, minlength=nr)
        norm = float((grad * grad).sum())
        if norm == 0 or best - incumbent <= 1e-9 * max(1.0, abs(best)):
            break
        u = np.maximum(0.0, u - theta * (value - incumbent) / norm * grad)
    return _mentor_full(G, best_u, lo, hi), best_u


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
    best = np.argsort(-P, axis=1, kind="stable")[:, :k]
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
) -> Solved:
    """Best packing of the candidate groups: each person in at most one."""
    model = cp_model.CpModel()
    z = [model.new_bool_var(f"g{k}") for k in range(len(groups))]
    by_person: list[list[int]] = [[] for _ in range(n)]
    for k, g in enumerate(groups):
        for p in g:
            by_person[p].append(k)
    for ks in by_person:
        if len(ks) > 1:
            model.add_at_most_one(z[k] for k in ks)
    model.maximize(sum(int(v) * z[k] for k, v in enumerate(values.tolist())))
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
    n, k = nbr.shape
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
    feasible = int((G > 0).sum())
    full = feasible <= EXACT_PAIRS
    if full:
        rows, cols = np.nonzero(G)
    else:
        edges = np.concatenate([relaxed.edges, _pairs_of(heuristic.row_col)], axis=1)
        key = np.unique(edges[0] * m + edges[1])
        rows, cols = key // m, key % m
        keep = G[rows, cols] > 0
        rows, cols = rows[keep], cols[keep]
    hint = heuristic.row_col
    incumbent = _gross(G, hint)
    u0 = _duals(G, capacity, relaxed, bonus)
    bound_full, _ = mentor_bound(G, lo, capacity, u0, incumbent)
    run = mentor_groups_cpsat(
        rows, cols, G[rows, cols], nr, m, lo, capacity, hint, seed, gap=gap_tolerance
    )
    row_col = hint
    if run.value > incumbent:
        row_col = np.full(nr, -1, np.int64)
        row_col[rows[run.chosen]] = cols[run.chosen]
    value = _gross(G, row_col)
    gross_bound = math.floor(bound_full + 1e-6)
    if full:
        gross_bound = min(gross_bound, run.bound)
    certified = (full and run.optimal and value >= run.value) or value >= gross_bound
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
        edges=np.stack([rows, cols]).astype(np.int64),
    )
    scope = "every feasible pair" if full else f"{len(rows)} candidate pairs"
    how = "optimal" if certified else "best found"
    method = (
        f"CP-SAT on {scope} ({how}, started from closing small groups); bound: Lagrangian "
        "relaxation over every pair"
    )
    return MentorGroups(solution, bound, certified, method, closed)


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
