"""One form row to a canonical member record, or to every reason it cannot be one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, tzinfo
from typing import Any

from mentorflow.intake import availability as avail
from mentorflow.intake.addresses import AddressChecker
from mentorflow.intake.fields import default_role, field_kind, required_fields
from mentorflow.intake.header import column_indices
from mentorflow.intake.timezones import parse_timezone
from mentorflow.intake.validation import MemberValidator
from mentorflow.intake.values import (
    LANGUAGE_ANSWERS,
    MAIL_LANGUAGES,
    ROLE_ANSWERS,
    is_consent,
    parse_number,
    parse_timestamp,
    split_list,
    squash,
    squashed_table,
)
from mentorflow.spec.model import NO_PREFERENCE, ProgramSpec

ACCEPTED, QUARANTINED, NOT_CONSENTED = "accepted", "quarantined", "not_consented"
_OWN_PARSING = ("name", "email", "language")  # read before the other fields, by their own code
MAX_CELL = 131_072  # the csv module's own limit: a longer cell is no answer to a form question
# Reasons reach the Prefect UI and the CLI: they name the field and the problem, and never
# repeat what someone typed (a name typed into the wrong question would be shown to everyone).


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be used; `fixable` when the person can correct it in the form."""

    field: str
    message: str
    fixable: bool = True

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class MappedRow:
    """The outcome for one row; `record` holds canonical fields (email and name included)."""

    row_number: int
    outcome: str
    email: str | None  # normalised and mailable, else None
    record: dict[str, Any] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    submitted_at: datetime | None = None

    @property
    def reasons(self) -> list[str]:
        return [str(p) for p in self.problems]

    @property
    def fixable(self) -> bool:
        return (
            bool(self.problems) and self.email is not None and all(p.fixable for p in self.problems)
        )


