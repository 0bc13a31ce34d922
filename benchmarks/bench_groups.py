"""Group models: CP-SAT with a Lagrangian bound, beside today's heuristic on the same pools.

Run: .venv/bin/python -m benchmarks.bench_groups [--quick]
Pools are seeded synthetic members (mentorflow.matching.synthetic, six criteria, a common
language and a different-employer rule). For each pool: the new solver through
`mentorflow.matching.solve` (pool, scores, heuristic start, CP-SAT, bound, explanations), and
today's heuristic on the same pool (group: exact solve without the minimum, then closing small
groups, gap to that relaxation; peer: greedy groups and swaps, gap to the best-partners bound).
Time is wall clock, and for the new solver also this process's CPU time (less sensitive to
other work on a shared machine; the scoring threads can make it exceed the wall clock). The load
average is printed before and after each case; figures vary from run to run.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mentorflow.spec.model import ModelType

# (label, model, mentees or people, mentors, lo, hi, seconds target, gap target; 0: exact)
CASES: list[tuple[str, ModelType, int, int, int, int, float, float]] = [
    ("group 300 x 75, 3-6", "group", 300, 75, 3, 6, 5.0, 0.0),
    ("group 10,000 x 2,000, 3-6", "group", 10_000, 2_000, 3, 6, 30.0, 0.005),
    ("peer 30, 3-4", "peer", 30, 0, 3, 4, 5.0, 0.0),
    ("peer 300, 3-4", "peer", 300, 0, 3, 4, 10.0, 0.02),
    ("peer 5,000, 3-4", "peer", 5_000, 0, 3, 4, 60.0, -0.5),  # -0.5: half of today's gap
]
QUICK = {"group 10,000 x 2,000, 3-6", "peer 5,000, 3-4"}


def _today_group(records: list[dict], lo: int, hi: int) -> dict[str, Any]:
    from mentorflow.matching.bipartite import Profits, solve_bipartite
    from mentorflow.matching.engine import _close_small_groups, split_sides
    from mentorflow.matching.pool import build_pool
    from mentorflow.matching.scoring import SCALE, Scorer
    from mentorflow.matching.synthetic import synthetic_settings

    s = synthetic_settings("group", group_min=lo, group_max=hi)
    began = time.perf_counter()
    pool = build_pool(records, s)
    rows, cols = split_sides(pool)
    scorer = Scorer(pool, s, rows, cols)
    profits = Profits(scorer)
    cap = np.full(len(cols), hi, np.int64)
    kwargs = dict(candidates=s.candidates, max_rounds=s.max_pricing_rounds, profits=profits)
    relaxed = solve_bipartite(scorer, cap, **kwargs)  # type: ignore[arg-type]
    sol, _ = _close_small_groups(scorer, cap, relaxed, lo, kwargs)
    matched = sol.row_col >= 0
    total = float((sol.row_profit[matched] - 1).sum()) / SCALE
    upper = total + max(0, relaxed.bound - sol.total) / SCALE
    return {"seconds": time.perf_counter() - began, "total": total, "upper": upper}


def _today_peer(records: list[dict], lo: int, hi: int) -> dict[str, Any]:
    from mentorflow.matching.peer import heuristic_groups
    from mentorflow.matching.pool import build_pool
    from mentorflow.matching.scoring import SCALE, Scorer
    from mentorflow.matching.synthetic import synthetic_settings

    s = synthetic_settings("peer", group_min=lo, group_max=hi)
    began = time.perf_counter()
    pool = build_pool(records, s)
    everyone = np.arange(len(pool))
    scorer = Scorer(pool, s, everyone, everyone, symmetric=True)
    groups, bound = heuristic_groups(scorer, lo, hi)
    value = sum(v for _, v in groups)
    total = (value - sum(len(g) for g, _ in groups) / 2) / SCALE
    return {
        "seconds": time.perf_counter() - began,
        "total": total,
        "upper": total + max(0.0, bound - value) / SCALE,
    }


def _new(records: list[dict], model: ModelType, lo: int, hi: int) -> dict[str, Any]:
    from mentorflow.matching import build_pool, solve
    from mentorflow.matching.synthetic import synthetic_settings

    s = synthetic_settings(model, group_min=lo, group_max=hi)
    began, cpu = time.perf_counter(), time.process_time()
    result = solve(build_pool(records, s), s)
    return {
        "seconds": time.perf_counter() - began,
        "cpu": time.process_time() - cpu,
        "total": result.total_score,
        "upper": result.upper_bound,
        "certified": result.certified,
        "method": result.method,
    }


def _gap(r: dict[str, Any]) -> float:
    return max(0.0, (r["upper"] - r["total"]) / r["upper"]) if r["upper"] > 0 else 0.0


def run(
    label: str, model: ModelType, n: int, m: int, lo: int, hi: int, secs: float, gap: float
) -> bool:
    from mentorflow.matching.synthetic import synthetic_records

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    records = synthetic_records(n, m, seed=1, role="peer" if model == "peer" else None)
    today = (_today_group if model == "group" else _today_peer)(records, lo, hi)
    new = _new(records, model, lo, hi)
    g_new, g_old = _gap(new), _gap(today)
    if gap == 0.0:
        ok, goal = new["certified"] and new["seconds"] <= secs, f"exact in <= {secs:.0f} s"
    elif gap < 0:
        ok = g_new <= -gap * g_old and new["seconds"] <= secs
        goal = f"gap <= {-gap:.1f} x today's in <= {secs:.0f} s"
    else:
        ok, goal = (
            g_new <= gap and new["seconds"] <= secs,
            f"gap <= {100 * gap:.1f}% in <= {secs:.0f} s",
        )
    print(f"{label}: target {goal}: {'met' if ok else 'MISSED'}")
    print(
        f"  new    {new['seconds']:7.2f} s (cpu {new['cpu']:.2f} s)  score {new['total']:12.2f}"
        f"  bound {new['upper']:12.2f}  gap {100 * g_new:6.3f}%"
        f"  {'optimal' if new['certified'] else ''}"
    )
    print(
        f"  today  {today['seconds']:7.2f} s  score {today['total']:12.2f}  bound "
        f"{today['upper']:12.2f}  gap {100 * g_old:6.3f}%"
    )
    print(f"  method: {new['method']}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the two largest pools")
    parser.add_argument("--only", help="run the cases whose label contains this text")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        for case in CASES:
            if args.quick and case[0] in QUICK:
                continue
            if args.only and args.only not in case[0]:
                continue
            run(*case)


if __name__ == "__main__":
    main()
