"""Typed, frozen views of a validated program spec; nothing downstream reads the raw YAML."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from mentorflow.errors import SpecError

BUILTIN_TEMPLATES: frozenset[str] = frozenset(
    {
        "welcome",
        "not_enrolled",
        "fix_signup",
        "introduction",
        "waitlist",
        "kickoff",
        "check_in",
        "reminder",
        "survey_invitation",
        "survey_nudge",
        "rematch_offer",
        "closure",
        "alumni_invitation",
        "organizer_digest",
        "run_failed",
        "answer_reminder",
        "organizer_signin",
    }
)
"""Templates under notifications/<name>/ that every spec may name."""

BUILTIN_FIELDS: frozenset[str] = frozenset(
    {
        "email",
        "name",
        "role",
        "language",
        "timezone",
        "submitted_at",
        "goals",
        "offers",
        "seeks",
        "skills",
        "languages",
        "communication",
        "availability",
        "employer",
        "team",
        "seniority",
        "capacity",
    }
)
"""Canonical member fields a form column may fill (see docs/ARCHITECTURE.md)."""

DERIVED_FIELDS: Mapping[str, str] = {"utc_offset": "timezone"}
"""Fields computed from another field (derived -> source); criteria may name them."""

CRITERION_DEFAULT_FIELD: Mapping[str, str] = {
    "distance": "utc_offset",
    "availability": "availability",
    "seniority": "seniority",
}
COVERAGE_DEFAULT_FIELDS = ("offers", "seeks")  # (mentor_field, mentee_field)
CRITERION_DEFAULTS: Mapping[str, float] = {"scale": 12.0, "target_hours": 2.0, "min_gap": 1.0}
GROUP_SIZE_DEFAULTS: Mapping[str, tuple[int, int]] = {"group": (3, 6), "peer": (2, 2)}
ACTION_DEFAULT_TEMPLATE: Mapping[str, str] = {
    "check_in": "check_in",
    "survey": "survey_invitation",
}

NO_PREFERENCE = "*"
"""The stored value of an answer the spec maps to `null` ("egal"): any value is fine.

Intake stores it as the field's only value; matching scores a pair with it as neutral (half the
criterion's weight) and explanations never show it as shared.
"""

AnswerValue = str | float | bool | tuple[str, ...] | None
"""What `intake.values` maps one answer to: a value, several (a list), or no preference (null)."""

LIST_KINDS: frozenset[str] = frozenset(
    {"goals", "offers", "seeks", "skills", "languages", "communication"}
)
"""Built-in fields that hold several values (multi-select answers)."""

NO_PREFERENCE_NEVER: frozenset[str] = frozenset(
    {"email", "name", "role", "language", "timezone", "submitted_at", "availability"}
    | {"seniority", "capacity"}
)
"""Built-in fields an answer cannot leave open: they identify, route or are numbers."""

_DURATION = re.compile(r"^([0-9]+)([dw])$")

ModelType = Literal["one_to_one", "group", "peer", "reverse", "rotational"]
Language = Literal["de", "en"]


def parse_duration(text: str) -> timedelta:
    """`90d` -> 90 days, `12w` -> 84 days (the schema has checked the form)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    number, unit = int(match.group(1)), match.group(2)
    return timedelta(days=number * (7 if unit == "w" else 1))


@dataclass(frozen=True)
class SecretRef:
    """Where a credential lives: an environment variable or a Prefect Secret block (by name)."""

    kind: Literal["env", "secret_block"]
    name: str

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        """The value of an `env` reference; Secret blocks are resolved by the flows."""
        if self.kind != "env":
            raise SpecError(f"secret block `{self.name}` must be loaded by the flow, not the core")
        value = (os.environ if environ is None else environ).get(self.name)
        if value is None:
            raise SpecError(f"environment variable {self.name} is not set")
        return value


@dataclass(frozen=True)
class Organizer:
    email: str
    name: str | None


