"""The intake service: new form rows become members and enrolments of the current cycle.

Per source row exactly one `intake_rows` record exists per cycle (keyed by a hash of its cells),
so a rerun reads the same rows, finds them known and changes nothing. Per normalised address the
latest usable submission (accepted or not consented) wins; earlier ones become `duplicate` (same
run) or `superseded` (an earlier run), and their answers go to the event log.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError

from mentorflow import progress
from mentorflow.clock import Clock
from mentorflow.errors import StoreError
from mentorflow.intake.header import unmapped_columns
from mentorflow.intake.rows import ACCEPTED, NOT_CONSENTED, QUARANTINED, MappedRow, RowMapper
from mentorflow.intake.sources import SourceTable, without_cyclic_gc
from mentorflow.spec.model import ProgramSpec
from mentorflow.store import repo
from mentorflow.store.bulk import BATCH, chunks, insert_many
from mentorflow.store.tables import enrolments, events, intake_rows, members

DUPLICATE, SUPERSEDED = "duplicate", "superseded"
REPORT_EVENT = "intake.report"
LOOKUP = 500  # ids or addresses per IN (...) query
_PRIVATE = ("email", "name")  # live on the member row (erasable), never in enrolment answers
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RAW_CELL = 2_000  # a quarantined row's cells are kept for the organizer, each cut to this


@dataclass(frozen=True)
class QuarantinedRow:
    """A row that could not be used, as the organizer needs to see it (no address, no name)."""

    row_number: int
    reasons: tuple[str, ...]
    member_id: str | None


@dataclass(frozen=True)
class IntakeReport:
    """What one intake run found. Counts cover every row of the source as it is now, so
    accepted + quarantined + not_consented + duplicates == rows_read holds on every run."""

    source: str
    cycle_label: str
    rows_read: int
    new_rows: int
    accepted: int
    quarantined: int
    not_consented: int
    duplicates: int
    newly_enrolled: tuple[str, ...] = ()
    quarantine: tuple[QuarantinedRow, ...] = ()
    unmapped_columns: tuple[str, ...] = ()
    file_lines: int | None = None  # physical lines of a CSV file, header included

    def counts(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "new_rows": self.new_rows,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "not_consented": self.not_consented,
            "duplicates": self.duplicates,
        }


@dataclass
class _Plan:
    """Everything one run writes, gathered first and then written in bulk."""

    new_members: list[dict[str, Any]] = field(default_factory=list)
    member_updates: list[dict[str, Any]] = field(default_factory=list)
    new_enrolments: list[dict[str, Any]] = field(default_factory=list)
    enrolment_updates: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    superseded_rows: list[int] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    newly_enrolled: list[str] = field(default_factory=list)


def row_hashes(rows: Iterable[tuple[int, list[str]]]) -> list[str]:
    """A stable key per row: sha256 of its cells, plus how often the same cells came before."""
    seen: Counter[str] = Counter()
    hashes = []
    for _number, cells in rows:
        digest = hashlib.sha256("\x1f".join(map(str.strip, cells)).encode()).hexdigest()
        seen[digest] += 1
        if seen[digest] > 1:
            digest = hashlib.sha256(f"{digest}#{seen[digest]}".encode()).hexdigest()
        hashes.append(digest)
    return hashes


def ingest(
    engine: Engine, table: SourceTable, spec: ProgramSpec, clock: Clock, run_id: str = ""
) -> IntakeReport:
    """Process the rows of `table` not seen before; one transaction, bulk writes."""
    mapper = RowMapper(spec, table.header)  # raises HeaderMismatchError first
    hashes = row_hashes(table.rows)
    try:
        with without_cyclic_gc():
            return _ingest(engine, table, spec, clock.now(), run_id, mapper, hashes)
    except SQLAlchemyError as error:
        # SQLAlchemy's message lists the statement's parameters (addresses): keep them out of
        # Prefect's logs; `from None` drops the original from the traceback as well.
        kind = type(getattr(error, "orig", None) or error).__name__
        raise StoreError(f"intake could not write to the store ({kind})") from None


def _ingest(
    engine: Engine,
    table: SourceTable,
    spec: ProgramSpec,
    now: datetime,
    run_id: str,
    mapper: RowMapper,
    hashes: list[str],
) -> IntakeReport:
    with engine.begin() as conn:
        repo.ensure_program(
            conn, spec.program.id, spec.program.name, now, str(spec.path), spec.sha256
        )
        cycle = repo.ensure_cycle(
            conn,
            spec.program.id,
            spec.cycle.label,
            spec.cycle.start,
            spec.cycle.end,
            now,
        )
        _roomy_cache(conn)
        known = _known_rows(conn, cycle.id, table.label)
        fresh = _map_fresh(mapper, table, hashes, known)
        plan = _Plan()
        if fresh:
            emails = {mapped.email for mapped, _, _ in fresh if mapped.email}
            writer = _Writer(conn, spec, cycle.id, table, now, run_id, emails)
            plan = writer.plan(fresh)
            writer.write(plan)
        outcomes = _current_outcomes(hashes, known, plan)
        found = _report(conn, spec, cycle.id, table, hashes, outcomes, len(fresh), plan)
        _log_report(conn, spec, cycle.id, found, now)
        return found


def _map_fresh(
    mapper: RowMapper, table: SourceTable, hashes: list[str], known: dict[str, Any]
) -> list[tuple[MappedRow, str, list[str]]]:
    """The rows not seen before, mapped; progress reported per BATCH rows checked."""
    fresh: list[tuple[MappedRow, str, list[str]]] = []
    with progress.track("intake: rows checked", len(table.rows)) as bar:
        for start in range(0, len(hashes), BATCH):
            rows, digests = table.rows[start : start + BATCH], hashes[start : start + BATCH]
            fresh += [
                (mapper.map(cells, number, table.flaws.get(number)), digest, cells)
                for (number, cells), digest in zip(rows, digests, strict=True)
                if digest not in known
            ]
            bar.advance(len(rows))
    return fresh


def _log_report(
    conn: Connection, spec: ProgramSpec, cycle_id: int, found: IntakeReport, now: datetime
) -> None:
    """The quarantine list in the event log, when it changed: the CLI prints it after the run
    (the Prefect artifact may live on a temporary server). Row numbers and reasons only."""
    data = {
        "source": found.source,
        "quarantine": [{"row": q.row_number, "reasons": list(q.reasons)} for q in found.quarantine],
    }
    if latest_report(conn, spec.program.id, spec.cycle.label) == data:
        return  # a rerun that changed nothing writes nothing
    repo.log_event(
        conn,
        program_id=spec.program.id,
        kind=REPORT_EVENT,
        at=now,
        cycle_id=cycle_id,
        data=data,
    )


def latest_report(conn: Connection, program_id: str, cycle_label: str) -> dict[str, Any] | None:
    """The data of the newest `intake.report` event of the program's cycle, or None."""
    cycle = repo.get_cycle(conn, program_id, cycle_label)
    if cycle is None:
        return None
    query = (
        select(events.c.data)
        .where(events.c.cycle_id == cycle.id, events.c.kind == REPORT_EVENT)
        .order_by(events.c.id.desc())
        .limit(1)
    )
    data = conn.execute(query).scalar_one_or_none()
    return dict(data) if data else None


