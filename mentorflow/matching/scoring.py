"""Pair scores for a whole block of candidates at once: numpy, float32, in bounded chunks.

A pair's score is the weighted sum of its criteria, each in [0, 1]. Solvers work on an integer
*profit*: ``rint(score * SCALE) + 1`` for a feasible pair (so that, at equal score, a match beats
no match) and 0 for a pair a hard rule forbids. Every entry is computed elementwise from exact
intersection counts, so the same pair gets the same profit in any chunk and any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from mentorflow.matching.pool import Pool
from mentorflow.matching.settings import (
    DEFAULT_TARGET_HOURS,
    Criterion,
    MatchingSettings,
    criterion_scale,
)

SCALE = 10_000  # profit units per score point: scores are exact to 1e-4
CHUNK_ELEMENTS = 1 << 18  # pairs per chunk: keeps temporaries in cache and memory bounded


def score_of(profit: int | np.ndarray) -> float | np.ndarray:
    """The score (weighted sum of criteria) a profit stands for."""
    return (np.asarray(profit, dtype=np.float64) - 1) / SCALE


class Scorer:
    """Scores rows (mentees, or people) against columns (mentors, or the same people).

    `rows` and `cols` are pool positions; `symmetric` marks a peer pool (rows == cols), where
    coverage counts both directions, seniority has no order and nobody is paired with themself.
    `reverse` flips the seniority order (the mentor is the junior).
    """

    def __init__(
        self,
        pool: Pool,
        settings: MatchingSettings,
        rows: np.ndarray,
        cols: np.ndarray,
        *,
        symmetric: bool = False,
        earlier_pairs: Iterable[tuple[str, str]] = (),
        closed_cols: np.ndarray | None = None,
    ) -> None:
        self.pool, self.settings, self.symmetric = pool, settings, symmetric
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        self.reverse = settings.model == "reverse"
        self.criteria = tuple(c for c in settings.criteria if c.weight > 0 or c.is_hard)
        self._col_sets = {
            f: (s.matrix[self.cols].T.copy(), s.sizes[self.cols]) for f, s in pool.sets.items()
        }
        # only hours someone on both sides has can be shared: the matmul skips the others
        self._hours = {
            f: np.flatnonzero(h[self.rows].any(axis=0) & h[self.cols].any(axis=0))
            for f, h in pool.hours.items()
        }
        self._col_hours = {
            f: h[self.cols][:, self._hours[f]].T.copy() for f, h in pool.hours.items()
        }
        self._col_numbers = {f: v[self.cols] for f, v in pool.numbers.items()}
        self.closed = closed_cols if closed_cols is not None else np.zeros(len(self.cols), bool)
        self._blocked = self._earlier(earlier_pairs) if settings.no_repeat_pairs else {}

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.cols)

    def restricted(self, colsel: np.ndarray) -> Scorer:
        """The same scorer against the columns at positions `colsel` only (pricing screens)."""
        clone = object.__new__(Scorer)
        clone.__dict__.update(self.__dict__)
        clone.cols = self.cols[colsel]
        clone._col_sets = {f: (m[:, colsel], z[colsel]) for f, (m, z) in self._col_sets.items()}
        clone._col_hours = {f: h[:, colsel] for f, h in self._col_hours.items()}
        clone._col_numbers = {f: v[colsel] for f, v in self._col_numbers.items()}
        clone.closed = self.closed[colsel]
        inverse = np.full(len(self.cols), -1, dtype=np.int64)
        inverse[colsel] = np.arange(len(colsel))
        blocked = {r: inverse[c] for r, c in self._blocked.items()}
        clone._blocked = {r: c[c >= 0] for r, c in blocked.items() if (c >= 0).any()}
        return clone

    def _earlier(self, pairs: Iterable[tuple[str, str]]) -> dict[int, np.ndarray]:
        index = self.pool.index()
        row_pos = {int(p): i for i, p in enumerate(self.rows)}
        col_pos = {int(p): j for j, p in enumerate(self.cols)}
        blocked: dict[int, list[int]] = {}
        for a, b in pairs:
            ia, ib = index.get(a), index.get(b)
            if ia is None or ib is None:
                continue
            for x, y in ((ia, ib), (ib, ia)):
                if x in row_pos and y in col_pos:
                    blocked.setdefault(row_pos[x], []).append(col_pos[y])
        return {r: np.array(c, dtype=np.int64) for r, c in blocked.items()}

    def chunks(self, positions: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Row positions in chunks small enough for the cache."""
        positions = np.arange(len(self.rows)) if positions is None else positions
        step = max(8, CHUNK_ELEMENTS // max(1, len(self.cols)))
        for start in range(0, len(positions), step):
            yield positions[start : start + step]

    def profit(self, positions: np.ndarray) -> np.ndarray:
        """Integer profits (int32, 0 = infeasible) of rows at `positions` against all columns."""
        total, infeasible = self.scores(positions)
        total *= np.float32(SCALE)
        total += np.float32(1.5)  # floor(x + 1.5) == round(x) + 1
        out = total.astype(np.int32)
        out[infeasible] = 0
        return out

    def scores(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(float32 weighted score, infeasibility mask) for rows at `positions` x all columns."""
        r = self.rows[positions]
        total = np.zeros((len(r), len(self.cols)), dtype=np.float32)
        infeasible = np.zeros(total.shape, dtype=bool)
        infeasible[:, self.closed] = True
        for c in self.criteria:
            self._add(c, r, total, infeasible)
        for f in self.settings.different:
            infeasible |= self._shares_value(f, r)
        self._block_known(positions, infeasible)
        return total, infeasible

    def _block_known(self, positions: np.ndarray, infeasible: np.ndarray) -> None:
        if self.symmetric:
            infeasible |= self.rows[positions][:, None] == self.cols[None, :]
        for k, p in enumerate(positions.tolist()):
            cols = self._blocked.get(p)
            if cols is not None:
                infeasible[k, cols] = True

    def _intersections(self, row_field: str, col_field: str, r: np.ndarray) -> np.ndarray:
        return self.pool.sets[row_field].matrix[r] @ self._col_sets[col_field][0]

    def _codes(self, field: str, r: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        codes = self.pool.sets[field].codes
        if codes is None:
            return None
        col = codes[self.cols]
        return codes[r][:, None], np.where(col < 0, -2, col)[None, :]  # missing never equal

    def _shares_value(self, field: str, r: np.ndarray) -> np.ndarray:
        codes = self._codes(field, r)
        if codes is not None:
            return codes[0] == codes[1]
        return self._intersections(field, field, r) > 0

    def _add(self, c: Criterion, r: np.ndarray, total: np.ndarray, infeasible: np.ndarray) -> None:
        """Add the criterion's weighted score to `total` (in place); hard parts to `infeasible`."""
        w = np.float32(c.weight)
        kind = c.kind
        if kind == "required_common":
            infeasible |= ~self._shares_value(c.field, r)  # type: ignore[arg-type]
        elif kind == "same":
            np.add(total, w, out=total, where=self._shares_value(c.field, r))  # type: ignore[arg-type]
        elif kind == "different":
            sizes = self.pool.sets[c.field].sizes  # type: ignore[index]
            differ = ~self._shares_value(c.field, r)  # type: ignore[arg-type]
            differ &= sizes[r][:, None] > 0
            differ &= self._col_sets[c.field][1][None, :] > 0  # type: ignore[index]
            np.add(total, w, out=total, where=differ)
        elif kind == "overlap":
            total += self._jaccard(c.field, r, w)  # type: ignore[arg-type]
        elif kind == "coverage":
            total += self._coverage(c, r, w)
        elif kind == "distance":
            total += self._closeness(c, r, w)
        elif kind == "availability":
            field = c.field or ""
            shared = self.pool.hours[field][r][:, self._hours[field]] @ self._col_hours[field]
            shared *= w / np.float32(c.target_hours or DEFAULT_TARGET_HOURS)
            total += np.minimum(shared, w, out=shared)
        elif kind == "seniority":
            total += self._seniority(c, r, w, infeasible)
        else:
            raise ValueError(f"unknown criterion kind {kind!r}")

    def _jaccard(self, field: str, r: np.ndarray, w: np.float32) -> np.ndarray:
        inter = self._intersections(field, field, r)
        union = self.pool.sets[field].sizes[r][:, None] + self._col_sets[field][1][None, :]
        union -= inter
        np.maximum(union, np.float32(1), out=union)
        inter *= w
        return np.divide(inter, union, out=inter)

    def _closeness(self, c: Criterion, r: np.ndarray, w: np.float32) -> np.ndarray:
        diff = self.pool.numbers[c.field][r][:, None] - self._col_numbers[c.field][None, :]  # type: ignore[index]
        np.abs(diff, out=diff)
        diff *= -w / np.float32(criterion_scale(c))
        diff += w
        return np.fmax(diff, np.float32(0), out=diff)  # NaN (unknown) scores 0

    def _coverage(self, c: Criterion, r: np.ndarray, w: np.float32) -> np.ndarray:
        offers, seeks = c.mentor_field, c.mentee_field
        assert offers and seeks
        part = self._intersections(seeks, offers, r)
        part *= (w / np.maximum(self.pool.sets[seeks].sizes[r], np.float32(1)))[:, None]
        if self.symmetric:
            # peers both offer and seek: the mean of both directions keeps the score symmetric
            other = self._intersections(offers, seeks, r)
            other *= (w / np.maximum(self._col_sets[seeks][1], np.float32(1)))[None, :]
            part += other
            part *= np.float32(0.5)
        return part

    def _seniority(
        self, c: Criterion, r: np.ndarray, w: np.float32, infeasible: np.ndarray
    ) -> np.ndarray:
        row = self.pool.numbers[c.field][r][:, None]  # type: ignore[index]
        col = self._col_numbers[c.field][None, :]  # type: ignore[index]
        step = -w / np.float32(criterion_scale(c))
        if self.symmetric:
            gap = np.abs(row - col)
        else:
            gap = (row - col) if self.reverse else (col - row)  # rows are mentees
            min_gap = np.float32(c.min_gap if c.min_gap is not None else 1)
            infeasible |= gap < min_gap  # NaN (unknown) never forbids
            gap -= min_gap
        gap *= step
        gap += w
        np.fmin(gap, w, out=gap)
        return np.fmax(gap, np.float32(0), out=gap)
