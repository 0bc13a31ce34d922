"""Pair scores for a whole block of candidates at once: numpy, float32, in cache-sized tiles.

A pair's score is the weighted sum of its criteria, each in [0, 1]. A criterion whose field
one of the two left open (intake's `NO_PREFERENCE`, an answer the spec maps to null) scores
NEUTRAL for that pair: neither a match (1) nor a mismatch (0), and it forbids nothing. Solvers
work on an integer
*profit*: ``rint(score * SCALE) + 1`` for a feasible pair (so that, at equal score, a match beats
no match) and 0 for a pair a hard rule forbids. Every entry is computed elementwise from exact
intersection counts, so the same pair gets the same profit in any chunk, tile and order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from mentorflow.matching.pool import Pool
from mentorflow.matching.settings import (
    DEFAULT_TARGET_HOURS,
    MatchingSettings,
    criterion_scale,
)
from mentorflow.spec.model import NO_PREFERENCE, Criterion

SCALE = 10_000  # profit units per score point: scores are exact to 1e-4
CHUNK_ELEMENTS = 1 << 18  # pairs per chunk handed to callers: their work stays in cache
TILE_ELEMENTS = 1 << 18  # pairs scored at once inside a chunk: fewer Python steps, still in cache
TILE_ROWS = 128  # rows per tile: each column's data is read once for this many rows
TABLE_KEYS = 64  # a criterion whose rows take at most this many distinct values is a lookup
TABLE_BYTES = 64 * 2**20  # memory for all lookup tables of one scorer
TABLE_KINDS = ("distance", "seniority", "same", "different", "required_common")
SPLIT_PAIRS = 1 << 16  # a chunk this big scored from the main thread is shared out to threads
THREADS = min(2, os.cpu_count() or 1)
SELECT_SHARE = 0.4  # restricted to this share of the columns or more: score all, keep those
SPARSE_VALUES = 16  # rows with at most this many values count intersections by adding rows
NEUTRAL = 0.5  # a criterion's score for a pair where one of the two has no preference


_threads: list[ThreadPoolExecutor] = []
_threads_lock = threading.Lock()


def _split_here(pairs: int) -> bool:
    """Whether to share a chunk out: callers that score on worker threads split no further."""
    return (
        THREADS > 1
        and pairs >= SPLIT_PAIRS
        and threading.current_thread() is threading.main_thread()
    )


def _executor() -> ThreadPoolExecutor:
    with _threads_lock:
        if not _threads:
            _threads.append(ThreadPoolExecutor(THREADS, thread_name_prefix="scoring"))
        return _threads[0]


def score_of(profit: int | np.ndarray) -> float | np.ndarray:
    """The score (weighted sum of criteria) a profit stands for."""
    return (np.asarray(profit, dtype=np.float64) - 1) / SCALE


@dataclass(frozen=True, eq=False)
class _Columns:
    """The column side of a block of columns: what scoring reads of each column."""

    cols: np.ndarray  # pool positions
    sizes: dict[str, np.ndarray]  # set field -> number of values
    codes: dict[str, np.ndarray]  # field -> value index (-2: none, never equal)
    numbers: dict[str, np.ndarray]
    closed: np.ndarray
    bits: dict[str, np.ndarray]  # "set:f" / "hours:f" -> uint8 values x columns, a zero row last

    def block(self, start: int, stop: int) -> _Columns:
        return self.take(slice(start, stop))

    def take(self, sel: slice | np.ndarray) -> _Columns:
        return _Columns(
            cols=self.cols[sel],
            sizes={f: z[sel] for f, z in self.sizes.items()},
            codes={f: c[sel] for f, c in self.codes.items()},
            numbers={f: v[sel] for f, v in self.numbers.items()},
            closed=self.closed[sel],
            bits={f: _columns_of(b, sel) for f, b in self.bits.items()},
        )


@dataclass(frozen=True, eq=False)
class _Table:
    """A criterion (or hard rule) looked up by the row's value: few distinct values, all columns.

    Each entry is the criterion's contribution computed exactly as for a single pair, so adding
    it gives the very sum the direct computation gives.
    """

    keys: np.ndarray  # int64 per row position: which table row
    score: np.ndarray | None  # float32 keys x columns, None when the criterion adds nothing
    infeasible: np.ndarray | None  # bool keys x columns, None when it forbids nothing

    def take(self, sel: np.ndarray) -> _Table:
        score = _columns_of(self.score, sel) if self.score is not None else None
        infeasible = _columns_of(self.infeasible, sel) if self.infeasible is not None else None
        return _Table(self.keys, score, infeasible)


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
        self._open = {c: m for c in self.criteria if (m := open_to_all(pool, c)) is not None}
        self._open_fields = {
            f: m for f in settings.different if (m := no_preference(pool, f)) is not None
        }
        # only hours someone on both sides has can be shared: the matmul skips the others
        self._hours = {
            f: np.flatnonzero(h[self.rows].any(axis=0) & h[self.cols].any(axis=0))
            for f, h in pool.hours.items()
        }
        self.closed = closed_cols if closed_cols is not None else np.zeros(len(self.cols), bool)
        self._sparse = self._sparse_values()
        self._columns = self._column_data()
        self._select: tuple[Scorer, np.ndarray] | None = None  # (scorer, columns) to keep
        self._blocked = self._earlier(earlier_pairs) if settings.no_repeat_pairs else {}
        if not symmetric:
            # a `both` member may stand on both sides while its side is being chosen
            self._blocked = _with_self_pairs(self._blocked, self.rows, self.cols)
        self._tables: dict[int, _Table] = {}  # criterion index (or -1 - different index)
        self._tables = self._lookup_tables()

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.cols)

    def _column_data(self) -> _Columns:
        c = self.cols
        codes = {}
        for f, s in self.pool.sets.items():
            if s.codes is not None:
                col = s.codes[c]
                codes[f] = np.where(col < 0, -2, col)  # missing never equal
        return _Columns(
            cols=c,
            sizes={f: s.sizes[c] for f, s in self.pool.sets.items()},
            codes=codes,
            numbers={f: v[c] for f, v in self.pool.numbers.items()},
            closed=np.asarray(self.closed, dtype=bool),
            bits={key: _zero_row_last(m[c].T) for key, m in self._value_matrices()},
        )

    def _value_matrices(self) -> Iterator[tuple[str, np.ndarray]]:
        """The 0/1 matrices whose intersections are counted (a field with codes compares them)."""
        counted = {c.field for c in self.criteria if c.kind == "overlap"}
        counted.update(
            f
            for c in self.criteria
            if c.kind == "coverage"
            for f in (c.mentor_field, c.mentee_field)
        )
        for f, s in self.pool.sets.items():
            if s.codes is None or f in counted:
                yield f"set:{f}", s.matrix
        # only hours someone on both sides has can be shared
        yield from ((f"hours:{f}", h[:, self._hours[f]]) for f, h in self.pool.hours.items())

    def _sparse_values(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per value field: each row's value indices (padded with the zero row) and counts."""
        out = {}
        for key, matrix in self._value_matrices():
            present = matrix[self.rows] > 0
            counts = present.sum(axis=1)
            width = max(0, min(int(counts.max(initial=0)), SPARSE_VALUES))
            # values first (stable), then the padding index: the first `count` entries are values
            order = np.argsort(~present, axis=1, kind="stable")[:, :width]
            idx = np.where(np.arange(width)[None, :] < counts[:, None], order, matrix.shape[1])
            out[key] = (idx.astype(np.int32), counts)
        return out

    def restricted(self, colsel: np.ndarray) -> Scorer:
        """The same scorer against the columns at positions `colsel` only (pricing screens).

        Most of the columns: score them all and keep these (cheaper than copying the column
        data for a few rows); fewer: a scorer on copies of just these columns.
        """
        colsel = np.asarray(colsel, dtype=np.int64)
        if self._select is not None:
            parent, sel = self._select
            return parent.restricted(sel[colsel])
        clone = object.__new__(Scorer)
        clone.__dict__.update(self.__dict__)
        clone.cols = self.cols[colsel]
        clone.closed = self.closed[colsel]
        if len(colsel) >= SELECT_SHARE * len(self.cols):
            clone._select = (self, colsel)
            return clone
        clone._columns = self._columns.take(colsel)
        clone._tables = {k: t.take(colsel) for k, t in self._tables.items()}
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

    # -- lookup tables -------------------------------------------------------------------

    def _lookup_tables(self) -> dict[int, _Table]:
        """Tables for criteria whose rows take few distinct values (offsets, levels, codes)."""
        tables: dict[int, _Table] = {}
        budget = TABLE_BYTES
        m = len(self.cols)
        jobs: list[tuple[int, str, Criterion | None]] = [
            (i, c.field, c)
            for i, c in enumerate(self.criteria)
            if c.kind in TABLE_KINDS and c.field
        ]
        jobs += [(-1 - i, f, None) for i, f in enumerate(self.settings.different)]
        for key, field, c in jobs:
            found = self._row_keys(field)
            if found is None:
                continue
            keys, firsts = found
            cost = len(firsts) * m * 5
            if len(firsts) > TABLE_KEYS or cost > budget:
                continue
            budget -= cost
            reps = self.rows[firsts]
            score = np.zeros((len(reps), m), dtype=np.float32)
            infeasible = np.zeros(score.shape, dtype=bool)
            rowdata = self._row_data(firsts, reps)
            if c is None:
                infeasible |= self._rule_shares(field, reps, self._columns, rowdata)
            else:
                self._add(c, reps, self._columns, score, infeasible, rowdata)
            tables[key] = _Table(
                keys=keys,
                score=score if c is not None and c.kind != "required_common" else None,
                infeasible=infeasible if infeasible.any() else None,
            )
        return tables

    def _row_keys(self, field: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(distinct-value index per row position, first row position of each value)."""
        if field in self.pool.numbers:
            numbers = self.pool.numbers[field][self.rows]
            values = numbers.view(f"u{numbers.itemsize}")  # by the bits: NaN is a value too
        elif field in self.pool.sets:
            s = self.pool.sets[field]
            if s.codes is not None:
                values = s.codes[self.rows]
            elif s.matrix.shape[1] <= 62:
                bits = np.uint64(1) << np.arange(s.matrix.shape[1], dtype=np.uint64)
                values = (s.matrix[self.rows] > 0) @ bits if len(self.rows) else bits[:0]
            else:
                return None
        else:
            return None
        if not len(values):
            return None
        _, firsts, keys = np.unique(values, return_index=True, return_inverse=True)
        return keys.reshape(-1).astype(np.int64), firsts

    # -- chunks and profits --------------------------------------------------------------

    def chunks(self, positions: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Row positions in chunks that keep memory bounded."""
        positions = np.arange(len(self.rows)) if positions is None else positions
        step = max(8, CHUNK_ELEMENTS // max(1, len(self.cols)))
        for start in range(0, len(positions), step):
            yield positions[start : start + step]

    def profit(self, positions: np.ndarray) -> np.ndarray:
        """Integer profits (int32, 0 = infeasible) of rows at `positions` against all columns."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._select is not None:
            parent, sel = self._select
            return np.take(parent.profit(positions), sel, axis=1)
        n, m = len(positions), len(self.cols)
        out = np.empty((n, m), dtype=np.int32)
        split = _split_here(n * m)  # the caller scores on one thread: use them all
        tile_rows = max(1, min(TILE_ROWS, -(-n // THREADS) if split else n))
        width = max(256, TILE_ELEMENTS // tile_rows)

        def rows_from(start: int) -> None:
            pos = positions[start : start + tile_rows]
            r = self.rows[pos]
            rowdata = self._row_data(pos, r)
            for j in range(0, m, width):
                cd = self._columns.block(j, j + width)
                self._tile(pos, r, rowdata, cd, j, out[start : start + len(pos), j : j + width])

        starts = range(0, n, tile_rows)
        if split and len(starts) > 1:
            list(_executor().map(rows_from, starts))
        else:
            for start in starts:
                rows_from(start)
        self._block_known(positions, out)
        return out

    def scores(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(float32 weighted score, infeasibility mask) for rows at `positions` x all columns."""
        if self._select is not None:
            parent, sel = self._select
            total, infeasible = parent.scores(positions)
            return np.take(total, sel, axis=1), np.take(infeasible, sel, axis=1)
        r = self.rows[positions]
        total = np.zeros((len(r), len(self.cols)), dtype=np.float32)
        infeasible = np.zeros(total.shape, dtype=bool)
        cd = self._columns
        rowdata = self._row_data(np.asarray(positions), r)
        infeasible[:, cd.closed] = True
        for c in self.criteria:
            self._add(c, r, cd, total, infeasible, rowdata)
        for f in self.settings.different:
            infeasible |= self._rule_shares(f, r, cd, rowdata)
        if self.symmetric:
            infeasible |= r[:, None] == self.cols[None, :]
        for k, p in enumerate(np.asarray(positions).tolist()):
            cols = self._blocked.get(p)
            if cols is not None:
                infeasible[k, cols] = True
        return total, infeasible

    def _row_data(self, pos: np.ndarray, r: np.ndarray) -> dict[str, np.ndarray | None]:
        """The row side of a tile: each row's value indices when few, else its 0/1 row."""
        data: dict[str, np.ndarray | None] = {}
        for key, (idx, counts) in self._sparse.items():
            most = int(counts[pos].max(initial=0))
            data[f"idx:{key}"] = idx[pos, :most] if most <= SPARSE_VALUES else None
        return data

    def _tile(
        self,
        pos: np.ndarray,
        r: np.ndarray,
        rowdata: dict[str, np.ndarray | None],
        cd: _Columns,
        start: int,
        out: np.ndarray,
    ) -> None:
        """Profits of rows `r` (positions `pos`) x the columns of `cd` (from `start`) into out."""
        total = np.zeros(out.shape, dtype=np.float32)
        infeasible = np.zeros(out.shape, dtype=bool)
        infeasible[:, cd.closed] = True
        for i, c in enumerate(self.criteria):
            table = self._tables.get(i)
            if table is None:
                self._add(c, r, cd, total, infeasible, rowdata)
                continue
            if table.score is not None:
                total += self._lookup(table.score, table.keys[pos], start, out.shape[1])
            if table.infeasible is not None:
                infeasible |= self._lookup(table.infeasible, table.keys[pos], start, out.shape[1])
        for i, f in enumerate(self.settings.different):
            table = self._tables.get(-1 - i)
            if table is None:
                infeasible |= self._rule_shares(f, r, cd, rowdata)
            elif table.infeasible is not None:
                infeasible |= self._lookup(table.infeasible, table.keys[pos], start, out.shape[1])
        total *= np.float32(SCALE)
        total += np.float32(1.5)  # floor(x + 1.5) == round(x) + 1
        np.copyto(out, total, casting="unsafe")  # truncates, as astype does
        np.logical_not(infeasible, out=infeasible)
        out *= infeasible  # a multiply, not a masked store: no branch per pair

    @staticmethod
    def _lookup(table: np.ndarray, keys: np.ndarray, start: int, width: int) -> np.ndarray:
        return table[keys, start : start + width]

    def _block_known(self, positions: np.ndarray, out: np.ndarray) -> None:
        if self.symmetric:
            row, col = np.nonzero(self.rows[positions][:, None] == self.cols[None, :])
            out[row, col] = 0
        if self._blocked:
            for k, p in enumerate(positions.tolist()):
                blocked = self._blocked.get(p)
                if blocked is not None:
                    out[k, blocked] = 0

    # -- criteria ------------------------------------------------------------------------

    def _counts(self, row_key: str, col_key: str, cd: _Columns, rowdata: dict | None) -> Any:
        """Exact intersection counts (uint8) by adding the columns' rows of each row value."""
        idx = rowdata.get(f"idx:{row_key}") if rowdata is not None else None
        if idx is None:
            return None
        bits = cd.bits[col_key]
        if idx.shape[1] == 0:
            return np.zeros((len(idx), bits.shape[1]), dtype=np.uint8)
        acc = bits[idx[:, 0]]
        for k in range(1, idx.shape[1]):
            acc += bits[idx[:, k]]
        return acc

    def _intersections(
        self, row_field: str, col_field: str, r: np.ndarray, cd: _Columns, rowdata: dict | None
    ) -> np.ndarray:
        counts = self._counts(f"set:{row_field}", f"set:{col_field}", cd, rowdata)
        if counts is not None:
            return counts.astype(np.float32)  # the same integers a matmul gives
        # a row with many values: the 0/1 rows by matrix product (exact below 2**24)
        return self.pool.sets[row_field].matrix[r] @ self.pool.sets[col_field].matrix[cd.cols].T

    def _shares_value(
        self, field: str, r: np.ndarray, cd: _Columns, rowdata: dict | None = None
    ) -> np.ndarray:
        codes = self.pool.sets[field].codes
        if codes is not None:
            return codes[r][:, None] == cd.codes[field][None, :]
        counts = self._counts(f"set:{field}", f"set:{field}", cd, rowdata)
        if counts is not None:
            return counts > 0
        return self._intersections(field, field, r, cd, rowdata) > 0

    def _rule_shares(
        self, field: str, r: np.ndarray, cd: _Columns, rowdata: dict | None = None
    ) -> np.ndarray:
        """Pairs a `different` hard rule forbids: a shared value, no preference not counted."""
        shares = self._shares_value(field, r, cd, rowdata)
        open_ = self._open_fields.get(field)
        if open_ is not None:
            shares &= ~(open_[r][:, None] | open_[cd.cols][None, :])
        return shares

    def _add(
        self,
        c: Criterion,
        r: np.ndarray,
        cd: _Columns,
        total: np.ndarray,
        infeasible: np.ndarray,
        rowdata: dict | None = None,
    ) -> None:
        """Add the criterion's weighted score to `total` (in place); hard parts to `infeasible`.

        Pairs where one of the two has no preference on the criterion's field get NEUTRAL.
        """
        open_ = self._open.get(c)
        if open_ is None:
            self._add_scored(c, r, cd, total, infeasible, rowdata)
            return
        part = np.zeros(total.shape, dtype=np.float32)
        hard = np.zeros(infeasible.shape, dtype=bool)
        self._add_scored(c, r, cd, part, hard, rowdata)
        either = open_[r][:, None] | open_[cd.cols][None, :]
        part[either] = np.float32(c.weight) * np.float32(NEUTRAL)
        hard &= ~either
        total += part
        infeasible |= hard

    def _add_scored(
        self,
        c: Criterion,
        r: np.ndarray,
        cd: _Columns,
        total: np.ndarray,
        infeasible: np.ndarray,
        rowdata: dict | None = None,
    ) -> None:
        w = np.float32(c.weight)
        kind = c.kind
        if kind == "required_common":
            infeasible |= ~self._shares_value(c.field, r, cd, rowdata)  # type: ignore[arg-type]
        elif kind == "same":
            # adding 0 where they share none leaves the sum as it is: no masked (branchy) add
            total += self._shares_value(c.field, r, cd, rowdata) * w  # type: ignore[arg-type]
        elif kind == "different":
            sizes = self.pool.sets[c.field].sizes  # type: ignore[index]
            differ = ~self._shares_value(c.field, r, cd, rowdata)  # type: ignore[arg-type]
            differ &= sizes[r][:, None] > 0
            differ &= cd.sizes[c.field][None, :] > 0  # type: ignore[index]
            total += differ * w
        elif kind == "overlap":
            total += self._jaccard(c.field, r, w, cd, rowdata)  # type: ignore[arg-type]
        elif kind == "coverage":
            total += self._coverage(c, r, w, cd, rowdata)
        elif kind == "distance":
            total += self._closeness(c, r, w, cd)
        elif kind == "availability":
            field = c.field or ""
            counts = self._counts(f"hours:{field}", f"hours:{field}", cd, rowdata)
            if counts is not None:
                shared = counts.astype(np.float32)  # the same integers as the matmul below
            else:
                hours, some = self.pool.hours[field], self._hours[field]
                shared = hours[r][:, some] @ hours[cd.cols][:, some].T
            shared *= w / np.float32(c.target_hours or DEFAULT_TARGET_HOURS)
            total += np.minimum(shared, w, out=shared)
        elif kind == "seniority":
            total += self._seniority(c, r, w, cd, infeasible)
        else:
            raise ValueError(f"unknown criterion kind {kind!r}")

    def _jaccard(
        self, field: str, r: np.ndarray, w: np.float32, cd: _Columns, rowdata: dict | None
    ) -> np.ndarray:
        inter = self._intersections(field, field, r, cd, rowdata)
        union = self.pool.sets[field].sizes[r][:, None] + cd.sizes[field][None, :]
        union -= inter
        np.maximum(union, np.float32(1), out=union)
        inter *= w
        return np.divide(inter, union, out=inter)

    def _closeness(self, c: Criterion, r: np.ndarray, w: np.float32, cd: _Columns) -> np.ndarray:
        diff = self.pool.numbers[c.field][r][:, None] - cd.numbers[c.field][None, :]  # type: ignore[index]
        np.abs(diff, out=diff)
        diff *= -w / np.float32(criterion_scale(c))
        diff += w
        return np.fmax(diff, np.float32(0), out=diff)  # NaN (unknown) scores 0

    def _coverage(
        self, c: Criterion, r: np.ndarray, w: np.float32, cd: _Columns, rowdata: dict | None
    ) -> np.ndarray:
        offers, seeks = c.mentor_field, c.mentee_field
        assert offers and seeks
        part = self._intersections(seeks, offers, r, cd, rowdata)
        part *= (w / np.maximum(self.pool.sets[seeks].sizes[r], np.float32(1)))[:, None]
        if self.symmetric:
            # peers both offer and seek: the mean of both directions keeps the score symmetric
            other = self._intersections(offers, seeks, r, cd, rowdata)
            other *= (w / np.maximum(cd.sizes[seeks], np.float32(1)))[None, :]
            part += other
            part *= np.float32(0.5)
        return part

    def _seniority(
        self, c: Criterion, r: np.ndarray, w: np.float32, cd: _Columns, infeasible: np.ndarray
    ) -> np.ndarray:
        row = self.pool.numbers[c.field][r][:, None]  # type: ignore[index]
        col = cd.numbers[c.field][None, :]  # type: ignore[index]
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


def no_preference(pool: Pool, field: str | None) -> np.ndarray | None:
    """Members (bool per pool position) whose `field` is NO_PREFERENCE; None if nobody's is."""
    feature = pool.sets.get(field or "")
    if feature is None or NO_PREFERENCE not in feature.vocab:
        return None
    return feature.matrix[:, feature.vocab.index(NO_PREFERENCE)] > 0


def open_to_all(pool: Pool, c: Criterion) -> np.ndarray | None:
    """Members with no preference on a field the criterion reads; None if there are none."""
    fields = (c.mentor_field, c.mentee_field) if c.kind == "coverage" else (c.field,)
    masks = [m for f in fields if (m := no_preference(pool, f)) is not None]
    if not masks:
        return None
    return np.logical_or.reduce(masks)


def _with_self_pairs(
    blocked: dict[int, np.ndarray], rows: np.ndarray, cols: np.ndarray
) -> dict[int, np.ndarray]:
    """`blocked` plus (row, column) positions of the same member: nobody is their own partner."""
    shared, row_pos, col_pos = np.intersect1d(rows, cols, return_indices=True)
    if not len(shared):
        return blocked
    out = dict(blocked)
    for r, c in zip(row_pos.tolist(), col_pos.tolist(), strict=True):
        known = out.get(r)
        out[r] = np.array([c]) if known is None else np.append(known, c)
    return out


def _zero_row_last(values_by_column: np.ndarray) -> np.ndarray:
    """A 0/1 (values x columns) matrix as uint8 with a zero row appended (the padding index)."""
    out = np.zeros((values_by_column.shape[0] + 1, values_by_column.shape[1]), dtype=np.uint8)
    out[:-1] = values_by_column > 0
    return out


def _columns_of(matrix: np.ndarray, sel: slice | np.ndarray) -> np.ndarray:
    """Columns of a 2-d array: a view for a slice, a C-ordered copy (rows stay contiguous)."""
    return matrix[:, sel] if isinstance(sel, slice) else np.take(matrix, sel, axis=1)