class RowMapper:
    """Maps rows of one source with one header; built once per run, used for every row."""

    def __init__(self, spec: ProgramSpec, header: list[str]) -> None:
        self.spec, self.intake = spec, spec.intake
        intake = spec.intake
        self.width = len(header)
        self.fields = column_indices(header, intake)  # field -> column index
        self.consent_index = self.fields.pop("__consent__", None)
        self.program_tz: tzinfo = spec.program.zone
        self.cycle_noon = datetime.combine(spec.cycle.start, time(12), tzinfo=UTC)
        self.tables = {name: squashed_table(table) for name, table in intake.values.items()}
        self.required = required_fields(spec)
        self.default_role = default_role(spec)
        self.validator = MemberValidator(tuple(intake.fields.values()))
        self.addresses = AddressChecker()
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._parsers: dict[str, Callable[[str, str, dict[str, Any], list[Problem]], None]] = {
            "list": self._list,
            "languages": self._languages,
            "choice": self._choice,
            "number": self._number,
            "integer": self._number,
            "text": self._text,
        }
        self._field_parsers = [
            (name, self._parsers[field_kind(intake, name)])
            for name in self.fields
            if field_kind(intake, name) in self._parsers and name not in _OWN_PARSING
        ]

    def map(self, cells: list[str], row_number: int, flaw: str | None = None) -> MappedRow:
        """The row's outcome; `flaw` (from the reader) quarantines it before any field is read."""
        flaw = flaw or self._shape_flaw(cells)
        if flaw is not None:  # a cell may sit under the wrong question: read none of them
            return MappedRow(row_number, QUARANTINED, None, {}, (Problem("row", flaw, False),))
        problems: list[Problem] = []
        get = self._answers(cells).__getitem__
        email = self._email(get("email"), problems)
        submitted = self._submitted_at(get("submitted_at"), problems)
        if self.consent_index is not None and not is_consent(
            cells[self.consent_index] if self.consent_index < len(cells) else "",
            self.intake.consent.accept if self.intake.consent else (),
        ):
            return self._not_consented(row_number, email, get, submitted)
        record = self._record(get, problems)
        if email:
            record["email"] = email
        if submitted is not None:
            record["submitted_at"] = submitted.isoformat()
            self._check_closed(submitted, problems)
        problems.extend(self._missing(record, problems))
        problems.extend(self._schema_problems(record, problems))
        outcome = QUARANTINED if problems or email is None else ACCEPTED
        return MappedRow(row_number, outcome, email, record, tuple(problems), submitted)

    def _shape_flaw(self, cells: list[str]) -> str | None:
        """Why the row's cells cannot be trusted to sit under their header, or None.

        More cells than the header (an unquoted delimiter in an answer) or fewer (a line break
        in an unquoted answer) shift every later answer under another question: the consent
        cell would be read from the wrong column. Empty cells past the header are fine
        (spreadsheets write them); a Google Sheet's rows are padded to the header by the reader.
        """
        count = len(cells)
        if count > self.width and any(c.strip() for c in cells[self.width :]):
            return (
                f"has {count} cells but the header has {self.width}: an answer probably holds "
                "an unquoted separator; fix the row in the file"
            )
        if count < self.width:
            return (
                f"has {count} cells but the header has {self.width}: an answer probably holds "
                "an unquoted line break; fix the row in the file"
            )
        if any(len(c) > MAX_CELL for c in cells):
            return f"has a cell longer than {MAX_CELL:,} characters"
        return None

    def _answers(self, cells: list[str]) -> defaultdict[str, str]:
        """Field -> trimmed answer; fields the form does not ask read as empty."""
        width = len(cells)
        answers: defaultdict[str, str] = defaultdict(str)
        for name, index in self.fields.items():
            if index < width:
                answers[name] = cells[index].strip()
        return answers

    def _not_consented(
        self,
        row_number: int,
        email: str | None,
        get: Callable[[str], str],
        submitted: datetime | None,
    ) -> MappedRow:
        # Data minimisation: keep only what the `not_enrolled` mail needs.
        record: dict[str, Any] = {"language": self._mail_language(get("language"))}
        if email:
            record["email"] = email
        return MappedRow(row_number, NOT_CONSENTED, email, record, (), submitted)

    def _email(self, raw: str, problems: list[Problem]) -> str | None:
        if not raw:
            problems.append(Problem("email", "missing answer", False))
            return None
        checked = self.addresses.check(raw)
        if checked.email is None:
            problems.append(Problem("email", f"not a valid address: {checked.reason}", False))
        return checked.email

    def _submitted_at(self, raw: str, problems: list[Problem]) -> datetime | None:
        if "submitted_at" not in self.fields or not raw:
            return None
        parsed = parse_timestamp(raw, self.intake.timestamp_format, self.program_tz)
        if parsed is None:
            problems.append(Problem("submitted_at", "is not a timestamp", False))
            return None
        return parsed.astimezone(UTC)

    def _check_closed(self, submitted: datetime, problems: list[Problem]) -> None:
        closes = self.intake.closes
        if closes is not None and submitted.astimezone(self.program_tz).date() > closes:
            problems.append(
                Problem("submitted_at", f"after intake closed on {closes.isoformat()}", False)
            )

    def _record(self, get: Callable[[str], str], problems: list[Problem]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        name = get("name")
        if name:
            record["name"] = " ".join(name.split())
        record["language"] = self._mail_language(get("language"))
        zone = self._timezone(get("timezone"), record, problems)
        for name, parse in self._field_parsers:
            raw = get(name)
            if raw:
                parse(name, raw, record, problems)
        if "availability" in self.fields:
            self._availability(get("availability"), zone, record, problems)
        if "role" not in record and "role" not in self.fields and self.default_role:
            record["role"] = self.default_role
        return record

    def _mail_language(self, raw: str) -> str:
        table = self.tables.get("language", {})
        code = str(table.get(squash(raw)) or LANGUAGE_ANSWERS.get(squash(raw)))
        return code if code in MAIL_LANGUAGES else self.spec.program.language

    def _timezone(self, raw: str, record: dict[str, Any], problems: list[Problem]) -> tzinfo | None:
        if "timezone" not in self.fields:
            raw = self.spec.program.timezone
        elif not raw:
            return None  # reported by `_missing`
        found = parse_timezone(raw, self.cycle_noon)
        if found is None:
            problems.append(Problem("timezone", "is not a time zone (e.g. Europe/Berlin, UTC+2)"))
            return None
        record["timezone"], record["utc_offset"] = found.canonical, found.utc_offset
        return found.tz

    def _availability(
        self, raw: str, zone: tzinfo | None, record: dict[str, Any], problems: list[Problem]
    ) -> None:
        canonical, hours, found = self._memo(("availability", raw, zone), self._slots, raw, zone)
        problems.extend(found)
        if canonical:
            record["availability"] = list(canonical)
        if hours is not None:
            record["availability_utc"] = list(hours)

    def _slots(
        self, raw: str, zone: tzinfo | None
    ) -> tuple[tuple[str, ...], tuple[int, ...] | None, tuple[Problem, ...]]:
        slots: list[avail.Slot] = []
        problems = []
        for position, item in enumerate(split_list(raw, self.intake.list_separator), start=1):
            try:
                slots.extend(avail.parse_slots(item))
            except avail.SlotError as error:
                problems.append(Problem("availability", f"part {position} of the answer: {error}"))
        canonical = tuple(dict.fromkeys(s.canonical for s in slots))
        if not slots or zone is None:
            return canonical, None, tuple(problems)
        hours = avail.utc_hours(tuple(slots), zone, self.spec.cycle.start)
        return canonical, tuple(hours), tuple(problems)

    def _memo(self, key: tuple[Any, ...], compute: Callable[..., Any], *args: Any) -> Any:
        """Checkbox answers repeat from row to row: parse each distinct answer once per run."""
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 100_000:  # free text must not grow it without bound
                self._cache.clear()
            found = self._cache[key] = compute(*args)
        return found

    def _list(self, name: str, raw: str, record: dict[str, Any], _p: list[Problem]) -> None:
        record[name] = list(self._memo((name, raw), self._items, name, raw, False))

    def _languages(self, name: str, raw: str, record: dict[str, Any], _p: list[Problem]) -> None:
        record[name] = list(self._memo((name, raw), self._items, name, raw, True))

    def _items(self, name: str, raw: str, languages: bool) -> tuple[str, ...]:
        table = self.tables.get(name, {})
        items: list[str] = []
        open_to_all = False
        for item in split_list(raw, self.intake.list_separator):
            key = squash(item)
            known = table.get(key)
            if known is None and key in table:  # the spec maps it to null: no preference
                open_to_all = True
            elif isinstance(known, tuple):  # one answer standing for several values
                items.extend(known)
            elif known:
                items.append(str(known))
            elif item != NO_PREFERENCE:  # typed, `*` is no answer: only the spec says "egal"
                items.append(LANGUAGE_ANSWERS.get(key, key) if languages else item)
        if open_to_all and not items:  # "egal, Python" is a preference for Python
            items.append(NO_PREFERENCE)
        return tuple(dict.fromkeys(items))

    def _choice(self, name: str, raw: str, record: dict[str, Any], problems: list[Problem]) -> None:
        table = {**(ROLE_ANSWERS if name == "role" else {}), **self.tables.get(name, {})}
        value = table.get(squash(raw))
        if not isinstance(value, str):
            known = ", ".join(sorted(self.intake.values.get(name, {}))) or "mentor, mentee"
            problems.append(Problem(name, f"is not one of the answers offered ({known})"))
            return
        record[name] = value

    def _number(self, name: str, raw: str, record: dict[str, Any], problems: list[Problem]) -> None:
        mapped = self.tables.get(name, {}).get(squash(raw))
        given = mapped if isinstance(mapped, int | float) and not isinstance(mapped, bool) else None
        value = float(given) if given is not None else parse_number(raw)
        if value is None:
            problems.append(Problem(name, self.validator.number_rule(name)))
            return
        if field_kind(self.intake, name) == "integer":
            if value != int(value):
                problems.append(Problem(name, self.validator.number_rule(name)))
                return
            record[name] = int(value)
        else:
            record[name] = value

    def _text(self, name: str, raw: str, record: dict[str, Any], _p: list[Problem]) -> None:
        table = self.tables.get(name, {})
        key = squash(raw)
        if key not in table:
            if raw != NO_PREFERENCE:  # typed, `*` is no answer: only the spec says "egal"
                record[name] = " ".join(raw.split())
            return
        known = table[key]
        record[name] = NO_PREFERENCE if known is None else str(known)

    def _schema_problems(self, record: dict[str, Any], problems: list[Problem]) -> list[Problem]:
        reported = {p.field for p in problems}
        found = []
        for text in self.validator.problems(record):
            where, _, message = text.partition(": ")
            if where.split(".")[0] not in reported:
                found.append(Problem(where, message, where != "email"))
        return found

    def _missing(self, record: dict[str, Any], problems: list[Problem]) -> list[Problem]:
        reported = {p.field for p in problems}
        return [
            Problem(name, "missing answer", name != "email")
            for name in self.required
            if name not in record and name not in reported
        ]
