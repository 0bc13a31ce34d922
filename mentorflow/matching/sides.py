"""Which side a `both` member takes: chosen inside the optimisation, with a bound for every choice.

A `both` member is a mentee (one place at a mentor) or a mentor (up to its capacity), never both
at once. With a side variable `s_b` per such member the problem is an integer program:

    max  sum w_e x_e
    row i (mentee, or `both` b):   sum_j x_ij (+ s_b)         <= 1         dual u_i >= 0
    column j (mentor, or `both` b): sum_i x_ij (- cap_b s_b)   <= cap_j (0) dual v_j >= 0

Its LP relaxation bounds every side choice at once, and its dual has the b-matching's shape
(a price per row and per column, plus ``u_b >= cap_b v_b`` for each `both` member), so the pricing
of `bipartite._price_out` proves the bound over the *whole* pool, not only the candidate graph:

1. Column generation on the LP (HiGHS through scipy): solve on the candidate graph, round the
   duals to integers and repair them to exact feasibility, price every pair left out; repeat
   until none has positive reduced profit. The dual objective is then an exact integer upper
   bound on every matching of every side choice. Pools of more than LP_PAIRS pairs (the LP
   alone would take longer than the whole matching without `both` members) and without
   lexicographic tiers, or whose LP HiGHS gives up on, get a Lagrangian relaxation instead,
   whose subproblems are b-matchings for the min-cost flow: its duals are duals of the same LP,
   feasible but not optimal, so the bound is looser (`_lagrangian`).
2. A side choice: the LP's sides rounded (or the Lagrangian step's whose solution, each member
   cut back to its more valuable role, was worth most), then the b-matching for those sides
   solved by `solve_bipartite` (exactly after the LP; after the Lagrangian, whose gap is to the
   bound anyway, by one flow on the graph, rich by then, without pricing). Equal to the bound:
   optimal over every choice.
3. Otherwise, on pools whose graph is small enough, the integer program on the candidate graph
   (HiGHS branch and bound, a node limit, no time limit). A pair left out of the graph with
   reduced profit ``r`` can only be part of a solution worth at most ``bound + r``; pairs that
   could still beat the best choice found join the graph and the program is solved again. When
   none is left, the best choice is optimal over every side choice and every pair.

Whatever stops the search, the bound from step 1 holds for every side choice: the result reports
the gap to it. Deterministic: HiGHS runs with node limits only, and ties follow row order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix

from mentorflow.errors import MatchingError
from mentorflow.matching.bipartite import (
    SPARE,
    BipartiteSolution,
    Graph,
    Profits,
    candidate_graph,
    min_cost_flow_on,
    price_out,
    prices,
    row_bonus,
    solve_bipartite,
    with_edges,
)
from mentorflow.matching.scoring import Scorer

AS_MENTEE, AS_MENTOR = 0, 1
MIP_EDGES = 3_000  # candidate graphs up to this size get the integer program (step 3)
MIP_NODES = 5_000  # HiGHS branch-and-bound nodes per solve: a limit that is not a clock
MIP_ROUNDS = 4  # times pairs may join the graph after the integer program
LP_ROUNDS = 10  # column-generation rounds of the LP (warm-started HiGHS solves)
FLOAT_EXACT = 2**50  # gross values below this are exact enough for HiGHS's tolerances
LP_PAIRS = 4_000_000  # pools (rows x columns) up to this size get the LP bound, larger ones
# the Lagrangian one: a size, not a clock, so the method never depends on the machine's speed
LAGRANGE_STEPS = 8  # subproblems of the Lagrangian bound (one min-cost flow on the graph each)
PRICE_EVERY = 3  # every this many steps, the whole pool is priced (bound, pairs joining)
STEP_SHARE = 0.5  # the first subgradient step's share of Polyak's length, halved every...
HALVING = 3  # ...this many steps


@dataclass(frozen=True)
class SideSolution:
    """The best side choice found, its solution, and the bound that holds for every choice."""

    solution: BipartiteSolution  # the b-matching of the chosen sides (certified for them)
    side: np.ndarray  # per `both` member: AS_MENTEE or AS_MENTOR
    capacity: np.ndarray  # column capacities, mentee-side members' columns closed
    closed_rows: np.ndarray  # bool per row: `both` members placed as mentors
    bound: int  # upper bound over every side choice, score units (bonuses off)
    gross_bound: int  # the same with the lexicographic bonuses
    exact: bool  # the chosen sides are optimal over every side choice
    how: str  # which step settled it


@dataclass(frozen=True)
class _Layout:
    """Rows and columns of the program: which of them belong to `both` members."""

    nr: int
    m: int
    capacity: np.ndarray  # int64 per column
    both_rows: np.ndarray
    both_cols: np.ndarray

    @property
    def both_cap(self) -> np.ndarray:
        return self.capacity[self.both_cols]

    def regular_capacity(self) -> np.ndarray:
        """Column capacities in the dual objective: a `both` member's column counts 0 there."""
        cap = self.capacity.copy()
        cap[self.both_cols] = 0
        return cap

    def matrix(self, rows: np.ndarray, cols: np.ndarray) -> csr_matrix:
        """Constraint rows: nr row constraints, then m column constraints; x then s."""
        e, nb = len(rows), len(self.both_rows)
        r = np.concatenate([rows, self.nr + cols, self.both_rows, self.nr + self.both_cols])
        c = np.concatenate([np.arange(e), np.arange(e), e + np.arange(nb), e + np.arange(nb)])
        ones = np.ones(e, np.float64)
        values = np.concatenate([ones, ones, np.ones(nb), -self.both_cap.astype(np.float64)])
        return coo_matrix((values, (r, c)), shape=(self.nr + self.m, e + nb)).tocsr()

    def limits(self) -> np.ndarray:
        return np.concatenate([np.ones(self.nr), self.regular_capacity()]).astype(np.float64)


