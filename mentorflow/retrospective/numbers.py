"""Small numbers, reported honestly: counts beside shares, no share of fewer than 5, no empty tests.

Thresholds (the reasons are in docs/retrospective.md):
- MIN_SHARE = 5: below five people one person moves a share by 20 points or more, and a share
  of a handful can point at a person; we print "n<5" instead.
- MIN_PAIRED = 10 nonzero differences for the Wilcoxon signed-rank test: with fewer than 6 it
  cannot reach p < 0.05 at all, and below 10 one changed answer flips the verdict.
- MIN_CORRELATION = 10 pairs for a Spearman correlation, and only when both sides vary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MIN_SHARE = 5
MIN_PAIRED = 10
MIN_CORRELATION = 10


def share(count: int, of: int) -> dict[str, Any]:
    """`{n, of, pct}`; pct is None when `of` is below MIN_SHARE (shown as "n<5")."""
    pct = round(100 * count / of) if of >= MIN_SHARE else None
    return {"n": count, "of": of, "pct": pct}


def share_text(value: dict[str, Any]) -> str:
    """`12 of 40 (30%)`, `2 of 3 (n<5)`, `0 of 0`."""
    if not value["of"]:
        return f"{value['n']} of 0"
    pct = f"{value['pct']}%" if value["pct"] is not None else f"n<{MIN_SHARE}"
    return f"{value['n']} of {value['of']} ({pct})"


def spread(values: Sequence[float]) -> dict[str, Any]:
    """`{n, median, q1, q3}` (IQR by linear interpolation); None figures when empty."""
    if not values:
        return {"n": 0, "median": None, "q1": None, "q3": None}
    q1, median, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return {"n": len(values), "median": _r(median), "q1": _r(q1), "q3": _r(q3)}


def paired_test(differences: Sequence[float]) -> dict[str, Any] | None:
    """Wilcoxon signed-rank on after - before, or None below MIN_PAIRED nonzero differences."""
    nonzero = [d for d in differences if d != 0]
    if len(nonzero) < MIN_PAIRED:
        return None
    from scipy.stats import wilcoxon

    result = wilcoxon(nonzero)
    return {
        "test": "wilcoxon",
        "n": len(nonzero),
        "statistic": _r(result.statistic),
        "p": _p(result.pvalue),
    }


def correlation(xs: Sequence[float], ys: Sequence[float]) -> dict[str, Any]:
    """Spearman's rho with its count; rho None when too few pairs or one side never varies."""
    n = len(xs)
    if n < MIN_CORRELATION or len(set(xs)) < 2 or len(set(ys)) < 2:
        return {"n": n, "rho": None, "p": None}
    from scipy.stats import spearmanr

    result = spearmanr(xs, ys)
    return {"n": n, "rho": _r(result.statistic), "p": _p(result.pvalue)}


def _r(value: Any) -> float:
    return round(float(value), 3)


def _p(value: Any) -> float:
    return float(f"{float(value):.3g}")
