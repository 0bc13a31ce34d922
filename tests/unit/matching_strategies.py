"""Hypothesis strategies and brute-force optima shared by the matching tests."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from mentorflow.matching.pool import Pool
from mentorflow.matching.scoring import Scorer
from mentorflow.matching.settings import MatchingSettings, settings_for
from mentorflow.spec.model import Criterion, ModelType

GOALS = ["python", "data", "career", "speaking", "open source"]
TEAMS = ["a", "b", "c"]


@st.composite
def member(draw: Any, index: int, role: str) -> dict[str, Any]:
    return {
        "id": f"m_{ {'mentee': 'e', 'mentor': 't'}.get(role, 'p') }{index:03d}",
        "role": role,
        "capacity": draw(st.integers(1, 3)) if role in ("mentor", "both") else 1,
        "goals": draw(st.lists(st.sampled_from(GOALS), max_size=3, unique=True)),
        "offers": draw(st.lists(st.sampled_from(GOALS), max_size=3, unique=True)),
        "seeks": draw(st.lists(st.sampled_from(GOALS), max_size=2, unique=True)),
        "utc_offset": draw(st.sampled_from([0, 1, 2, 5, -5])),
        "availability_utc": draw(st.lists(st.integers(0, 167), max_size=6, unique=True)),
        "languages": draw(st.lists(st.sampled_from(["de", "en"]), min_size=1, unique=True)),
        "employer": draw(st.sampled_from(TEAMS)),
        "seniority": draw(st.integers(0, 6)),
    }


@st.composite
def bipartite_records(draw: Any, max_mentees: int = 5, max_mentors: int = 3) -> list[dict]:
    n = draw(st.integers(1, max_mentees))
    m = draw(st.integers(1, max_mentors))
    mentees = [draw(member(i, "mentee")) for i in range(n)]
    mentors = [draw(member(i, "mentor")) for i in range(m)]
    return mentees + mentors


@st.composite
def peer_records(draw: Any, max_people: int = 8) -> list[dict]:
    n = draw(st.integers(2, max_people))
    return [draw(member(i, "peer")) for i in range(n)]


def settings(model: ModelType = "one_to_one", **changes: Any) -> MatchingSettings:
    criteria = (
        Criterion("overlap", 3, field="goals"),
        Criterion("coverage", 2, mentor_field="offers", mentee_field="seeks"),
        Criterion("distance", 1, field="utc_offset", scale=8),
        Criterion("availability", 1, field="availability", target_hours=2),
        Criterion("seniority", 1, field="seniority", min_gap=1),
        Criterion("required_common", 0, field="languages"),
    )
    base: dict[str, Any] = dict(criteria=criteria, different=("employer",), seed=3)
    return settings_for(model, **{**base, **changes})


def profit_matrix(scorer: Scorer) -> np.ndarray:
    return np.vstack([scorer.profit(p) for p in scorer.chunks()]).astype(np.int64)


def brute_bipartite(P: np.ndarray, cap: np.ndarray, objective: str) -> tuple[int, int]:
    """(matched, total profit) of the best assignment, by trying every one."""
    n, m = P.shape
    best, best_key = (0, 0), (0, 0)
    for choice in itertools.product(range(-1, m), repeat=n):
        if any(c >= 0 and P[i, c] <= 0 for i, c in enumerate(choice)):
            continue
        if (np.bincount([c for c in choice if c >= 0], minlength=m) > cap).any():
            continue
        count = sum(c >= 0 for c in choice)
        total = sum(int(P[i, c]) for i, c in enumerate(choice) if c >= 0)
        key = (count, total) if objective == "max_matched" else (total, count)
        if key > best_key:
            best, best_key = (count, total), key
    return best


def brute_pairs(P: np.ndarray) -> int:
    """The best total profit of a matching on the symmetric matrix P (recursion over people)."""
    n = len(P)

    def rec(free: tuple[int, ...]) -> int:
        if len(free) < 2:
            return 0
        first, rest = free[0], free[1:]
        best = rec(rest)
        for k, other in enumerate(rest):
            if P[first, other] > 0:
                best = max(best, int(P[first, other]) + rec(rest[:k] + rest[k + 1 :]))
        return best

    return rec(tuple(range(n)))


def ids_by_side(pool: Pool, code: int) -> set[str]:
    return {pool.ids[i] for i in np.flatnonzero(pool.roles == code)}
