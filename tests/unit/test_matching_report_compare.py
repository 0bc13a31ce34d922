"""The what-if comparison: all changed pairs, or the highest-scored few and how many more."""

from __future__ import annotations

from types import SimpleNamespace

from mentorflow.matching.report import compare


def _result(pairs: dict[tuple[str, str], float]) -> SimpleNamespace:
    matches = [SimpleNamespace(member_ids=ids, score=score) for ids, score in pairs.items()]
    return SimpleNamespace(matches=matches, total_score=sum(pairs.values()), unmatched=[])


def test_a_long_comparison_lists_the_biggest_changes_and_counts_the_rest() -> None:
    saved = {frozenset((f"a{i}", f"b{i}")): float(i) for i in range(30)}
    new = _result({(f"a{i}", f"c{i}"): float(i) + 0.5 for i in range(30)})
    full = compare(new, saved).splitlines()
    short = compare(new, saved, most=4).splitlines()
    assert len([line for line in full if line.startswith(("  + ", "  - "))]) == 60
    assert short[3:] == [
        "  + a29+c29 (29.50)",
        "  - a29+b29 (29.00)",
        "  + a28+c28 (28.50)",
        "  - a28+b28 (28.00)",
        "  ... and 56 more changed pairs",
    ]
    assert short[:3] == full[:3]  # the totals are the same either way


def test_a_short_comparison_is_listed_whole() -> None:
    saved = {frozenset(("a", "b")): 2.0}
    new = _result({("a", "c"): 3.0})
    assert compare(new, saved, most=10) == compare(new, saved)
