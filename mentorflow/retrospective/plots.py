"""The report's plots as PNG bytes (matplotlib, Agg: no screen), from the figures alone."""

from __future__ import annotations

import base64
import io
from typing import Any


def _figure():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure  # no pyplot: no global state between reports

    return Figure(figsize=(6.4, 3.2), dpi=100, layout="constrained")


def _png(fig: Any) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def funnel(figures: dict[str, Any]) -> bytes:
    """Applied, enrolled, matched, active at mid-point and at the end: one bar each."""
    p = figures["participation"]
    labels = ["applied", "enrolled", "matched", "active mid", "active end"]
    values = [
        p["applied"],
        p["enrolled"],
        p["matched"]["n"],
        p["active_mid"]["n"],
        p["active_end"]["n"],
    ]
    fig = _figure()
    ax = fig.subplots()
    bars = ax.bar(labels, values, color="#3b6ea8")
    ax.bar_label(bars, labels=[str(v) for v in values])
    ax.set_ylabel("members")
    ax.set_title("Participation")
    return _png(fig)


def outcomes(figures: dict[str, Any]) -> bytes:
    """Pairs that reached closure, ended early, changed round, are still open."""
    r = figures["retention"]
    labels = ["reached closure", "ended early", "round change", "still open"]
    values = [r["reached_closure"]["n"], r["ended_early"]["n"], r["round_changes"], r["still_open"]]
    fig = _figure()
    ax = fig.subplots()
    bars = ax.barh(labels, values, color=["#2e8b57", "#c0392b", "#7f8c8d", "#f39c12"])
    ax.bar_label(bars, labels=[str(v) for v in values])
    ax.invert_yaxis()
    ax.set_xlabel("pairs")
    ax.set_title("How pairs ended")
    return _png(fig)


def pulse(figures: dict[str, Any]) -> bytes | None:
    """The pulse score's median per occurrence with its interquartile range; None without data."""
    points = [p for p in figures["pulse"] if p["score"]["n"]]
    if not points:
        return None
    fig = _figure()
    ax = fig.subplots()
    for survey in sorted({p["survey"] for p in points}):
        mine = [p for p in points if p["survey"] == survey]
        xs = [p["occurrence"] for p in mine]
        med = [p["score"]["median"] for p in mine]
        low = [p["score"]["median"] - p["score"]["q1"] for p in mine]
        high = [p["score"]["q3"] - p["score"]["median"] for p in mine]
        ax.errorbar(xs, med, yerr=[low, high], marker="o", capsize=4, label=survey)
        for x, y, p in zip(xs, med, mine, strict=True):
            ax.annotate(f"n={p['score']['n']}", (x, y), textcoords="offset points", xytext=(6, 6))
    ax.set_xlabel("pulse number")
    ax.set_ylabel("median score (IQR)")
    ax.set_xticks(sorted({p["occurrence"] for p in points}))
    ax.legend()
    ax.set_title("Pulse over the cycle")
    return _png(fig)


def changes(figures: dict[str, Any]) -> bytes | None:
    """Median change before -> after per compare question (all roles), with its IQR."""
    rows = [s for s in figures["satisfaction"] if s["role"] == "all" and s["change"]["n"]]
    if not rows:
        return None
    fig = _figure()
    ax = fig.subplots()
    names = [f"{s['question']} (n={s['change']['n']})" for s in rows]
    med = [s["change"]["median"] for s in rows]
    low = [s["change"]["median"] - s["change"]["q1"] for s in rows]
    high = [s["change"]["q3"] - s["change"]["median"] for s in rows]
    ax.barh(names, med, xerr=[low, high], capsize=4, color="#8e44ad")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("median change after - before (IQR)")
    ax.set_title("Before and after")
    return _png(fig)


def across_cycles(rows: list[dict[str, Any]]) -> bytes | None:
    """Enrolled and reached closure per cycle of the program; None with a single cycle."""
    if len(rows) < 2:
        return None
    fig = _figure()
    ax = fig.subplots()
    labels = [r["cycle"] for r in rows]
    ax.plot(labels, [r["enrolled"] for r in rows], marker="o", label="enrolled")
    ax.plot(labels, [r["matched"]["n"] for r in rows], marker="o", label="matched")
    ax.plot(labels, [r["reached_closure"]["n"] for r in rows], marker="o", label="pairs closed")
    ax.legend()
    ax.set_title("Across cycles")
    return _png(fig)
