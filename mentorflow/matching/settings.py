"""What the matching core needs from a spec: a small frozen settings object, built once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from mentorflow.spec.model import CriterionKind, ModelType

Objective = Literal["max_score", "max_matched"]
# The spec's vocabulary is the one list; matching reads it, never restates it.
KINDS: tuple[str, ...] = get_args(CriterionKind)


@dataclass(frozen=True)
class Criterion:
    """One scoring criterion; `required_common` is a hard rule and carries no weight."""

    kind: str
    weight: float = 1.0
    field: str | None = None
    mentor_field: str | None = None  # coverage: what mentors offer
    mentee_field: str | None = None  # coverage: what mentees seek
    scale: float | None = None  # distance: difference that scores 0; seniority: levels to 0
    target_hours: float | None = None  # availability: shared hours a week that score 1
    min_gap: float | None = None  # seniority: levels the mentor must be above the mentee

    @property
    def name(self) -> str:
        """A stable key for the criterion in explanations and weight files."""
        if self.kind == "coverage":
            return f"coverage:{self.mentor_field}>{self.mentee_field}"
        return f"{self.kind}:{self.field}"

    @property
    def is_hard(self) -> bool:
        return self.kind == "required_common"


@dataclass(frozen=True)
class MatchingSettings:
    """Model, objective, criteria and hard rules of one program's matching."""

    model: ModelType = "one_to_one"
    objective: Objective = "max_score"
    criteria: tuple[Criterion, ...] = ()
    different: tuple[str, ...] = ()  # hard: never the same value in these fields
    no_repeat_pairs: bool = True
    seed: int = 0
    group_min: int = 1  # group: mentees per mentor; peer: people per group
    group_max: int = 1
    default_capacity: int = 1
    capacity_field: str = "capacity"
    candidates: int = 6  # top-K per person in the candidate graph (exactness is certified)
    max_pricing_rounds: int = 6  # column-generation rounds before the proven gap is reported
    rounds: int = 1  # rotational

    @property
    def peer_group_size(self) -> int:
        return max(2, self.group_max) if self.model in ("peer", "rotational") else 2

    def with_weights(self, weights: dict[str, float]) -> MatchingSettings:
        """The same settings with some criteria re-weighted (what-if runs); unknown names raise."""
        names = {c.name for c in self.criteria} | {c.field for c in self.criteria if c.field}
        unknown = sorted(set(weights) - names)
        if unknown:
            raise KeyError(f"unknown criteria in weights: {', '.join(unknown)}")
        criteria = tuple(
            replace(c, weight=float(weights.get(c.name, weights.get(c.field or "", c.weight))))
            for c in self.criteria
        )
        return replace(self, criteria=criteria)


def settings_from_spec(spec: Any, *, candidates: int = 6) -> MatchingSettings:
    """Adapter from `mentorflow.spec.model.ProgramSpec` to the core's own settings."""
    m, model = spec.matching, spec.model
    criteria = tuple(
        Criterion(
            kind=c.kind,
            weight=float(c.weight),
            field=c.field,
            mentor_field=c.mentor_field,
            mentee_field=c.mentee_field,
            scale=c.scale,
            target_hours=c.target_hours,
            min_gap=c.min_gap,
        )
        for c in m.criteria
    )
    size = model.group_size
    if model.type == "group":
        gmin, gmax = (size.min, size.max) if size else (3, 6)
    elif model.type == "peer":
        gmin, gmax = (size.min, size.max) if size else (2, 2)
    else:
        gmin = gmax = 1
    return MatchingSettings(
        model=model.type,
        objective=m.objective,
        criteria=criteria,
        different=tuple(m.hard_rules.different),
        no_repeat_pairs=bool(m.hard_rules.no_repeat_pairs) or model.type == "rotational",
        seed=int(m.seed),
        group_min=gmin,
        group_max=gmax,
        default_capacity=int(m.capacity.default),
        capacity_field=m.capacity.field,
        candidates=candidates,
        rounds=max(1, len(model.rounds)),
    )


DEFAULT_SCALE = {"distance": 8.0, "seniority": 4.0}
DEFAULT_TARGET_HOURS = 4.0


def criterion_scale(c: Criterion) -> float:
    return float(c.scale or DEFAULT_SCALE.get(c.kind, 1.0))


__all__ = ["KINDS", "Criterion", "MatchingSettings", "criterion_scale", "settings_from_spec"]
