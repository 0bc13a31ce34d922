"""One matching run: split the pool into sides, solve the model exactly where possible, explain."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order
from threadpoolctl import threadpool_limits

from mentorflow.errors import MatchingError
from mentorflow.matching import groups, peer
from mentorflow.matching.bipartite import BipartiteSolution, Profits, solve_bipartite
from mentorflow.matching.explain import Explainer
from mentorflow.matching.pool import BOTH, MENTEE, MENTOR, PEER, Pool
from mentorflow.matching.result import Match, MatchResult, Unmatched
from mentorflow.matching.scoring import SCALE, Scorer
from mentorflow.matching.settings import MatchingSettings
from mentorflow.matching.sides import choose_sides

Pair = tuple[str, str]


def solve(
    pool: Pool,
    settings: MatchingSettings,
    *,
    earlier_pairs: Iterable[Pair] = (),
    hold_back: Collection[str] = (),
    round_no: int = 1,
    gap_tolerance: float = 0.0,
) -> MatchResult:
    """The proposal for the spec's model and objective (same input and seed: same result)."""
    started = time.perf_counter()
    hold = set(hold_back)
    # a bounced address would never hear of its introduction: keep it out, say why
    reasons = {
        i: "held_back" if member_id in hold else "address_bounced"
        for i, member_id in enumerate(pool.ids)
        if member_id in hold or pool.bounced[i]
    }
    held = sorted(reasons)
    keep = np.setdiff1d(np.arange(len(pool)), held)
    active = pool.subset(keep) if held else pool
    earlier = list(earlier_pairs) if settings.no_repeat_pairs else []
    with threadpool_limits(1, user_api="blas"):  # small matmuls: threads only add overhead
        if _is_peer(active, settings):
            result = _solve_peer(active, settings, earlier, round_no, gap_tolerance)
        else:
            result = _solve_bipartite(active, settings, earlier, round_no, gap_tolerance)
    extra = tuple(Unmatched(pool.ids[i], _side_name(pool.roles[i]), reasons[i]) for i in held)
    stats = {**result.stats, "seconds": round(time.perf_counter() - started, 3)}
    return replace(result, unmatched=result.unmatched + extra, stats=stats)


def solve_round(
    pool: Pool, settings: MatchingSettings, round_no: int, earlier_pairs: Iterable[Pair]
) -> MatchResult:
    """Rotational: the pairs of round `round_no`, never repeating an earlier pair."""
    if round_no < 1:
        raise MatchingError("rounds are numbered from 1")
    return solve(
        pool,
        settings.with_no_repeat_pairs(),
        earlier_pairs=earlier_pairs,
        round_no=round_no,
    )


def _is_peer(pool: Pool, settings: MatchingSettings) -> bool:
    if settings.model == "peer":
        return True
    if settings.model == "rotational":
        return not bool(((pool.roles == MENTOR) | (pool.roles == MENTEE)).any())
    if (pool.roles == PEER).any():
        raise MatchingError(f"members with role 'peer' cannot join a {settings.model} program")
    return False


def _side_name(role: int) -> str:
    return ("mentee", "mentor", "both", "peer")[int(role)]


def _rng(settings: MatchingSettings, round_no: int) -> np.random.Generator:
    return np.random.default_rng([settings.seed, round_no])


def split_sides(pool: Pool) -> tuple[np.ndarray, np.ndarray]:
    """(mentee positions, mentor positions), `both` members put where places are short.

    A fixed split for tests and the benchmark's baseline; `solve` chooses their sides inside the
    optimisation instead (`sides.choose_sides`).
    """
    mentees = list(np.flatnonzero(pool.roles == MENTEE))
    mentors = list(np.flatnonzero(pool.roles == MENTOR))
    short = len(mentees) - int(pool.capacity[mentors].sum())
    for i in np.flatnonzero(pool.roles == BOTH):  # pool order: from the data, not the ids
        if short > 0 and pool.capacity[i] > 0:
            mentors.append(i)
            short -= int(pool.capacity[i])
        else:
            mentees.append(i)
            short += 1
    return np.array(sorted(mentees), dtype=np.int64), np.array(sorted(mentors), dtype=np.int64)


@dataclass(frozen=True)
class Assignment:
    """A bipartite model solved: who goes where, and what the certificate covers."""

    scorer: Scorer
    capacity: np.ndarray  # per column, `both` members on the mentee side closed (0)
    solution: BipartiteSolution
    bound: int  # proven upper bound, score units (every side choice of `both` members)
    certified: bool
    method: str
    closed_rows: np.ndarray  # bool per row: `both` members on the mentor side
    closed_groups: set[int]  # columns whose group was closed (below the minimum)