@dataclass(frozen=True)
class Program:
    id: str
    name: str
    language: Language
    timezone: str
    organizers: tuple[Organizer, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: Literal["starttls", "ssl", "none"]
    username: SecretRef | None
    password: SecretRef | None
    timeout_seconds: float


@dataclass(frozen=True)
class Sender:
    from_name: str
    from_address: str
    reply_to: str | None
    base_url: str | None
    smtp: Smtp | None  # None: mails become .eml files in MENTORFLOW_HOME/outbox
    daily_limit: int
    dry_run: bool


@dataclass(frozen=True)
class GroupSize:
    min: int
    max: int


@dataclass(frozen=True)
class Model:
    type: ModelType
    group_size: GroupSize | None  # group and peer only (defaults 3-6 and 2-2)
    round_length: timedelta | None  # rotational only
    rounds: tuple[
        date, ...
    ]  # start date of each round; one round (the cycle start) unless rotational

    @property
    def round_count(self) -> int:
        return len(self.rounds)


@dataclass(frozen=True)
class Cycle:
    start: date
    duration: timedelta

    @property
    def end(self) -> date:
        """start + duration: the day after the last full day; milestones may fall on it."""
        return self.start + self.duration

    @property
    def label(self) -> str:
        """How the store and outbox keys name this cycle: the start date, ISO."""
        return self.start.isoformat()


@dataclass(frozen=True)
class CsvSource:
    path: Path  # absolute: resolved against the spec's folder
    type: Literal["csv"] = "csv"

    @property
    def label(self) -> str:
        """How the store and reports name the source: `csv:<file name>`."""
        return f"csv:{self.path.name}"


@dataclass(frozen=True)
class GoogleSheetSource:
    key: str
    worksheet: str
    credentials: SecretRef
    type: Literal["google_sheet"] = "google_sheet"

    @property
    def label(self) -> str:
        """How the store and reports name the source: `sheet:<key>/<worksheet>`."""
        return f"sheet:{self.key}/{self.worksheet}"


@dataclass(frozen=True)
class Consent:
    column: str
    accept: tuple[str, ...]
    text_version: str


@dataclass(frozen=True)
class CustomField:
    name: str
    type: Literal["text", "list", "number"]
    description: str | None


@dataclass(frozen=True)
class Intake:
    source: CsvSource | GoogleSheetSource
    closes: date | None
    form_url: str | None  # linked from not_enrolled and fix_signup mails
    timestamp_format: str | None  # None: ISO 8601 or "%d.%m.%Y %H:%M:%S"
    list_separator: str
    columns: Mapping[str, str]  # form header -> canonical field
    values: Mapping[str, Mapping[str, AnswerValue]]  # field -> {answer: value}
    consent: Consent | None
    screening: bool
    remind_fixable: bool
    fields: Mapping[str, CustomField]  # custom fields by name

    @property
    def mapped_fields(self) -> frozenset[str]:
        """Fields the form fills, plus the ones derived from them (utc_offset from timezone)."""
        mapped = set(self.columns.values())
        mapped.update(d for d, source in DERIVED_FIELDS.items() if source in mapped)
        return frozenset(mapped)


CriterionKind = Literal[
    "overlap",
    "coverage",
    "distance",
    "availability",
    "same",
    "different",
    "required_common",
    "seniority",
]


@dataclass(frozen=True)
class Criterion:
    """One scoring criterion; only the attributes of its kind are set (others are None)."""

    kind: CriterionKind
    weight: float  # required_common: 0.0 (a hard rule, not a score)
    field: str | None = None  # every kind but coverage
    mentor_field: str | None = None  # coverage
    mentee_field: str | None = None  # coverage
    scale: float | None = None  # distance
    target_hours: float | None = None  # availability
    min_gap: float | None = None  # seniority

    @property
    def is_hard(self) -> bool:
        return self.kind == "required_common"


@dataclass(frozen=True)
class Capacity:
    field: str
    default: int


@dataclass(frozen=True)
class HardRules:
    different: tuple[str, ...]
    no_repeat_pairs: bool


@dataclass(frozen=True)
class Matching:
    objective: Literal["max_score", "max_matched"]
    approval: Literal["organizer", "automatic"]
    capacity: Capacity
    seed: int
    criteria: tuple[Criterion, ...]
    hard_rules: HardRules


Recipient = Literal["pairs", "mentors", "mentees", "organizers"]


@dataclass(frozen=True)
class Milestone:
    id: str
    at: timedelta  # after the cycle start
    action: Literal["mail", "check_in", "survey"]
    template: str  # defaults filled: check_in -> check_in, survey -> survey_invitation
    survey: str | None
    to: tuple[Recipient, ...]

    def due(self, cycle: Cycle) -> date:
        return cycle.start + self.at


@dataclass(frozen=True)
class Question:
    id: str
    type: Literal["rating", "scale", "single_choice", "multiple_choice", "text"]
    text: Mapping[str, str]  # language -> text; a plain string is stored under the program language
    options: tuple[Mapping[str, str], ...]  # choice questions only, same shape as text
    compare: bool  # also asked at intake
    required: bool
    intake_field: str | None = None  # compare: the sign-up field with the before answer


SurveyKind = Literal["custom", "pulse", "fit_check", "exit", "ended_early", "baseline"]


@dataclass(frozen=True)
class GoogleForm:
    """A Google Form the organizer built: prefill link, token field and the responses sheet."""

    url: str
    token_entry: str  # entry.NNN
    sheet_key: str
    worksheet: str
    token_column: str
    columns: Mapping[str, str]  # responses header -> question id
    credentials: SecretRef


@dataclass(frozen=True)
class Survey:
    id: str
    title: Mapping[str, str] | None
    questions: tuple[Question, ...]
    nudge_after: timedelta | None
    # issue 10 (surveys): what it is for, who is asked, when, how it is answered
    kind: SurveyKind = "custom"
    audience: tuple[Recipient, ...] = ("pairs",)
    first_after: timedelta | None = None  # None: the kind's default (pulse 30d, fit_check 2w)
    every: timedelta | None = None  # None: the kind's default (pulse 60d)
    closes_after: timedelta = timedelta(days=21)
    max_nudges: int = 1
    answer_mode: Literal["page", "google_form"] = "page"
    google_form: GoogleForm | None = None
    threshold: float | None = None
    score_question: str | None = None


DEFAULT_EXPECTATIONS: Mapping[str, Mapping[str, Any]] = {
    "en": {
        "cadence": "one hour every two weeks, by video or in person",
        "topics": (
            "What you hope to get out of this cycle",
            "One concrete first step",
            "How you keep in touch between meetings",
        ),
        "success": "a goal you both agree on in your first meeting, reached by the end",
    },
    "de": {
        "cadence": "alle zwei Wochen eine Stunde, per Video oder persönlich",
        "topics": (
            "Was Ihr Euch von diesem Durchgang erhofft",
            "Ein konkreter erster Schritt",
            "Wie Ihr Euch zwischen den Treffen austauscht",
        ),
        "success": "ein Ziel, auf das Ihr Euch im ersten Treffen einigt, bis zum Ende erreicht",
    },
}
"""What the introduction mail says about the first meeting when the spec says nothing."""


@dataclass(frozen=True)
class Expectations:
    """Clear expectations for both sides: cadence, first topics, what success looks like."""

    cadence: Mapping[str, str] | None = None
    first_topics: tuple[Mapping[str, str], ...] = ()
    success: Mapping[str, str] | None = None

    def in_language(self, language: str) -> dict[str, Any]:
        """`{cadence, topics, success}` in `language`; what the spec leaves out is the default."""
        default = DEFAULT_EXPECTATIONS.get(language, DEFAULT_EXPECTATIONS["en"])
        topics = [in_language(t, language) for t in self.first_topics] or list(default["topics"])
        return {
            "cadence": in_language(self.cadence, language) if self.cadence else default["cadence"],
            "topics": topics,
            "success": in_language(self.success, language) if self.success else default["success"],
        }


@dataclass(frozen=True)
class Closure:
    recognition: bool
    badge: str | None
    invite_alumni: bool
    certificates: bool = True  # with recognition: a PDF per mentor, attached (issue 11)
    final_meeting_prompt: Mapping[str, str] | None = None  # language -> text; None: built-in


@dataclass(frozen=True)
class Retention:
    days_after_cycle_end: int

    def erase_on(self, cycle: Cycle) -> date:
        return cycle.end + timedelta(days=self.days_after_cycle_end)


@dataclass(frozen=True)
class Contributions:
    """How the retrospective counts contributions after mentoring: one of the three is set."""

    question: str | None = None  # "<survey id>.<question id>"
    csv: Path | None = None  # absolute: resolved against the spec's folder
    sheet: GoogleSheetSource | None = None  # read by the flow (or `mentorflow report`)


@dataclass(frozen=True)
class Retrospective:
    contributions: Contributions | None = None


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()


@dataclass(frozen=True)
class SendWindow:
    """Local hours of a member's day in which mail may go out: [from_hour, to_hour)."""

    from_hour: int = 9
    to_hour: int = 18


@dataclass(frozen=True)
class Engagement:
    """The tick's rules: send window and quiet days (member-local), staleness, nudges, digest,
    and when a run that waits for the organizers' answer is worth a reminder."""

    send_window: SendWindow = SendWindow()
    quiet_days: frozenset[int] = frozenset({6})  # date.weekday() numbers; default Sunday
    stale_after: timedelta = timedelta(days=7)
    no_meeting_nudge_after: timedelta = timedelta(days=21)
    answer_reminder_after: timedelta = timedelta(days=2)  # a run waiting for the organizers
    digest: Literal["weekly", "per_tick", "off"] = "weekly"
    digest_day: int = 0  # date.weekday() of the weekly digest


@dataclass(frozen=True)
class ProgramSpec:
    """A program spec that passed every check."""

    path: Path  # absolute
    sha256: str  # of the file's bytes
    version: int
    program: Program
    sender: Sender
    model: Model
    cycle: Cycle
    intake: Intake
    matching: Matching
    milestones: tuple[Milestone, ...]
    surveys: Mapping[str, Survey]  # by id, in spec order
    closure: Closure
    retention: Retention
    templates: Mapping[str, Path]  # overrides: name -> absolute folder
    expectations: Expectations = Expectations()
    engagement: Engagement = Engagement()
    retrospective: Retrospective = Retrospective()

    @property
    def template_names(self) -> frozenset[str]:
        return BUILTIN_TEMPLATES | frozenset(self.templates)


def in_language(text: Mapping[str, str], language: str) -> str:
    """The text in `language`, else in the first language given."""
    return text.get(language) or next(iter(text.values()))
