"""Why a pair fits: each criterion's score and a sentence in English and German."""

from __future__ import annotations

import numpy as np

from mentorflow.matching.pool import Pool
from mentorflow.matching.result import Contribution, Match, PairExplanation
from mentorflow.matching.scoring import NEUTRAL, open_to_all
from mentorflow.matching.settings import (
    DEFAULT_TARGET_HOURS,
    MatchingSettings,
    criterion_name,
    criterion_scale,
)
from mentorflow.spec.model import NO_PREFERENCE, Criterion

# Field names as they read in a sentence (German in the second place); others print as given.
FIELD_NAMES = {
    "goals": ("goals", "Ziele"),
    "skills": ("skills", "Fähigkeiten"),
    "interests": ("interests", "Interessen"),
    "languages": ("languages", "Sprachen"),
    "communication": ("communication", "Kommunikationsweg"),
    "team": ("team", "Team"),
    "employer": ("employer", "Arbeitgeber"),
    "offers": ("topics", "Themen"),
    "seeks": ("topics", "Themen"),
    "seniority": ("levels", "Stufen"),
}


# Language codes as a person reads them (English, German); unknown codes print as given.
LANGUAGE_NAMES = {
    "de": ("German", "Deutsch"), "en": ("English", "Englisch"), "fr": ("French", "Französisch"),
    "es": ("Spanish", "Spanisch"), "it": ("Italian", "Italienisch"), "tr": ("Turkish", "Türkisch"),
    "ar": ("Arabic", "Arabisch"), "pl": ("Polish", "Polnisch"), "ru": ("Russian", "Russisch"),
    "uk": ("Ukrainian", "Ukrainisch"), "pt": ("Portuguese", "Portugiesisch"),
    "nl": ("Dutch", "Niederländisch"), "zh": ("Chinese", "Chinesisch"), "hi": ("Hindi", "Hindi"),
}  # fmt: skip


def _items(field: str | None, values: list[str]) -> tuple[str, str]:
    """The shared values as text in English and German (language codes become names)."""
    if field != "languages":
        text = ", ".join(values)
        return text, text
    names = [LANGUAGE_NAMES.get(v.lower(), (v, v)) for v in values]
    return ", ".join(n[0] for n in names), ", ".join(n[1] for n in names)


def _names(field: str | None) -> tuple[str, str]:
    return FIELD_NAMES.get(field or "", (field or "", field or ""))


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _fmt_de(x: float) -> str:
    """German numbers take a decimal comma: 4,5."""
    return _fmt(x).replace(".", ",")


