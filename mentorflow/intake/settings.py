"""What the intake core needs to know, as frozen values independent of the spec's own classes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

BUILTIN_FIELDS: dict[str, str] = {
    # canonical member field -> kind of value
    "email": "text",
    "name": "text",
    "role": "choice",
    "language": "choice",
    "timezone": "timezone",
    "submitted_at": "timestamp",
    "goals": "list",
    "offers": "list",
    "seeks": "list",
    "skills": "list",
    "languages": "languages",
    "communication": "list",
    "availability": "availability",
    "employer": "text",
    "team": "text",
    "seniority": "number",
    "capacity": "integer",
}

# Built-in fields a row must answer when the form asks them at all (they drive matching).
REQUIRED_WHEN_MAPPED = ("email", "role", "timezone", "availability")


@dataclass(frozen=True)
class CsvSource:
    """A CSV export on disk (UTF-8 with or without BOM; comma or semicolon)."""

    path: Path

    @property
    def label(self) -> str:
        return f"csv:{self.path.name}"


@dataclass(frozen=True)
class SheetSource:
    """A Google Sheet read through gspread with a service account given by reference."""

    key: str
    worksheet: str
    credentials_env: str | None = None
    credentials_block: str | None = None

    @property
    def label(self) -> str:
        return f"sheet:{self.key}/{self.worksheet}"


Source = CsvSource | SheetSource


@dataclass(frozen=True)
class ConsentSettings:
    """The consent question: its column, the answers that mean yes (prefix match), text version."""

    column: str
    accept: tuple[str, ...]
    text_version: str


@dataclass(frozen=True)
class CustomField:
    """A field beyond the built-in ones: `list`, `text`, `number` or `integer`."""

    name: str
    kind: str = "text"
    required: bool = False


@dataclass(frozen=True)
class IntakeSettings:
    """Everything the intake core reads from the spec, and nothing else."""

    program_id: str
    program_name: str
    language: str  # default mail language: de | en
    timezone: str  # organizers' IANA time zone: form timestamps are read in it
    cycle_label: str
    cycle_start: date
    cycle_end: date
    source: Source
    columns: Mapping[str, str]  # form header -> canonical field
    values: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict
    )  # field -> answer -> value
    consent: ConsentSettings | None = None
    closes: date | None = None
    form_url: str | None = None
    timestamp_format: str | None = None
    list_separator: str = ","
    screening: bool = False
    remind_fixable: bool = False
    custom_fields: tuple[CustomField, ...] = ()
    default_role: str | None = None  # peer models have no role question: everyone is `peer`
    default_capacity: int = 1
    capacity_field: str = "capacity"

    def field_kind(self, name: str) -> str:
        if name in BUILTIN_FIELDS:
            return BUILTIN_FIELDS[name]
        for custom in self.custom_fields:
            if custom.name == name:
                return custom.kind
        return "text"

    def required_fields(self) -> tuple[str, ...]:
        mapped = set(self.columns.values())
        builtin = [f for f in REQUIRED_WHEN_MAPPED if f in mapped]
        if "role" not in mapped and self.default_role is None:
            builtin.append("role")
        return (*builtin, *(c.name for c in self.custom_fields if c.required))


def settings_from_spec(spec: Any) -> IntakeSettings:
    """IntakeSettings from a loaded `mentorflow.spec.ProgramSpec`."""
    intake, program = spec.intake, spec.program
    return IntakeSettings(
        program_id=program.id,
        program_name=program.name,
        language=program.language,
        timezone=program.timezone,
        cycle_label=spec.cycle.label,
        cycle_start=spec.cycle.start,
        cycle_end=spec.cycle.end,
        source=_source_from_spec(intake.source),
        columns=dict(intake.columns),
        values={
            name: {str(k): v for k, v in table.items()} for name, table in intake.values.items()
        },
        consent=ConsentSettings(
            intake.consent.column, tuple(intake.consent.accept), intake.consent.text_version
        )
        if intake.consent
        else None,
        closes=intake.closes,
        form_url=intake.form_url,
        timestamp_format=intake.timestamp_format,
        list_separator=intake.list_separator,
        screening=intake.screening,
        remind_fixable=intake.remind_fixable,
        custom_fields=tuple(CustomField(f.name, f.type) for f in intake.fields.values()),
        default_role="peer" if spec.model.type == "peer" else None,
        default_capacity=spec.matching.capacity.default,
        capacity_field=spec.matching.capacity.field,
    )


def _source_from_spec(source: Any) -> Source:
    if source.type == "csv":
        return CsvSource(Path(source.path))
    ref = source.credentials
    return SheetSource(
        key=source.key,
        worksheet=source.worksheet,
        credentials_env=ref.name if ref.kind == "env" else None,
        credentials_block=ref.name if ref.kind == "secret_block" else None,
    )
