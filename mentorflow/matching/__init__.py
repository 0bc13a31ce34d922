"""Matching: scores from the spec's criteria, exact solvers, explanations (no Prefect here)."""

from mentorflow.matching.engine import solve, solve_round, split_sides
from mentorflow.matching.pool import Pool, build_pool
from mentorflow.matching.result import Match, MatchResult, PairExplanation, Unmatched
from mentorflow.matching.settings import MatchingSettings, settings_for, settings_from_spec

__all__ = [
    "Match",
    "MatchResult",
    "MatchingSettings",
    "PairExplanation",
    "Pool",
    "Unmatched",
    "build_pool",
    "settings_for",
    "settings_from_spec",
    "solve",
    "solve_round",
    "split_sides",
]