def _solve_bipartite(
    pool: Pool,
    settings: MatchingSettings,
    earlier: list[Pair],
    round_no: int,
    gap_tolerance: float,
) -> MatchResult:
    a = assign_bipartite(pool, settings, earlier, round_no, gap_tolerance)
    return _bipartite_result(
        pool,
        settings,
        a.scorer,
        a.capacity,
        a.solution,
        (a.bound, a.certified, a.method),
        a.closed_groups,
        round_no,
        a.closed_rows,
    )


def assign_bipartite(
    pool: Pool,
    settings: MatchingSettings,
    earlier: Iterable[Pair] = (),
    round_no: int = 1,
    gap_tolerance: float = 0.0,
) -> Assignment:
    """The assignment of a bipartite model, without explanations (the benchmark times this)."""
    mentees, mentors, both = _sides(pool)
    rng = _rng(settings, round_no)
    # a `both` member stands on both sides until the solver has chosen its side
    rows = rng.permutation(np.concatenate([mentees, both]))
    cols = rng.permutation(np.concatenate([mentors, both]))
    scorer = Scorer(pool, settings, rows, cols, earlier_pairs=list(earlier))
    if settings.model == "group":
        capacity = np.full(len(cols), settings.group_max, dtype=np.int64)
    else:
        capacity = pool.capacity[cols].astype(np.int64)
    profits = Profits(scorer)
    kwargs = dict(
        objective=settings.objective,
        candidates=settings.candidates,
        max_rounds=settings.max_pricing_rounds,
        gap_tolerance=gap_tolerance,
        profits=profits,
        priority=pool.priority[rows],
    )
    closed_rows = np.zeros(len(rows), dtype=bool)
    method = "min-cost flow on a candidate graph, certified by duals"
    if len(both):
        position = {int(p): k for k, p in enumerate(cols)}
        both_rows = np.flatnonzero(np.isin(rows, both))
        both_cols = np.array([position[int(p)] for p in rows[both_rows]], dtype=np.int64)
        chosen = choose_sides(scorer, capacity, both_rows, both_cols, **kwargs)  # type: ignore[arg-type]
        sol, capacity, closed_rows = chosen.solution, chosen.capacity, chosen.closed_rows
        bound, certified = chosen.bound, chosen.exact
        method += _side_method(chosen.exact, chosen.how)
    else:
        sol = solve_bipartite(scorer, capacity, **kwargs)  # type: ignore[arg-type]
        bound, certified = sol.bound, sol.certified
    closed_members: set[int] = set()
    if pool.priority[rows].any():
        method += "; members waitlisted in earlier cycles first"
    if settings.model == "group" and settings.group_min > 1:
        kwargs["closed_rows"] = closed_rows
        relaxed = sol
        sol, closed = _close_small_groups(scorer, capacity, sol, settings.group_min, kwargs)
        closed_members = {int(c) for c in closed}
        certified = certified and not closed_members
        method += "; groups below the minimum closed one after another (gap to the relaxation)"
        # the exact group solver takes fixed sides: with `both` members the heuristic stays
        if profits.matrix is not None and not len(both):
            found = groups.solve_mentor_groups(
                profits.matrix,
                np.where(scorer.closed, 0, capacity),
                relaxed,
                sol,
                settings.group_min,
                settings.objective,
                pool.priority[rows],
                settings.seed,
                gap_tolerance,
            )
            sol, bound, certified = found.solution, found.bound, found.certified
            closed_members, method = set(found.closed), found.method
    return Assignment(scorer, capacity, sol, bound, certified, method, closed_rows, closed_members)


