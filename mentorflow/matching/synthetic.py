"""Seeded synthetic member records for tests, benchmarks and demos (six criteria, hard rules)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mentorflow.matching.settings import MatchingSettings, settings_for
from mentorflow.spec.model import Criterion, ModelType

GOALS = tuple(f"goal-{i}" for i in range(30))
TOPICS = tuple(f"topic-{i}" for i in range(25))
CHANNELS = ("video", "chat", "in person")
LANGUAGES = ("en", "de", "fr", "es")


def synthetic_settings(model: ModelType = "one_to_one", **changes: Any) -> MatchingSettings:
    """The benchmark's spec: six weighted criteria, a common language and employer rule."""
    criteria = (
        Criterion("overlap", 3, field="goals"),
        Criterion("coverage", 4, mentor_field="offers", mentee_field="seeks"),
        Criterion("distance", 1, field="utc_offset", scale=8),
        Criterion("availability", 2, field="availability", target_hours=4),
        Criterion("same", 1, field="communication"),
        Criterion("seniority", 1, field="seniority", min_gap=1),
        Criterion("required_common", 0, field="languages"),
    )
    base: dict[str, Any] = dict(criteria=criteria, different=("employer",), seed=7)
    return settings_for(model, **{**base, **changes})


def _zipf_pick(rng: np.random.Generator, items: tuple[str, ...], k: int) -> list[str]:
    weights = 1 / np.arange(1, len(items) + 1) ** 0.8
    idx = rng.choice(len(items), size=min(k, len(items)), replace=False, p=weights / weights.sum())
    return [items[i] for i in sorted(idx)]


def synthetic_records(
    mentees: int,
    mentors: int,
    *,
    seed: int = 0,
    max_capacity: int = 5,
    role: str | None = None,
    both_share: float = 0.0,
) -> list[dict[str, Any]]:
    """`mentees` + `mentors` member records (role `peer` for everyone when `role="peer"`).

    `both_share` of them (drawn from a generator of their own, so the answers stay the same)
    get role `both`, keeping the answers and capacity of the side they were drawn for.
    """
    records = _records(mentees, mentors, seed, max_capacity, role)
    if both_share > 0:
        pick = np.random.default_rng([seed, 2]).random(len(records)) < both_share
        for record, both in zip(records, pick.tolist(), strict=True):
            if both:
                record["role"] = "both"
    return records


def _records(
    mentees: int, mentors: int, seed: int, max_capacity: int, role: str | None
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    records = []
    for i in range(mentees + mentors):
        is_mentor = i >= mentees
        offset = int(rng.choice([-5, 0, 1, 1, 1, 2, 2, 3, 5, 8]))
        start = int(rng.integers(16, 21)) - offset
        days = rng.choice(7, size=int(rng.integers(1, 4)), replace=False)
        hours = sorted({(int(d) * 24 + start + h) % 168 for d in days for h in range(2)})
        langs = ["en"] + ([str(rng.choice(LANGUAGES[1:]))] if rng.random() < 0.5 else [])
        if rng.random() < 0.1:
            langs = [str(rng.choice(LANGUAGES[1:]))]
        records.append(
            {
                "id": f"m_{'t' if is_mentor else 'e'}{i:07d}",
                "role": role or ("mentor" if is_mentor else "mentee"),
                "capacity": int(rng.integers(1, max_capacity + 1)) if is_mentor else 1,
                "goals": _zipf_pick(rng, GOALS, int(rng.integers(1, 5))),
                "offers": _zipf_pick(rng, TOPICS, int(rng.integers(2, 6))),
                "seeks": _zipf_pick(rng, TOPICS, int(rng.integers(1, 4))),
                "utc_offset": offset,
                "availability_utc": hours,
                "communication": str(rng.choice(CHANNELS)),
                "languages": langs,
                "employer": f"employer-{int(rng.integers(0, 150))}",
                "seniority": int(rng.integers(3, 9)) if is_mentor else int(rng.integers(0, 6)),
            }
        )
    return records
