"""The pool: member records turned into numpy arrays that scoring reads whole."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from mentorflow.errors import MatchingError
from mentorflow.matching.settings import MatchingSettings

ROLES = ("mentee", "mentor", "both", "peer")
MENTEE, MENTOR, BOTH, PEER = range(4)
WEEK_HOURS = 168


@dataclass(frozen=True, eq=False)
class SetFeature:
    """A multi-valued field as a 0/1 matrix (members x vocabulary) plus set sizes."""

    matrix: np.ndarray  # float32, exact for intersections below 2**24
    sizes: np.ndarray  # float32
    vocab: tuple[str, ...]  # display form of each column
    codes: np.ndarray | None = None  # int32 value index (-1: none) when nobody has two values


@dataclass(frozen=True, eq=False)
class Pool:
    """Everyone who can be matched in one run, with the features the criteria read."""

    ids: tuple[str, ...]
    roles: np.ndarray  # int8 codes into ROLES
    capacity: np.ndarray  # int32
    priority: np.ndarray  # int32: waitlisted last cycle -> higher
    sets: Mapping[str, SetFeature]
    numbers: Mapping[str, np.ndarray]  # float32, NaN when missing
    hours: Mapping[str, np.ndarray]  # float32 members x 168, UTC hours of the week
    bounced: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per member

    def __post_init__(self) -> None:
        if len(self.bounced) != len(self.ids):  # pools built without it: nobody bounced
            object.__setattr__(self, "bounced", np.zeros(len(self.ids), dtype=bool))

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> dict[str, int]:
        return {member_id: i for i, member_id in enumerate(self.ids)}

    def subset(self, keep: np.ndarray) -> Pool:
        """The pool restricted to the members at positions `keep` (in that order)."""
        keep = np.asarray(keep, dtype=np.int64)
        return Pool(
            ids=tuple(self.ids[i] for i in keep),
            roles=self.roles[keep],
            capacity=self.capacity[keep],
            priority=self.priority[keep],
            sets={k: _subset_feature(f, keep) for k, f in self.sets.items()},
            numbers={k: v[keep] for k, v in self.numbers.items()},
            hours={k: v[keep] for k, v in self.hours.items()},
            bounced=self.bounced[keep],
        )


def _subset_feature(f: SetFeature, keep: np.ndarray) -> SetFeature:
    codes = f.codes[keep] if f.codes is not None else None
    return SetFeature(f.matrix[keep], f.sizes[keep], f.vocab, codes)


def feature_fields(settings: MatchingSettings) -> tuple[set[str], set[str], set[str]]:
    """(set fields, number fields, availability fields) that the criteria and hard rules read."""
    sets: set[str] = set(settings.different)
    numbers: set[str] = set()
    hours: set[str] = set()
    for c in settings.criteria:
        if c.kind == "coverage":
            sets.update(f for f in (c.mentor_field, c.mentee_field) if f)
        elif c.kind in ("distance", "seniority") and c.field:
            numbers.add(c.field)
        elif c.kind == "availability" and c.field:
            hours.add(c.field)
        elif c.field:
            sets.add(c.field)
    return sets, numbers, hours


def build_pool(
    records: Sequence[Mapping[str, Any]],
    settings: MatchingSettings,
    *,
    week_of: date | None = None,
) -> Pool:
    """A pool from member records: `id`, `role`, optional `capacity`, `priority`, `bounced`
    (the address bounced permanently: not matched) and answers.

    Availability is read from `<field>_utc` (hours of the week in UTC, as intake stores it) or
    parsed from slot texts in the member's `timezone` for the week of `week_of`.
    """
    ids = tuple(str(r["id"]) for r in records)
    if len(set(ids)) != len(ids):
        raise MatchingError("the pool names a member twice")
    set_fields, number_fields, hour_fields = feature_fields(settings)
    return Pool(
        ids=ids,
        roles=np.array([_role(r.get("role")) for r in records], dtype=np.int8),
        capacity=np.array([_capacity(r, settings) for r in records], dtype=np.int32),
        priority=np.array([int(r.get("priority") or 0) for r in records], dtype=np.int32),
        sets=_encode_set_fields(records, set_fields, settings),
        numbers={f: _numbers(records, f, week_of) for f in sorted(number_fields)},
        hours={f: _hours(records, f, week_of) for f in sorted(hour_fields)},
        bounced=np.array([bool(r.get("bounced")) for r in records], dtype=bool),
    )


def _encode_set_fields(
    records: Sequence[Mapping[str, Any]], fields: set[str], settings: MatchingSettings
) -> dict[str, SetFeature]:
    # coverage compares two fields (offers vs seeks): they share one vocabulary
    shared = sorted(
        {
            f
            for c in settings.criteria
            if c.kind == "coverage"
            for f in (c.mentor_field, c.mentee_field)
            if f
        }
    )
    out = {f: encode_sets(r.get(f) for r in records) for f in sorted(fields - set(shared))}
    vocab: dict[str, int] = {}
    display: list[str] = []
    for f in shared:
        out[f] = encode_sets((r.get(f) for r in records), vocab=vocab, display=display)
    width = max(1, len(vocab))
    for f in shared:  # pad to the shared vocabulary
        m = out[f].matrix
        out[f] = _feature(np.pad(m, ((0, 0), (0, width - m.shape[1]))), display)
    return out


def _role(value: Any) -> int:
    text = str(value or "").strip().lower()
    if text not in ROLES:
        raise MatchingError(f"unknown role {text!r} (mentor, mentee, both or peer)")
    return ROLES.index(text)


def _capacity(record: Mapping[str, Any], settings: MatchingSettings) -> int:
    value = record.get("capacity")
    if value is None:
        value = record.get(settings.capacity_field)
    try:
        return max(0, int(value)) if value not in (None, "") else settings.default_capacity
    except (TypeError, ValueError):
        return settings.default_capacity


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return [str(value)]


def encode_sets(
    values: Iterable[Any],
    *,
    vocab: dict[str, int] | None = None,
    display: list[str] | None = None,
) -> SetFeature:
    """Each member's values (a list or one value) as a row of a 0/1 matrix; case is ignored.

    `vocab` and `display` may be shared between fields (and are extended in place).
    """
    vocab = {} if vocab is None else vocab
    display = [] if display is None else display
    seen: dict[Any, int] = {}  # raw answer -> column: most answers repeat
    rows: list[int] = []
    cols: list[int] = []
    count = 0
    for i, value in enumerate(values):
        count = i + 1
        if value is None:
            continue
        for item in (value,) if isinstance(value, str | int | float) else value:
            col = seen.get(item)
            if col is None:
                col = seen[item] = _column(item, vocab, display)
            if col >= 0:
                rows.append(i)
                cols.append(col)
    matrix = np.zeros((count, max(1, len(vocab))), dtype=np.float32)
    matrix[rows, cols] = 1.0
    return _feature(matrix, display)


def _column(item: Any, vocab: dict[str, int], display: list[str]) -> int:
    text = " ".join(str(item).split()) if item is not None else ""
    if not text:
        return -1
    key = text.casefold()
    if key not in vocab:
        vocab[key] = len(vocab)
        display.append(text)
    return vocab[key]


def _feature(matrix: np.ndarray, display: list[str]) -> SetFeature:
    sizes = matrix.sum(axis=1, dtype=np.float32)
    codes = None
    if (sizes <= 1).all():
        codes = np.where(sizes > 0, matrix.argmax(axis=1), -1).astype(np.int32)
    return SetFeature(matrix, sizes, tuple(display), codes)


def _numbers(records: Sequence[Mapping[str, Any]], field: str, week_of: date | None) -> np.ndarray:
    out = np.full(len(records), np.nan, dtype=np.float32)
    for i, r in enumerate(records):
        value = r.get(field)
        if value is None and field == "utc_offset":
            value = _offset_from_zone(r.get("timezone"), week_of)
        try:
            out[i] = float(value) if value not in (None, "") else np.nan
        except (TypeError, ValueError):
            out[i] = np.nan
    return out


def _offset_from_zone(zone: Any, week_of: date | None) -> float | None:
    from mentorflow.intake.timezones import parse_timezone

    if not zone:
        return None
    at = datetime.combine(week_of or date(2000, 1, 3), datetime.min.time(), tzinfo=UTC)
    found = parse_timezone(str(zone), at)
    return found.utc_offset if found else None


def _hours(records: Sequence[Mapping[str, Any]], field: str, week_of: date | None) -> np.ndarray:
    out = np.zeros((len(records), WEEK_HOURS), dtype=np.float32)
    for i, r in enumerate(records):
        hours = r.get(f"{field}_utc")
        if hours is None and r.get(field):
            hours = slot_hours(r.get(field), r.get("timezone"), week_of)
        if hours:
            out[i, np.asarray(list(hours), dtype=np.int64) % WEEK_HOURS] = 1.0
    return out


def slot_hours(slots: Any, zone: Any, week_of: date | None) -> list[int]:
    """UTC hours of the week that slot texts (`Mo 18-20`) cover; unreadable slots are skipped."""
    from mentorflow.intake import availability as avail
    from mentorflow.intake.timezones import parse_timezone

    week = week_of or date(2000, 1, 3)
    at = datetime.combine(week, datetime.min.time(), tzinfo=UTC)
    found = parse_timezone(str(zone or "UTC"), at)
    tz = found.tz if found else UTC
    hours: set[int] = set()
    for text in _values(slots):
        try:
            hours.update(avail.utc_hours(avail.parse_slots(text), tz, week))
        except avail.SlotError:
            continue
    return sorted(hours)
