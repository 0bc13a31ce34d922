"""What a matching run proposes: matches with explanations, the unmatched with reasons, figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Why someone has no match, as the organizer's table and the waitlist mail say it.
REASONS = {
    "no_feasible_partner": (
        "no partner satisfies the hard rules",
        "keine Person erfüllt die festen Regeln",
    ),
    "capacity_exhausted": (
        "every suitable place is taken; no rearrangement could add this person",
        "alle passenden Plätze sind belegt; keine Umverteilung könnte diese Person aufnehmen",
    ),
    "lost_on_score": (
        "a rearrangement could include this person, but others fit better in total",
        "eine Umverteilung könnte diese Person aufnehmen, andere passen insgesamt aber besser",
    ),
    "group_below_minimum": (
        "the group could not reach its minimum size",
        "die Gruppe hätte ihre Mindestgröße nicht erreicht",
    ),
    "held_back": ("held back by the organizers", "vom Orga-Team zurückgestellt"),
    "address_bounced": (
        "the e-mail address bounced permanently: an introduction would never reach this person",
        "die E-Mail-Adresse ist dauerhaft unzustellbar: eine Vorstellung würde diese Person nie "
        "erreichen",
    ),
}


@dataclass(frozen=True)
class Contribution:
    """One criterion's part of a pair's score, with a sentence in English and German."""

    criterion: str
    kind: str
    weight: float
    score: float  # in [0, 1]
    detail_en: str
    detail_de: str

    @property
    def points(self) -> float:
        return self.weight * self.score

    def as_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "kind": self.kind,
            "weight": self.weight,
            "score": round(self.score, 4),
            "points": round(self.points, 4),
            "detail": {"en": self.detail_en, "de": self.detail_de},
        }


@dataclass(frozen=True)
class PairExplanation:
    """Why two people fit: every criterion's contribution."""

    a: str  # mentor (or first peer) id
    b: str  # mentee (or second peer) id
    contributions: tuple[Contribution, ...]

    @property
    def score(self) -> float:
        return sum(c.points for c in self.contributions)

    def text(self, language: str = "en") -> str:
        parts = [c.detail_de if language == "de" else c.detail_en for c in self.contributions]
        return "; ".join(p for p in parts if p)

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "score": round(self.score, 4),
            "contributions": [c.as_dict() for c in self.contributions],
            "text": {"en": self.text("en"), "de": self.text("de")},
        }


@dataclass(frozen=True)
class Match:
    """A pair or group: members with their side, the score and its explanation."""

    key: str  # "mentorId+menteeId" (groups: mentor first, then mentees; peers: sorted)
    members: tuple[tuple[str, str], ...]  # (member id, side: mentor | mentee | peer)
    score: float
    explanation: tuple[PairExplanation, ...]
    round: int = 1

    @property
    def member_ids(self) -> tuple[str, ...]:
        return tuple(member_id for member_id, _ in self.members)

    def text(self, language: str = "en") -> str:
        return " | ".join(e.text(language) for e in self.explanation)

    def explanation_json(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.explanation]


@dataclass(frozen=True)
class Unmatched:
    member_id: str
    side: str
    reason: str  # a key of REASONS

    def text(self, language: str = "en") -> str:
        en, de = REASONS[self.reason]
        return de if language == "de" else en


@dataclass(frozen=True)
class MatchResult:
    """A proposal: optimal for the declared objective, or within the reported proven gap."""

    model: str
    objective: str
    matches: tuple[Match, ...]
    unmatched: tuple[Unmatched, ...]
    total_score: float
    upper_bound: float  # proven: no matching of this pool scores more
    certified: bool  # True: total_score is the optimum (for the model's exact part)
    method: str  # how it was solved, for the summary
    capacity: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # mentor -> (used, cap)
    stats: Mapping[str, Any] = field(default_factory=dict)
    round: int = 1

    @property
    def gap(self) -> float:
        """Proven relative gap to the optimum (0.0 when certified)."""
        if self.upper_bound <= 0:
            return 0.0
        return max(0.0, (self.upper_bound - self.total_score) / self.upper_bound)

    @property
    def matched_ids(self) -> set[str]:
        return {member_id for m in self.matches for member_id in m.member_ids}

    def pairs(self) -> set[frozenset[str]]:
        """Every pair of people who meet in a match (groups: all pairs within the group)."""
        out: set[frozenset[str]] = set()
        for m in self.matches:
            ids = m.member_ids
            out.update(frozenset((a, b)) for i, a in enumerate(ids) for b in ids[i + 1 :])
        return out

    def table_rows(self) -> list[dict[str, Any]]:
        """One row per match for the organizer's review table: ids, score, explanation only."""
        return [
            {
                "match": m.key,
                "round": m.round,
                "members": ", ".join(f"{i} ({side})" for i, side in m.members),
                "score": round(m.score, 3),
                "explanation": m.text("en"),
            }
            for m in self.matches
        ]


def result_json(result: MatchResult) -> dict[str, Any]:
    """The whole result as JSON-ready data (`result_from_json` gives back an equal result)."""
    data = asdict(result)
    data["capacity"] = {k: list(v) for k, v in result.capacity.items()}
    data["stats"] = dict(result.stats)
    return data


def result_from_json(data: Mapping[str, Any]) -> MatchResult:
    """The result `result_json` wrote, with its tuples and explanations back in place."""
    return MatchResult(
        **{
            **data,
            "matches": tuple(_match(m) for m in data["matches"]),
            "unmatched": tuple(Unmatched(**u) for u in data["unmatched"]),
            "capacity": {k: (int(v[0]), int(v[1])) for k, v in data["capacity"].items()},
            "stats": dict(data["stats"]),
        }
    )


def _match(data: Mapping[str, Any]) -> Match:
    return Match(
        key=data["key"],
        members=tuple((member_id, side) for member_id, side in data["members"]),
        score=data["score"],
        explanation=tuple(
            PairExplanation(e["a"], e["b"], tuple(Contribution(**c) for c in e["contributions"]))
            for e in data["explanation"]
        ),
        round=data["round"],
    )