def _roomy_cache(conn: Connection) -> None:
    # SQLite's default 2 MB page cache makes inserts into the hash and address indexes seek the
    # disk past ~50,000 rows; 64 MB keeps 100,000 rows in memory (this connection only).
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size=-65536")


def _known_rows(conn: Connection, cycle_id: int, source: str) -> dict[str, tuple[int, str]]:
    """Rows of this source read by earlier runs: hash -> (id, outcome)."""
    query = select(intake_rows.c.row_hash, intake_rows.c.id, intake_rows.c.outcome).where(
        intake_rows.c.cycle_id == cycle_id, intake_rows.c.source == source
    )
    return {digest: (row_id, outcome) for digest, row_id, outcome in conn.execute(query)}


def _current_outcomes(
    hashes: list[str], known: dict[str, tuple[int, str]], plan: _Plan
) -> Counter[str]:
    """The outcome of every row of the source as it is after this run's writes."""
    new = {row["row_hash"]: row["outcome"] for row in plan.rows}
    superseded = set(plan.superseded_rows)
    counts: Counter[str] = Counter()
    for digest in hashes:
        if digest in new:
            counts[new[digest]] += 1
        else:
            row_id, outcome = known[digest]
            counts[SUPERSEDED if row_id in superseded else outcome] += 1
    return counts


