"""What the intake reads of the typed spec beyond its plain options: field kinds and duties."""

from __future__ import annotations

from mentorflow.spec.model import Intake, ProgramSpec

FIELD_KINDS: dict[str, str] = {
    # canonical member field -> kind of value (mentorflow.spec.model.BUILTIN_FIELDS, typed)
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


def field_kind(intake: Intake, name: str) -> str:
    """The kind of value `name` holds: built-in, else the custom field's type, else text."""
    if name in FIELD_KINDS:
        return FIELD_KINDS[name]
    custom = intake.fields.get(name)
    return custom.type if custom is not None else "text"


def default_role(spec: ProgramSpec) -> str | None:
    """The role of everyone when the form asks none: peer models have no sides."""
    return "peer" if spec.model.type == "peer" else None


def required_fields(spec: ProgramSpec) -> tuple[str, ...]:
    """Fields a row must answer: the mapped built-in ones that drive matching, and role."""
    mapped = set(spec.intake.columns.values())
    builtin = [f for f in REQUIRED_WHEN_MAPPED if f in mapped]
    if "role" not in mapped and default_role(spec) is None:
        builtin.append("role")
    return tuple(builtin)
