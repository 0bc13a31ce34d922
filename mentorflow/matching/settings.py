"""What the matching core reads: the typed spec's `model` and `matching`, plus solver options."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

from mentorflow.spec.model import (
    Capacity,
    Criterion,
    CriterionKind,
    GroupSize,
    HardRules,
    Matching,
    Model,
    ModelType,
    ProgramSpec,
)

Objective = Literal["max_score", "max_matched"]
# The spec's vocabulary is the one list; matching reads it, never restates it.
KINDS: tuple[str, ...] = get_args(CriterionKind)


@dataclass(frozen=True)
class MatchingSettings:
    """A view of one program's typed `model` and `matching`, plus options only the solver has.

    Nothing of the spec is copied: every spec value is read through a property, so a new spec
    option is added in the spec alone.
    """

    shape: Model  # the spec's `model` (the name `model` is its type, as the solvers read it)
    matching: Matching
    candidates: int = 6  # top-K per person in the candidate graph (exactness is certified)
    max_pricing_rounds: int = 6  # column-generation rounds before the proven gap is reported

    @property
    def model(self) -> ModelType:
        return self.shape.type

    @property
    def objective(self) -> Objective:
        return self.matching.objective

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        return self.matching.criteria

    @property
    def different(self) -> tuple[str, ...]:
        """Hard: never the same value in these fields."""
        return self.matching.hard_rules.different

    @property
    def no_repeat_pairs(self) -> bool:
        return self.matching.hard_rules.no_repeat_pairs or self.model == "rotational"

    @property
    def seed(self) -> int:
        return self.matching.seed

    @property
    def default_capacity(self) -> int:
        return self.matching.capacity.default

    @property
    def capacity_field(self) -> str:
        return self.matching.capacity.field

    @property
    def group_min(self) -> int:
        """Group: mentees per mentor; peer: people per group; otherwise 1."""
        return self._group_size[0]

    @property
    def group_max(self) -> int:
        return self._group_size[1]

    @property
    def _group_size(self) -> tuple[int, int]:
        # A loaded spec has a size exactly for `group` and `peer` (defaults filled in).
        size = self.shape.group_size
        return (size.min, size.max) if size else (1, 1)

    @property
    def peer_group_size(self) -> int:
        return max(2, self.group_max) if self.model in ("peer", "rotational") else 2

    @property
    def rounds(self) -> int:
        """Rotational: how many rounds the cycle has (at least one)."""
        return max(1, self.shape.round_count)

    def with_weights(self, weights: dict[str, float]) -> MatchingSettings:
        """The same settings with some criteria re-weighted (what-if runs); unknown names raise."""
        names = {criterion_name(c) for c in self.criteria}
        names |= {c.field for c in self.criteria if c.field}
        unknown = sorted(set(weights) - names)
        if unknown:
            raise KeyError(f"unknown criteria in weights: {', '.join(unknown)}")
        criteria = tuple(
            replace(
                c,
                weight=float(weights.get(criterion_name(c), weights.get(c.field or "", c.weight))),
            )
            for c in self.criteria
        )
        return replace(self, matching=replace(self.matching, criteria=criteria))

    def with_no_repeat_pairs(self) -> MatchingSettings:
        """The same settings with earlier pairs never repeated (rotational rounds)."""
        rules = replace(self.matching.hard_rules, no_repeat_pairs=True)
        return replace(self, matching=replace(self.matching, hard_rules=rules))


def settings_from_spec(spec: ProgramSpec, *, candidates: int = 6) -> MatchingSettings:
    """The matching view of a loaded spec."""
    return MatchingSettings(shape=spec.model, matching=spec.matching, candidates=candidates)


def settings_for(
    model: ModelType = "one_to_one",
    *,
    criteria: tuple[Criterion, ...] = (),
    objective: Objective = "max_score",
    different: tuple[str, ...] = (),
    no_repeat_pairs: bool = True,
    seed: int = 0,
    group_min: int = 1,
    group_max: int = 1,
    default_capacity: int = 1,
    capacity_field: str = "capacity",
    candidates: int = 6,
    max_pricing_rounds: int = 6,
) -> MatchingSettings:
    """Settings written in Python rather than YAML (tests, benchmarks, synthetic pools).

    It builds the typed spec parts, so what it returns reads exactly like a loaded spec.
    """
    size = None if (group_min, group_max) == (1, 1) else GroupSize(group_min, group_max)
    shape = Model(type=model, group_size=size, round_length=None, rounds=())
    matching = Matching(
        objective=objective,
        approval="organizer",
        capacity=Capacity(capacity_field, default_capacity),
        seed=seed,
        criteria=criteria,
        hard_rules=HardRules(different, no_repeat_pairs),
    )
    return MatchingSettings(shape, matching, candidates, max_pricing_rounds)


def criterion_name(c: Criterion) -> str:
    """A stable key for the criterion in explanations and weight files."""
    if c.kind == "coverage":
        return f"coverage:{c.mentor_field}>{c.mentee_field}"
    return f"{c.kind}:{c.field}"


# Criteria written in Python may leave their kind's number unset; a loaded spec never does.
DEFAULT_SCALE = {"distance": 8.0, "seniority": 4.0}
DEFAULT_TARGET_HOURS = 4.0


def criterion_scale(c: Criterion) -> float:
    return float(c.scale or DEFAULT_SCALE.get(c.kind, 1.0))


__all__ = [
    "KINDS",
    "MatchingSettings",
    "criterion_name",
    "criterion_scale",
    "settings_for",
    "settings_from_spec",
]