def choose_sides(
    scorer: Scorer,
    capacity: np.ndarray,
    both_rows: np.ndarray,
    both_cols: np.ndarray,
    *,
    objective: str = "max_score",
    candidates: int = 6,
    max_rounds: int = 10,
    gap_tolerance: float = 0.0,
    profits: Profits | None = None,
    priority: np.ndarray | None = None,
) -> SideSolution:
    """The best b-matching over every side of the `both` members (see the module docstring).

    `both_rows[k]` and `both_cols[k]` are the row and column positions of the k-th member.
    """
    nr, m = scorer.shape
    capacity = np.where(scorer.closed, 0, np.asarray(capacity, dtype=np.int64))
    layout = _Layout(nr, m, capacity, np.asarray(both_rows), np.asarray(both_cols))
    profits = profits or Profits(scorer)
    graph = candidate_graph(profits, candidates, spare=SPARE)
    bonus = row_bonus(graph.profit, graph.left_out, m, objective, priority)
    solve_kwargs = dict(
        objective=objective,
        candidates=candidates,
        max_rounds=max_rounds,
        gap_tolerance=gap_tolerance,
        profits=profits,
        priority=priority,
    )
    relaxed, first = None, {}
    if nr * m <= LP_PAIRS or bonus.any():
        # lexicographic tiers (max_matched, priority) swamp the Lagrangian's steps: measured at
        # 2,000 x 700 with priorities, 1,764 matched against the LP's 2,012
        relaxed = _relaxation_or_none(profits, layout, graph, bonus, max_rounds)
    if relaxed is not None:
        graph, sides, bound, duals = relaxed
        how = "the LP's sides, rounded"
    else:
        graph, sides, bound, duals = _lagrangian(profits, layout, graph, bonus, LAGRANGE_STEPS)
        how = "the sides of a Lagrangian relaxation"
        # the gap is to that bound, not to these sides' own optimum: the graph's flow suffices
        first["known_bound"] = bound
    best = _fixed(scorer, layout, graph, sides, {**solve_kwargs, **first})
    near = bound - best[0].gross_total <= gap_tolerance * max(1, bound - int(bonus.max(initial=0)))
    if not near and _mip_fits(graph, bound):
        best, graph, closed = _integer_program(
            scorer, layout, graph, bonus, bound, duals, profits, best, solve_kwargs
        )
        how = "integer program on the candidate graph" + ("" if closed else ", not closed")
        exact = closed
    else:
        exact = best[0].gross_total >= bound
    sol, side = best
    exact = exact or sol.gross_total >= bound
    cap, rows_closed = _restrict(layout, side)
    pure = bound - int(bonus[sol.row_col >= 0].sum())
    if exact:  # proven optimal: the rounded LP bound may be looser than the optimum it proves
        pure, bound = sol.total, sol.gross_total
    return SideSolution(
        solution=sol,
        side=side,
        capacity=cap,
        closed_rows=rows_closed,
        bound=max(pure, sol.total),
        gross_bound=max(bound, sol.gross_total),
        exact=exact,
        how=how,
    )