class _Writer:
    """Plans and writes one run's changes for one cycle and source."""

    def __init__(
        self,
        conn: Connection,
        spec: ProgramSpec,
        cycle_id: int,
        table: SourceTable,
        now: datetime,
        run_id: str,
        emails: set[str],
    ) -> None:
        self.conn, self.spec, self.cycle_id = conn, spec, cycle_id
        self.source, self.header, self.now, self.run_id = table.label, table.header, now, run_id
        self.member_ids = self._load_members(sorted(emails))
        known = sorted(self.member_ids.values())
        self.enrolled = self._load_enrolments(known)
        self.winning_rows = self._load_winning_rows(known)
        self._ids: list[str] = []

    def _load_members(self, emails: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(emails, LOOKUP):
            query = select(members.c.email, members.c.id).where(
                members.c.program_id == self.spec.program.id, members.c.email.in_(chunk)
            )
            found.update((row.email, row.id) for row in self.conn.execute(query))
        return found

    def _load_enrolments(self, member_ids: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for chunk in chunks(member_ids, LOOKUP):
            query = select(
                enrolments.c.member_id,
                enrolments.c.status,
                enrolments.c.submitted_at,
                enrolments.c.source_row,
            ).where(enrolments.c.cycle_id == self.cycle_id, enrolments.c.member_id.in_(chunk))
            found.update((row.member_id, row) for row in self.conn.execute(query))
        return found

    def _load_winning_rows(self, member_ids: list[str]) -> dict[str, list[Any]]:
        """Rows of this source that decided a member's state so far (or wait in quarantine)."""
        found: dict[str, list[Any]] = defaultdict(list)
        for chunk in chunks(member_ids, LOOKUP):
            query = select(
                intake_rows.c.id,
                intake_rows.c.member_id,
                intake_rows.c.outcome,
                intake_rows.c.row_number,
            ).where(
                intake_rows.c.cycle_id == self.cycle_id,
                intake_rows.c.source == self.source,
                intake_rows.c.member_id.in_(chunk),
                intake_rows.c.outcome.in_((ACCEPTED, NOT_CONSENTED, QUARANTINED)),
            )
            for row in self.conn.execute(query):
                found[row.member_id].append(row)
        return found

    # --- planning ---------------------------------------------------------------------------

    def plan(self, fresh: list[tuple[MappedRow, str, list[str]]]) -> _Plan:
        plan = _Plan()
        by_email: dict[str, list[tuple[MappedRow, str, list[str]]]] = defaultdict(list)
        for item in fresh:
            mapped = item[0]
            if mapped.outcome != QUARANTINED and mapped.email:
                by_email[mapped.email].append(item)
            elif mapped.outcome == NOT_CONSENTED:  # no usable address: nobody to tell
                self._add_row(plan, item, NOT_CONSENTED, None)
        winners: dict[str, tuple[str, tuple[datetime, int]]] = {}  # email -> (member, order)
        for email, items in by_email.items():
            winners[email] = self._settle(plan, email, sorted(items, key=_order))
        for item in fresh:
            if item[0].outcome == QUARANTINED:
                self._quarantine(plan, item, winners)
        return plan

    def _settle(
        self, plan: _Plan, email: str, items: list[tuple[MappedRow, str, list[str]]]
    ) -> tuple[str, tuple[datetime, int]]:
        """The latest usable row for one address decides; earlier ones are kept as events."""
        *earlier, newest = items
        last: tuple[MappedRow, str, list[str]] | None = newest
        member_id = self.member_ids.get(email)
        existing = self.enrolled.get(member_id) if member_id else None
        stored_order = (
            (_aware(existing.submitted_at), existing.source_row or 0) if existing else None
        )
        if stored_order is not None and _order(newest) < stored_order:
            earlier, last = items, None  # all older than what the store has
        decider = (last or items[-1])[0]
        if member_id is None:
            member_id = self._new_member(plan, email, decider)
        elif last is not None:
            plan.member_updates.append({"m_id": member_id, **self._member_values(decider)})
        for item in earlier:
            self._add_row(plan, item, DUPLICATE, member_id)
            self._event(plan, member_id, "intake.superseded", _event_data(item[0]))
        if last is None:
            assert stored_order is not None
            return member_id, stored_order
        self._apply(plan, member_id, last[0], existing)
        self._add_row(plan, last, last[0].outcome, member_id)
        return member_id, _order(last)

    def _new_member(self, plan: _Plan, email: str, mapped: MappedRow) -> str:
        if not self._ids:
            self._ids = repo.new_member_ids(1024)
        member_id = self._ids.pop()
        self.member_ids[email] = member_id
        plan.new_members.append(
            {
                "id": member_id,
                "program_id": self.spec.program.id,
                "email": email,
                "created_at": self.now,
                **self._member_values(mapped),
            }
        )
        return member_id

    def _member_values(self, mapped: MappedRow) -> dict[str, Any]:
        """Member columns from a row; a row without consent keeps only the mail language."""
        consented = mapped.outcome != NOT_CONSENTED
        record = mapped.record
        return {
            "name": record.get("name") if consented else None,
            "language": record.get("language"),
            "timezone": record.get("timezone") if consented else None,
            "consent_at": (mapped.submitted_at or self.now) if consented else None,
            "consent_version": self._consent_version() if consented else None,
            "updated_at": self.now,
        }

    def _apply(self, plan: _Plan, member_id: str, mapped: MappedRow, existing: Any) -> None:
        """Member and enrolment take the winning row's answers; the old answers become an event."""
        consented = mapped.outcome == ACCEPTED
        record = mapped.record
        status = self._status(consented, existing)
        answers = {k: v for k, v in record.items() if k not in _PRIVATE} if consented else {}
        values = {
            "role": record.get("role", "none") if consented else "none",
            "status": status,
            "answers": answers,
            "capacity": self._capacity(record),
            "submitted_at": mapped.submitted_at,
            "source_row": mapped.row_number,
            "updated_at": self.now,
        }
        if existing is None:
            plan.new_enrolments.append(
                {
                    "cycle_id": self.cycle_id,
                    "member_id": member_id,
                    "priority": 0,
                    "created_at": self.now,
                    **values,
                }
            )
        else:
            plan.enrolment_updates.append({"m_id": member_id, **values})
            self._event(
                plan,
                member_id,
                "intake.superseded",
                {
                    "source_row": existing.source_row,
                    "status": existing.status,
                    "submitted_at": _iso(existing.submitted_at),
                    "answers": self._answers(member_id),
                },
            )
        for row in self.winning_rows.get(member_id, []):
            if row.outcome != QUARANTINED or consented:
                plan.superseded_rows.append(row.id)
        if status == "enrolled" and (existing is None or existing.status != "enrolled"):
            plan.newly_enrolled.append(member_id)

    def _answers(self, member_id: str) -> Any:
        query = select(enrolments.c.answers).where(
            enrolments.c.cycle_id == self.cycle_id, enrolments.c.member_id == member_id
        )
        return self.conn.execute(query).scalar_one()

    def _status(self, consented: bool, existing: Any) -> str:
        if not consented:
            return "not_enrolled"
        if existing is not None and existing.status in ("enrolled", "pending_approval", "declined"):
            return str(existing.status)
        return "pending_approval" if self.spec.intake.screening else "enrolled"

    def _capacity(self, record: dict[str, Any]) -> int:
        value = record.get(self.spec.matching.capacity.field)
        return int(value) if isinstance(value, int | float) else self.spec.matching.capacity.default

    def _consent_version(self) -> str | None:
        return self.spec.intake.consent.text_version if self.spec.intake.consent else None

    def _quarantine(
        self,
        plan: _Plan,
        item: tuple[MappedRow, str, list[str]],
        winners: dict[str, tuple[str, tuple[datetime, int]]],
    ) -> None:
        mapped = item[0]
        email = mapped.email
        if email and email in winners and _order(item) <= winners[email][1]:
            # the same person signed up successfully later: this broken row is superseded
            self._add_row(plan, item, DUPLICATE, winners[email][0])
            return
        member_id = self.member_ids.get(email) if email else None
        if email and member_id is None and mapped.fixable and self.spec.intake.remind_fixable:
            member_id = self._new_member(plan, email, mapped)  # so the fix mail can reach them
        self._add_row(plan, item, QUARANTINED, member_id)

    def _add_row(
        self,
        plan: _Plan,
        item: tuple[MappedRow, str, list[str]],
        outcome: str,
        member_id: str | None,
    ) -> None:
        mapped, digest, cells = item
        raw = None
        if outcome == QUARANTINED:  # kept so the organizer can fix it; erased with the member
            kept = [c if len(c) <= _RAW_CELL else c[:_RAW_CELL] + "…" for c in cells]
            raw = {"cells": dict(zip(self.header, kept, strict=False)), "fixable": mapped.fixable}
        plan.rows.append(
            {
                "cycle_id": self.cycle_id,
                "source": self.source,
                "row_number": mapped.row_number,
                "row_hash": digest,
                "outcome": outcome,
                "member_id": member_id,
                "reasons": mapped.reasons if outcome == QUARANTINED else [],
                "raw": raw,
                "fix_mail_sent": False,
                "run_id": self.run_id,
                "created_at": self.now,
            }
        )

    def _event(self, plan: _Plan, member_id: str, kind: str, data: dict[str, Any]) -> None:
        plan.events.append(
            {
                "program_id": self.spec.program.id,
                "cycle_id": self.cycle_id,
                "member_id": member_id,
                "kind": kind,
                "data": {"source": self.source, **data},
                "at": self.now,
            }
        )

    # --- writing ----------------------------------------------------------------------------

    def write(self, plan: _Plan) -> None:
        conn = self.conn
        insert_many(conn, members, plan.new_members)
        _bulk(conn, _update_by_member(members, members.c.id), plan.member_updates)
        insert_many(conn, enrolments, plan.new_enrolments)
        enrolment_update = _update_by_member(enrolments, enrolments.c.member_id).where(
            enrolments.c.cycle_id == self.cycle_id
        )
        _bulk(conn, enrolment_update, plan.enrolment_updates)
        if plan.superseded_rows:
            _bulk(
                conn,
                update(intake_rows)
                .where(intake_rows.c.id == bindparam("r_id"))
                .values(outcome=SUPERSEDED),
                [{"r_id": row_id} for row_id in plan.superseded_rows],
            )
        insert_many(conn, intake_rows, plan.rows)
        insert_many(conn, events, plan.events)


def _update_by_member(table: Any, key: Any) -> Any:
    return update(table).where(key == bindparam("m_id"))


def _bulk(conn: Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    for chunk in chunks(rows, BATCH):
        conn.execute(statement, chunk)


def _order(item: tuple[MappedRow, str, list[str]]) -> tuple[datetime, int]:
    return (_when(item[0]), item[0].row_number)


def _when(mapped: MappedRow) -> datetime:
    return mapped.submitted_at or _EPOCH


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return _EPOCH
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the offset


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value else None


def _event_data(mapped: MappedRow) -> dict[str, Any]:
    answers = {k: v for k, v in mapped.record.items() if k not in _PRIVATE}
    return {
        "source_row": mapped.row_number,
        "outcome": mapped.outcome,
        "submitted_at": _iso(mapped.submitted_at),
        "answers": answers,
    }


def _report(
    conn: Connection,
    spec: ProgramSpec,
    cycle_id: int,
    table: SourceTable,
    hashes: list[str],
    outcomes: Counter[str],
    new_rows: int,
    plan: _Plan,
) -> IntakeReport:
    mine = (intake_rows.c.cycle_id == cycle_id, intake_rows.c.source == table.label)
    current = set(hashes)
    query = (
        select(
            intake_rows.c.row_hash,
            intake_rows.c.row_number,
            intake_rows.c.reasons,
            intake_rows.c.member_id,
        )
        .where(*mine, intake_rows.c.outcome == QUARANTINED)
        .order_by(intake_rows.c.row_number)
    )
    quarantine = tuple(
        QuarantinedRow(row.row_number, tuple(row.reasons), row.member_id)
        for row in conn.execute(query)
        if row.row_hash in current
    )
    return IntakeReport(
        source=table.label,
        cycle_label=spec.cycle.label,
        rows_read=len(hashes),
        new_rows=new_rows,
        accepted=outcomes[ACCEPTED],
        quarantined=outcomes[QUARANTINED],
        not_consented=outcomes[NOT_CONSENTED],
        duplicates=outcomes[DUPLICATE] + outcomes[SUPERSEDED],
        newly_enrolled=tuple(plan.newly_enrolled),
        quarantine=quarantine,
        unmapped_columns=tuple(unmapped_columns(table.header, spec.intake)),
        file_lines=table.lines,
    )