def _sides(pool: Pool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mentees, mentors, `both` members who could lead), as pool positions in pool order."""
    giving = pool.capacity > 0
    mentees = np.flatnonzero((pool.roles == MENTEE) | ((pool.roles == BOTH) & ~giving))
    mentors = np.flatnonzero(pool.roles == MENTOR)
    both = np.flatnonzero((pool.roles == BOTH) & giving)
    return mentees, mentors, both


def _side_method(exact: bool, how: str) -> str:
    if exact:
        return f"; sides of `both` members chosen exactly over every side choice ({how})"
    return f"; sides of `both` members: {how}, with a bound that holds for every side choice"


def _close_small_groups(
    scorer: Scorer,
    capacity: np.ndarray,
    sol: BipartiteSolution,
    group_min: int,
    kwargs: dict,
) -> tuple[BipartiteSolution, np.ndarray]:
    """Close groups below the minimum (smallest first, half of them at a time) and solve again.

    The first solution (no minimum) is a relaxation: its bound stays the bound of the result.
    Every close removes capacity, so the loop ends; members of closed groups are offered the
    remaining places in the next solve, and are waitlisted when none fits.
    """
    cap = capacity.copy()
    closed: list[int] = []
    while True:
        load = np.bincount(sol.row_col[sol.row_col >= 0], minlength=len(cap))
        small = np.flatnonzero((load > 0) & (load < group_min))
        if len(small) == 0:
            return sol, np.array(closed, dtype=np.int64)
        points = np.bincount(
            sol.row_col[sol.row_col >= 0],
            weights=sol.row_profit[sol.row_col >= 0],
            minlength=len(cap),
        )
        order = small[np.lexsort((points[small], load[small]))]
        shut = order[: max(1, len(order) // 2)]
        cap[shut] = 0
        closed.extend(int(c) for c in shut)
        sol = solve_bipartite(scorer, cap, **kwargs)


def _bipartite_result(
    pool: Pool,
    settings: MatchingSettings,
    scorer: Scorer,
    capacity: np.ndarray,
    sol: BipartiteSolution,
    certificate: tuple[int, bool, str],
    closed: set[int],
    round_no: int,
    closed_rows: np.ndarray,
) -> MatchResult:
    bound, certified, method = certificate
    rows, cols = scorer.rows, scorer.cols
    explainer = Explainer(pool, settings)
    by_col: dict[tuple[int, int], list[int]] = {}
    for r in np.flatnonzero(sol.row_col >= 0):
        # a group is one match; otherwise each of a mentor's mentees is a pair of its own
        key = (int(sol.row_col[r]), -1 if settings.model == "group" else int(r))
        by_col.setdefault(key, []).append(int(r))
    matches = []
    for (c, _), members in by_col.items():
        mentor = int(cols[c])
        mentee_pos = sorted(members, key=lambda r: pool.ids[rows[r]])
        explanation = tuple(explainer.pair(mentor, int(rows[r])) for r in mentee_pos)
        score = sum(float(sol.row_profit[r] - 1) / SCALE for r in mentee_pos)
        ids = [(pool.ids[mentor], "mentor")] + [(pool.ids[rows[r]], "mentee") for r in mentee_pos]
        match_key = "+".join(i for i, _ in ids)
        matches.append(Match(match_key, tuple(ids), round(score, 4), explanation, round_no))
    matches.sort(key=lambda m: m.key)
    unmatched = _bipartite_reasons(
        pool, scorer, capacity, sol, closed, settings.objective, closed_rows
    )
    load = np.bincount(sol.row_col[sol.row_col >= 0], minlength=len(cols))
    used = {
        pool.ids[cols[c]]: (int(load[c]), int(capacity[c]))
        for c in range(len(cols))
        if capacity[c] > 0 or pool.roles[cols[c]] != BOTH  # not a mentee-side `both` member
    }
    total = sum(m.score for m in matches)
    return MatchResult(
        model=settings.model,
        objective=settings.objective,
        matches=tuple(matches),
        unmatched=unmatched,
        total_score=round(total, 4),
        upper_bound=round(total + max(0, bound - sol.total) / SCALE, 4),
        certified=certified,
        method=method,
        capacity=used,
        stats={
            "pricing_rounds": sol.pricing_rounds,
            "candidate_edges": int(sol.edges.shape[1]),
            **_priority_stats(np.where(closed_rows, 0, pool.priority[rows]), sol.row_col),
        },
        round=round_no,
    )


def _priority_stats(priority: np.ndarray, row_col: np.ndarray) -> dict[str, int]:
    """How many members waitlisted in earlier cycles were in the pool, and matched now."""
    waiting = priority > 0
    if not waiting.any():
        return {}
    return {"priority": int(waiting.sum()), "priority_matched": int((row_col[waiting] >= 0).sum())}


def _bipartite_reasons(
    pool: Pool,
    scorer: Scorer,
    capacity: np.ndarray,
    sol: BipartiteSolution,
    closed: set[int],
    objective: str,
    closed_rows: np.ndarray,
) -> tuple[Unmatched, ...]:
    rows, cols = scorer.rows, scorer.cols
    nr, m = len(rows), len(cols)
    load = np.bincount(sol.row_col[sol.row_col >= 0], minlength=m)
    reach = _can_reach_spare(sol, capacity, load, nr, m)
    out = []
    for r in np.flatnonzero((sol.row_col < 0) & ~closed_rows):  # closed: a `both` as mentor
        if not sol.row_feasible[r]:
            reason = "no_feasible_partner"
        elif reach[r] and objective == "max_score":
            reason = "lost_on_score"
        else:
            reason = "capacity_exhausted"
        if closed and reason != "no_feasible_partner" and _had_closed_partner(sol, int(r), closed):
            reason = "group_below_minimum"
        out.append(Unmatched(pool.ids[rows[r]], "mentee", reason))
    for c in np.flatnonzero(load == 0):
        if capacity[c] == 0 and pool.roles[cols[c]] == BOTH:
            continue  # a `both` member on the mentee side: reported (or matched) as a mentee
        if int(c) in closed:
            reason = "group_below_minimum"
        elif not sol.col_feasible[c]:
            reason = "no_feasible_partner"
        elif capacity[c] == 0:
            continue
        else:
            reason = "lost_on_score"
        out.append(Unmatched(pool.ids[cols[c]], "mentor", reason))
    return tuple(sorted(out, key=lambda u: u.member_id))


def _had_closed_partner(sol: BipartiteSolution, r: int, closed: set[int]) -> bool:
    partners = sol.edges[1][sol.edges[0] == r]
    return bool(set(partners.tolist()) & closed)


def _can_reach_spare(
    sol: BipartiteSolution, capacity: np.ndarray, load: np.ndarray, nr: int, m: int
) -> np.ndarray:
    """Rows from which an alternating path (graph edge, then a matched edge back) ends at a
    column with room: such a row could be matched by rearranging, at some loss of score."""
    er, ec = sol.edges
    free = sol.row_col[er] != ec
    spare = np.flatnonzero(load < capacity)
    source = nr + m
    # reversed alternating graph: column -> row over unmatched edges, row -> its column
    has = np.flatnonzero(sol.row_col >= 0)
    tails = np.concatenate([nr + ec[free], has, np.full(len(spare), source)])
    heads = np.concatenate([er[free], nr + sol.row_col[has], nr + spare])
    graph = coo_matrix((np.ones(len(tails)), (tails, heads)), shape=(source + 1, source + 1))
    seen = breadth_first_order(graph.tocsr(), source, directed=True, return_predecessors=False)
    out = np.zeros(nr, dtype=bool)
    out[seen[seen < nr]] = True
    return out


def _solve_peer(
    pool: Pool,
    settings: MatchingSettings,
    earlier: list[Pair],
    round_no: int,
    gap_tolerance: float,
) -> MatchResult:
    people = _rng(settings, round_no).permutation(len(pool))
    scorer = Scorer(pool, settings, people, people, symmetric=True, earlier_pairs=earlier)
    size = settings.peer_group_size if settings.model == "peer" else 2
    if size > 2:
        solved = peer.solve_groups(
            scorer,
            max(2, settings.group_min),
            size,
            settings.seed,
            settings.objective,
            gap_tolerance,
        )
    else:
        solved = peer.solve_pairs(scorer, settings, gap_tolerance)
    groups, bound, feasible, method = solved
    explainer = Explainer(pool, settings, symmetric=True)
    matches = []
    for group, profit in groups:
        members = sorted((int(people[p]) for p in group), key=lambda i: pool.ids[i])
        explanation = tuple(
            explainer.pair(a, b) for k, a in enumerate(members) for b in members[k + 1 :]
        )
        ids = tuple((pool.ids[i], "peer") for i in members)
        score = (float(profit) - len(group) / 2) / SCALE  # each pair carries one unit
        matches.append(
            Match("+".join(i for i, _ in ids), ids, round(score, 4), explanation, round_no)
        )
    matches.sort(key=lambda m: m.key)
    total = sum(m.score for m in matches)
    placed = {p for group, _ in groups for p in group}
    unmatched = []
    for p in sorted(set(range(len(people))) - placed, key=lambda p: pool.ids[people[p]]):
        if not feasible[p]:
            reason = "no_feasible_partner"
        elif settings.objective == "max_matched":
            reason = "capacity_exhausted"
        else:
            reason = "lost_on_score"
        unmatched.append(Unmatched(pool.ids[people[p]], "peer", reason))
    upper = max(total, total + (bound - sum(v for _, v in groups)) / SCALE)
    return MatchResult(
        model=settings.model,
        objective=settings.objective,
        matches=tuple(matches),
        unmatched=tuple(unmatched),
        total_score=round(total, 4),
        upper_bound=round(upper, 4),
        certified=upper - total < 1e-9,
        method=method,
        stats={},
        round=round_no,
    )