def _relaxation_or_none(
    profits: Profits, layout: _Layout, graph: Graph, bonus: np.ndarray, max_rounds: int
) -> tuple[Graph, np.ndarray, int, tuple[np.ndarray, np.ndarray]] | None:
    """`_relaxation`, or None when HiGHS gives up (seen with max_matched and priorities, whose
    profits span 12 orders of magnitude): the Lagrangian's integer arithmetic then takes over."""
    try:
        return _relaxation(profits, layout, graph, bonus, max_rounds)
    except MatchingError:
        return None


def _relaxation(
    profits: Profits, layout: _Layout, graph: Graph, bonus: np.ndarray, max_rounds: int
) -> tuple[Graph, np.ndarray, int, tuple[np.ndarray, np.ndarray]]:
    """Column generation on the LP: (graph, rounded sides, exact integer bound, integer duals
    feasible for every pair of the pool, whose objective the bound is).

    HiGHS returns some optimal dual of the graph's LP, often one that many pairs left out
    violate (it is degenerate), so every round's pairs join; the tightest bound found is kept.
    Measured at 10,000 x 3,000: one round gave a bound 28% above the optimum (74,506 pairs then
    joined), five rounds 0.018%. Rounds after the first start from the previous basis and are
    fast, except the one that takes the first round's many pairs.
    """
    rounds = max(1, min(LP_ROUNDS, max_rounds))
    best: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None
    program = _LinearProgram(layout, graph.rows, graph.cols, graph.profit + bonus[graph.rows])
    for _ in range(rounds):
        gross = graph.profit + bonus[graph.rows]
        s, y = program.solve()
        u, v = _exact_duals(layout, graph.rows, graph.cols, gross, y)
        extra, bound, u = price_out(profits, u, v, layout.regular_capacity(), graph, bonus)
        if best is None or bound < best[0]:
            best = (int(bound), (u, v))
        if extra is None:
            break
        graph = with_edges(graph, *extra)
        program.add(extra[0], extra[1], extra[2] + bonus[extra[0]])
    assert best is not None
    sides = np.where(s > 0.5, AS_MENTOR, AS_MENTEE).astype(np.int8)
    return graph, sides, best[0], best[1]