class Explainer:
    """Explains pairs of one pool under one settings object (mentor-side first)."""

    def __init__(self, pool: Pool, settings: MatchingSettings, *, symmetric: bool = False) -> None:
        self.pool, self.settings, self.symmetric = pool, settings, symmetric
        self.reverse = settings.model == "reverse"
        self._open = {c: m for c in settings.criteria if (m := open_to_all(pool, c)) is not None}

    def pair(self, mentor: int, mentee: int) -> PairExplanation:
        """The explanation for pool positions `mentor` and `mentee` (peers: either order)."""
        parts = tuple(
            self._contribution(c, mentor, mentee)
            for c in self.settings.criteria
            if c.weight > 0 or c.is_hard
        )
        return PairExplanation(self.pool.ids[mentor], self.pool.ids[mentee], parts)

    def _shared(self, field: str, a: int, b: int) -> list[str]:
        f = self.pool.sets[field]
        both = np.flatnonzero((f.matrix[a] > 0) & (f.matrix[b] > 0))
        return [f.vocab[i] for i in both if f.vocab[i] != NO_PREFERENCE]

    def _contribution(self, c: Criterion, mentor: int, mentee: int) -> Contribution:
        open_ = self._open.get(c)
        if open_ is not None and (open_[mentor] or open_[mentee]):
            en, de = _names(c.mentee_field if c.kind == "coverage" else c.field)
            score = 1.0 if c.is_hard else NEUTRAL
            return Contribution(
                criterion_name(c),
                c.kind,
                float(c.weight),
                score,
                f"no preference on {en}",
                f"keine Präferenz bei {de}",
            )
        score, en, de = getattr(self, f"_{c.kind}")(c, mentor, mentee)
        return Contribution(criterion_name(c), c.kind, float(c.weight), float(score), en, de)

    def _overlap(self, c: Criterion, a: int, b: int) -> tuple[float, str, str]:
        f = self.pool.sets[c.field or ""]
        shared = self._shared(c.field or "", a, b)
        union = f.sizes[a] + f.sizes[b] - len(shared)
        en, de = _names(c.field)
        if not shared:
            return 0.0, f"no shared {en}", f"keine gemeinsamen {de}"
        items_en, items_de = _items(c.field, shared)
        score = len(shared) / max(union, 1)
        return score, f"shared {en}: {items_en}", f"gemeinsame {de}: {items_de}"

    def _coverage(self, c: Criterion, mentor: int, mentee: int) -> tuple[float, str, str]:
        offers, seeks = c.mentor_field or "", c.mentee_field or ""
        score, en, de = self._covers(offers, seeks, mentor, mentee)
        if self.symmetric:
            back, en2, de2 = self._covers(offers, seeks, mentee, mentor)
            return (score + back) / 2, f"{en}; {en2}", f"{de}; {de2}"
        return score, en, de

    def _covers(self, offers: str, seeks: str, giver: int, taker: int) -> tuple[float, str, str]:
        sought = self.pool.sets[seeks]
        have = self.pool.sets[offers]
        hit = np.flatnonzero((sought.matrix[taker] > 0) & (have.matrix[giver] > 0))
        names = [sought.vocab[i] for i in hit]
        wanted = int(sought.sizes[taker])
        if not wanted:
            return 0.0, "no topics sought", "keine gesuchten Themen"
        items = f": {', '.join(names)}" if names else ""
        return (
            len(names) / wanted,
            f"covers {len(names)} of {wanted} sought topics{items}",
            f"deckt {len(names)} von {wanted} gesuchten Themen ab{items}",
        )

    def _distance(self, c: Criterion, a: int, b: int) -> tuple[float, str, str]:
        x, y = self.pool.numbers[c.field or ""][[a, b]]
        if np.isnan(x) or np.isnan(y):
            return 0.0, f"{c.field} unknown", f"{c.field} unbekannt"
        gap = abs(float(x) - float(y))
        score = max(0.0, 1 - gap / criterion_scale(c))
        if c.field == "utc_offset":
            return (
                score,
                f"time zones {_fmt(gap)} h apart",
                f"Zeitzonen {_fmt_de(gap)} h auseinander",
            )
        return score, f"{c.field} {_fmt(gap)} apart", f"{c.field} {_fmt_de(gap)} auseinander"

    def _availability(self, c: Criterion, a: int, b: int) -> tuple[float, str, str]:
        hours = self.pool.hours[c.field or ""]
        shared = int(((hours[a] > 0) & (hours[b] > 0)).sum())
        score = min(1.0, shared / (c.target_hours or DEFAULT_TARGET_HOURS))
        return (
            score,
            f"{shared} h of shared availability a week",
            f"{shared} Std. gemeinsame Verfügbarkeit pro Woche",
        )

    def _same(self, c: Criterion, a: int, b: int) -> tuple[float, str, str]:
        shared = self._shared(c.field or "", a, b)
        en, de = _names(c.field)
        if shared:
            items = ", ".join(shared)
            return 1.0, f"same {en}: {items}", f"gleiche(r) {de}: {items}"
        return 0.0, f"different {en}", f"unterschiedliche(r) {de}"

    def _different(self, c: Criterion, a: int, b: int) -> tuple[float, str, str]:
        f = self.pool.sets[c.field or ""]
        en, de = _names(c.field)
        if not (f.sizes[a] and f.sizes[b]):
            return 0.0, f"{en} unknown", f"{de} unbekannt"
        if self._shared(c.field or "", a, b):
            return 0.0, f"same {en}", f"gleiche(r) {de}"
        return 1.0, f"different {en}", f"unterschiedliche(r) {de}"

    def _required_common(self, c: Criterion, a: int, b: int) -> tuple[float, str, str]:
        items_en, items_de = _items(c.field, self._shared(c.field or "", a, b))
        en, de = _names(c.field)
        return 1.0, f"common {en}: {items_en}", f"gemeinsame {de}: {items_de}"

    def _seniority(self, c: Criterion, mentor: int, mentee: int) -> tuple[float, str, str]:
        x, y = self.pool.numbers[c.field or ""][[mentor, mentee]]
        if np.isnan(x) or np.isnan(y):
            return 0.0, "seniority unknown", "Erfahrungsstufe unbekannt"
        scale = criterion_scale(c)
        if self.symmetric:
            gap = abs(float(x) - float(y))
            return (
                max(0.0, 1 - gap / scale),
                f"{_fmt(gap)} levels apart",
                f"{_fmt_de(gap)} Stufen auseinander",
            )
        gap = float(y - x) if self.reverse else float(x - y)
        min_gap = c.min_gap if c.min_gap is not None else 1
        score = min(1.0, max(0.0, 1 - (gap - min_gap) / scale))
        if self.reverse:
            return score, f"mentee {_fmt(gap)} levels above", f"Mentee {_fmt_de(gap)} Stufen höher"
        return score, f"mentor {_fmt(gap)} levels above", f"Mentor:in {_fmt_de(gap)} Stufen höher"


def membership(match: Match, member_id: str) -> tuple[str, str]:
    """Why one member is in their group (English, German): each pair of theirs in it, the
    strongest first, with its score and its reasons. A pair's match gives its one pair."""
    mine = [e for e in match.explanation if member_id in (e.a, e.b)]
    mine.sort(key=lambda e: (-e.score, e.a, e.b))
    texts = []
    for language in ("en", "de"):
        word = "with" if language == "en" else "mit"
        parts = [
            f"{word} {e.b if e.a == member_id else e.a} ({e.score:.2f}): {e.text(language)}"
            for e in mine
        ]
        texts.append(" | ".join(parts))
    return texts[0], texts[1]
