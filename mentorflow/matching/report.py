"""What the organizer sees of a proposal: a summary, and a what-if comparison with the last one."""

from __future__ import annotations

from collections import Counter

import numpy as np

from mentorflow.matching.result import REASONS, MatchResult


def summary_markdown(result: MatchResult, title: str = "Matching proposal") -> str:
    """Matched, unmatched by reason, score distribution, capacity use (member ids only)."""
    scores = np.array([m.score for m in result.matches]) if result.matches else np.zeros(1)
    used = sum(u for u, _ in result.capacity.values())
    places = sum(c for _, c in result.capacity.values())
    reasons = Counter(u.reason for u in result.unmatched)
    quality = (
        "optimal (certified)"
        if result.certified
        else f"within {100 * result.gap:.3f}% of the optimum (proven bound {result.upper_bound})"
    )
    lines = [
        f"## {title} (round {result.round})",
        "",
        f"- model `{result.model}`, objective `{result.objective}`: {quality}",
        f"- method: {result.method}",
        f"- matches: **{len(result.matches)}**, people matched: **{len(result.matched_ids)}**, "
        f"unmatched: **{len(result.unmatched)}**",
        f"- total score {result.total_score:.2f}; per match min {scores.min():.2f}, "
        f"median {np.median(scores):.2f}, max {scores.max():.2f}",
    ]
    if places:
        lines.append(f"- mentor places used: {used} of {places} ({100 * used / places:.0f}%)")
    if result.stats.get("priority"):
        lines.append(
            f"- waitlisted in earlier cycles: {result.stats['priority_matched']} of "
            f"{result.stats['priority']} matched (they come first)"
        )
    if reasons:
        lines += ["", "| unmatched because | people |", "|---|---|"]
        lines += [f"| {REASONS[r][0]} | {n} |" for r, n in sorted(reasons.items())]
    return "\n".join(lines)


def unmatched_rows(result: MatchResult) -> list[dict[str, str]]:
    return [
        {"member": u.member_id, "side": u.side, "reason": u.text("en")} for u in result.unmatched
    ]


def compare(new: MatchResult, saved: dict[frozenset[str], float], most: int | None = None) -> str:
    """A what-if run against the last saved matches: totals, unmatched, changed pairs.

    With `most`, only that many changed pairs are listed, the highest-scored first, and a last
    line says how many more there are.
    """
    now = {frozenset(m.member_ids): m.score for m in new.matches}
    kept = set(now) & set(saved)
    gone, came = sorted(set(saved) - kept, key=sorted), sorted(set(now) - kept, key=sorted)
    before = sum(saved.values())
    lines = [
        f"total score: {before:.2f} saved -> {new.total_score:.2f} now "
        f"({new.total_score - before:+.2f})",
        f"matches: {len(saved)} saved -> {len(now)} now; unchanged {len(kept)}",
        f"unmatched now: {len(new.unmatched)}",
    ]
    changes = [(saved[k], f"  - {'+'.join(sorted(k))} ({saved[k]:.2f})") for k in gone]
    changes += [(now[k], f"  + {'+'.join(sorted(k))} ({now[k]:.2f})") for k in came]
    if most is not None and len(changes) > most:
        shown = sorted(changes, key=lambda change: -change[0])[:most]
        lines += [line for _, line in shown]
        lines.append(f"  ... and {len(changes) - most} more changed pairs")
    else:
        lines += [line for _, line in changes]
    return "\n".join(lines)