def _lagrangian(
    profits: Profits, layout: _Layout, graph: Graph, bonus: np.ndarray, steps: int
) -> tuple[Graph, np.ndarray, int, tuple[np.ndarray, np.ndarray]]:
    """The bound of large pools, `_relaxation`'s result without its LP: a Lagrangian relaxation.

    "Mentee or mentor, not both", ``cap_b * mentee_b + mentor_load_b <= cap_b``, is moved into
    the objective with a multiplier ``mu_b >= 0`` per `both` member: each of its pairs as a mentee
    costs ``cap_b * mu_b``, each as a mentor ``mu_b``, and ``sum(cap_b * mu_b)`` is added back.
    What is left is a b-matching (every `both` member a row and a column, never with itself),
    solved by the min-cost flow on the graph. Its duals, shifted back by the penalties, are
    duals of the LP (``u_b`` raised to ``cap_b * v_b``); priced over the whole pool they bound
    every matching of every side choice, at least as tightly as the Lagrangian value itself.

    mu starts from the prices of the relaxation (mu = 0: each member on both sides at once) and
    follows subgradient steps, Polyak's length toward the best side choice seen (each step's
    solution with every `both` member cut back to the role worth more), shrinking geometrically.
    The whole pool is priced every PRICE_EVERY steps and at the last; the lowest bound is kept.
    A fixed number of steps, so the result never depends on the machine's speed.
    """
    capb = layout.both_cap
    mu = np.zeros(len(layout.both_rows), np.int64)
    best: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None
    target, sides = -1, np.full(len(mu), AS_MENTEE, np.int8)
    price_now = False
    for step in range(steps):
        sub = _Penalised(layout, graph, bonus, mu)
        side = sub.sides()
        priced = price_now or step % PRICE_EVERY == PRICE_EVERY - 1 or step == steps - 1
        price_now, extra = False, None
        if priced:
            u, v = sub.duals()
            extra, _, u = price_out(profits, u, v, layout.capacity, graph, bonus)
            u[layout.both_rows] = np.maximum(u[layout.both_rows], capb * v[layout.both_cols])
            bound = _dual_objective(layout, u, v)
            if best is None or bound < best[0]:
                best = (bound, (u, v))
            if extra is not None:
                graph = with_edges(graph, *extra)
        found = sub.repaired(side)
        if found > target:
            target, sides = found, side
        if step == 0:  # the relaxation's own prices: what each role of a member is worth
            u, v = sub.duals()
            mu = np.minimum(v[layout.both_cols], u[layout.both_rows] // np.maximum(capb, 1))
            continue
        g = sub.overuse()
        g = np.where((mu == 0) & (g < 0), 0, g)
        norm = float((g.astype(np.float64) ** 2).sum())
        if norm == 0:  # no `both` member on two sides: the next step would be the same
            if priced and extra is None:
                break
            price_now = True
            continue
        length = STEP_SHARE * 0.5 ** (step // HALVING) * max(sub.value - target, 1) / norm
        mu = np.maximum(0, mu + np.rint(length * g).astype(np.int64))
    assert best is not None  # the last step is always priced
    return graph, sides, best[0], best[1]


def _dual_objective(layout: _Layout, u: np.ndarray, v: np.ndarray) -> int:
    cap = layout.regular_capacity()
    return int(u.sum()) + int((np.where(cap > 0, v, 0) * cap).sum())


class _Penalised:
    """The Lagrangian subproblem at multipliers mu, solved on the graph (see `_lagrangian`)."""

    def __init__(self, layout: _Layout, graph: Graph, bonus: np.ndarray, mu: np.ndarray) -> None:
        self.layout, self.mu = layout, mu
        nr, m = layout.nr, layout.m
        self.row_cost = np.zeros(nr, np.int64)
        self.row_cost[layout.both_rows] = layout.both_cap * mu
        self.col_cost = np.zeros(m, np.int64)
        self.col_cost[layout.both_cols] = mu
        gross = graph.profit + bonus[graph.rows]
        w = gross - self.row_cost[graph.rows] - self.col_cost[graph.cols]
        keep = w > 0
        self.rows, self.cols, self.w = graph.rows[keep], graph.cols[keep], w[keep]
        self.row_col, self.row_prof = min_cost_flow_on(
            nr, m, self.rows, self.cols, self.w, layout.capacity
        )
        self.value = int(self.row_prof.sum()) + int((layout.both_cap * mu).sum())
        matched = self.row_col >= 0
        self.gross = np.where(
            matched, self.row_prof + self.row_cost + self.col_cost[np.maximum(self.row_col, 0)], 0
        )

    def duals(self) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) for the unpenalised profits: feasible on the graph, v >= 0."""
        layout = self.layout
        v = prices(
            layout.nr,
            layout.m,
            self.rows,
            self.cols,
            self.w,
            self.row_col,
            self.row_prof,
            layout.capacity,
        )
        u = np.where(self.row_col >= 0, self.row_prof - v[np.maximum(self.row_col, 0)], 0)
        return u + self.row_cost, v + self.col_cost

    def sides(self) -> np.ndarray:
        """Per `both` member, the role that holds more of its value (mentee on a tie)."""
        matched = self.row_col >= 0
        as_mentor = np.bincount(
            self.row_col[matched], weights=self.gross[matched], minlength=self.layout.m
        )[self.layout.both_cols]
        as_mentee = self.gross[self.layout.both_rows]
        return np.where(as_mentor > as_mentee, AS_MENTOR, AS_MENTEE).astype(np.int8)

    def repaired(self, side: np.ndarray) -> int:
        """The solution's worth once each `both` member keeps only its side's pairs."""
        cap, closed = _restrict(self.layout, side)
        keep = (self.row_col >= 0) & ~closed & (cap[np.maximum(self.row_col, 0)] > 0)
        return int(self.gross[keep].sum())

    def overuse(self) -> np.ndarray:
        """The subgradient: ``cap_b * mentee_b + mentor_load_b - cap_b`` per `both` member."""
        layout = self.layout
        load = np.bincount(self.row_col[self.row_col >= 0], minlength=layout.m)
        mentee = (self.row_col[layout.both_rows] >= 0).astype(np.int64)
        return layout.both_cap * mentee + load[layout.both_cols] - layout.both_cap


class _LinearProgram:
    """The LP on a growing graph, kept in one HiGHS instance: pairs that join are new columns,
    and each solve starts from the previous basis (scipy's linprog always starts cold).

    HiGHS is the copy scipy ships (`scipy.optimize._highspy._core`, private: scipy is pinned by
    the lock file; the separate `highspy` wheel clashes with it in one process).
    """

    def __init__(
        self, layout: _Layout, rows: np.ndarray, cols: np.ndarray, gross: np.ndarray
    ) -> None:
        highspy = _highs()
        self.layout, self.edges = layout, len(rows)
        nb = len(layout.both_rows)
        matrix = layout.matrix(rows, cols).tocsc()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
        lp.col_cost_ = np.concatenate([gross.astype(np.float64), np.zeros(nb)])
        lp.col_lower_ = np.zeros(matrix.shape[1])
        lp.col_upper_ = np.ones(matrix.shape[1])
        lp.row_lower_ = np.full(matrix.shape[0], -highspy.kHighsInf)
        lp.row_upper_ = layout.limits()
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        self.highs = highspy._Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)

    def add(self, rows: np.ndarray, cols: np.ndarray, gross: np.ndarray) -> None:
        n = len(rows)
        index = np.stack([rows, self.layout.nr + cols], axis=1).ravel().astype(np.int32)
        self.highs.addCols(
            n,
            gross.astype(np.float64),
            np.zeros(n),
            np.ones(n),
            2 * n,
            np.arange(0, 2 * n, 2, dtype=np.int32),
            index,
            np.ones(2 * n),
        )

    def solve(self) -> tuple[np.ndarray, np.ndarray]:
        """(side values s, duals of the row and column constraints, >= 0)."""
        highspy = _highs()
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise MatchingError("the side-choice LP did not solve")
        found = self.highs.getSolution()
        nb = len(self.layout.both_rows)
        s = np.asarray(found.col_value)[self.edges : self.edges + nb]
        y = np.asarray(found.row_dual)
        return s, (y if y.sum() >= 0 else -y)  # a maximum: HiGHS may report duals negated


def _highs() -> Any:  # the module
    from scipy.optimize._highspy import _core

    return _core


def _exact_duals(
    layout: _Layout,
    rows: np.ndarray,
    cols: np.ndarray,
    gross: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Integer duals, exactly feasible on the graph: column prices rounded, row prices raised
    to cover every graph pair, and a `both` member's row price at least cap * its column price."""
    v = np.maximum(0, np.rint(y[layout.nr :])).astype(np.int64)
    u = np.zeros(layout.nr, np.int64)
    np.maximum.at(u, rows, gross - v[cols])
    u[layout.both_rows] = np.maximum(u[layout.both_rows], layout.both_cap * v[layout.both_cols])
    return u, v


def _restrict(layout: _Layout, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cap = layout.capacity.copy()
    cap[layout.both_cols[side == AS_MENTEE]] = 0
    closed = np.zeros(layout.nr, dtype=bool)
    closed[layout.both_rows[side == AS_MENTOR]] = True
    return cap, closed


def _fixed(
    scorer: Scorer, layout: _Layout, graph: Graph, side: np.ndarray, kwargs: dict
) -> tuple[BipartiteSolution, np.ndarray]:
    """The exact b-matching (over the whole pool) for one side choice."""
    cap, closed = _restrict(layout, side)
    sol = solve_bipartite(scorer, cap, graph=graph, closed_rows=closed, **kwargs)
    return sol, side


def _mip_fits(graph: Graph, bound: int) -> bool:
    return len(graph.rows) <= MIP_EDGES and bound < FLOAT_EXACT


def _integer_program(
    scorer: Scorer,
    layout: _Layout,
    graph: Graph,
    bonus: np.ndarray,
    bound: int,
    duals: tuple[np.ndarray, np.ndarray],
    profits: Profits,
    best: tuple[BipartiteSolution, np.ndarray],
    kwargs: dict,
) -> tuple[tuple[BipartiteSolution, np.ndarray], Graph, bool]:
    """Step 3: the integer program on the graph, then pairs that could still help join it."""
    u, v = duals
    for _ in range(MIP_ROUNDS):
        side, optimal = _solve_mip(layout, graph, bonus)
        if side is not None:
            found = _fixed(scorer, layout, graph, side, kwargs)
            # at equal worth the certified one: the first choice may come unpriced (Lagrangian)
            if (found[0].gross_total, found[0].certified) > (
                best[0].gross_total,
                best[0].certified,
            ):
                best = found
        if best[0].gross_total >= bound:
            return best, graph, True
        # a pair left out can only help if bound + its reduced profit beats the best found
        slack = bound - best[0].gross_total
        extra, _, _ = price_out(profits, u - slack, v, layout.regular_capacity(), graph, bonus)
        extra = _not_in(graph, extra)
        if extra is None:  # no pair outside the graph can help: the graph's optimum is the optimum
            return best, graph, optimal and best[0].certified
        graph = with_edges(graph, *extra)
    return best, graph, False


def _not_in(
    graph: Graph, extra: tuple[np.ndarray, np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if extra is None:
        return None
    m = int(max(graph.cols.max(initial=0), extra[1].max(initial=0))) + 1
    # with a lowered row price even an infeasible pair (profit 0) shows up: never a candidate
    new = ~np.isin(extra[0] * m + extra[1], graph.rows * m + graph.cols) & (extra[2] > 0)
    if not new.any():
        return None
    return extra[0][new], extra[1][new], extra[2][new]


def _solve_mip(layout: _Layout, graph: Graph, bonus: np.ndarray) -> tuple[np.ndarray | None, bool]:
    """(sides of the best integer solution on the graph or None, proven optimal on the graph)."""
    e, nb = len(graph.rows), len(layout.both_rows)
    gross = (graph.profit + bonus[graph.rows]).astype(np.float64)
    found = milp(
        -np.concatenate([gross, np.zeros(nb)]),
        constraints=LinearConstraint(
            layout.matrix(graph.rows, graph.cols), -np.inf, layout.limits()
        ),
        integrality=np.ones(e + nb),
        bounds=Bounds(0, 1),
        options={"node_limit": MIP_NODES, "mip_rel_gap": 0.0},
    )
    if found.x is None:
        return None, False
    side = np.where(found.x[e:] > 0.5, AS_MENTOR, AS_MENTEE).astype(np.int8)
    return side, found.status == 0
