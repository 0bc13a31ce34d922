"""Build the typed ProgramSpec from data that passed the schema and the semantic checks."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mentorflow.spec import model as m


def build_spec(data: dict[str, Any], path: Path, sha256: str) -> m.ProgramSpec:
    """`data` has the schema's defaults filled in (schema.with_defaults)."""
    folder = path.parent
    program = _program(data["program"])
    cycle = m.Cycle(
        date.fromisoformat(data["cycle"]["start"]), m.parse_duration(data["cycle"]["duration"])
    )
    return m.ProgramSpec(
        path=path,
        sha256=sha256,
        version=data["version"],
        program=program,
        sender=_sender(data["sender"]),
        model=_model(data["model"], cycle),
        cycle=cycle,
        intake=_intake(data["intake"], folder),
        matching=_matching(data["matching"]),
        milestones=tuple(_milestone(item) for item in data["milestones"]),
        surveys=_frozen({s["id"]: _survey(s, program.language) for s in data["surveys"]}),
        closure=_closure(data["closure"], program.language),
        retention=m.Retention(data["retention"]["days_after_cycle_end"]),
        templates=_frozen({name: folder / sub for name, sub in data["templates"].items()}),
        expectations=_expectations(data["expectations"], program.language),
        engagement=_engagement(data["engagement"]),
        retrospective=_retrospective(data["retrospective"], folder),
    )


def _retrospective(raw: dict[str, Any], folder: Path) -> m.Retrospective:
    given = raw.get("contributions")
    if given is None:
        return m.Retrospective()
    csv = (folder / given["csv"]).resolve() if "csv" in given else None
    sheet = _google_sheet(given["sheet"]) if "sheet" in given else None
    return m.Retrospective(m.Contributions(given.get("question"), csv, sheet))


def _closure(raw: dict[str, Any], language: str) -> m.Closure:
    prompt = raw.get("final_meeting_prompt")
    return m.Closure(
        recognition=raw["recognition"],
        badge=raw.get("badge"),
        invite_alumni=raw["invite_alumni"],
        certificates=raw["certificates"],
        final_meeting_prompt=_text(prompt, language) if prompt is not None else None,
    )


def _expectations(raw: dict[str, Any], language: str) -> m.Expectations:
    def text(value: Any) -> MappingProxyType[str, str] | None:
        return _text(value, language) if value is not None else None

    return m.Expectations(
        cadence=text(raw.get("cadence")),
        first_topics=tuple(_text(topic, language) for topic in raw.get("first_topics", ())),
        success=text(raw.get("success")),
    )


def _frozen(mapping: dict[str, Any]) -> MappingProxyType[str, Any]:
    return MappingProxyType(mapping)


def _duration(text: str | None) -> timedelta | None:
    return None if text is None else m.parse_duration(text)


def secret_ref(raw: dict[str, str] | None) -> m.SecretRef | None:
    if raw is None:
        return None
    ((kind, name),) = raw.items()
    return m.SecretRef(kind, name)  # type: ignore[arg-type]


def _program(raw: dict[str, Any]) -> m.Program:
    organizers = tuple(m.Organizer(o["email"], o.get("name")) for o in raw["organizers"])
    return m.Program(raw["id"], raw["name"], raw["language"], raw["timezone"], organizers)


def _sender(raw: dict[str, Any]) -> m.Sender:
    smtp = raw.get("smtp")
    return m.Sender(
        from_name=raw["from_name"],
        from_address=raw["from_address"],
        reply_to=raw.get("reply_to"),
        base_url=raw.get("base_url"),
        smtp=_smtp(smtp) if smtp else None,
        daily_limit=raw["daily_limit"],
        dry_run=raw["dry_run"],
    )


def _smtp(raw: dict[str, Any]) -> m.Smtp:
    return m.Smtp(
        host=raw["host"],
        port=raw["port"],
        security=raw["security"],
        username=secret_ref(raw.get("username")),
        password=secret_ref(raw.get("password")),
        timeout_seconds=float(raw["timeout_seconds"]),
    )


def group_size(raw: dict[str, Any]) -> m.GroupSize | None:
    """The model's group size: given, else the default of its type (None for pair models)."""
    given = raw.get("group_size")
    if given is not None:
        return m.GroupSize(given["min"], given["max"])
    default = m.GROUP_SIZE_DEFAULTS.get(raw["type"])
    return m.GroupSize(*default) if default else None


def round_starts(raw: dict[str, Any], start: date) -> tuple[date, ...]:
    if raw["type"] != "rotational":
        return (start,)
    length = m.parse_duration(raw["round_length"])
    return tuple(start + i * length for i in range(raw["rounds"]))


def _model(raw: dict[str, Any], cycle: m.Cycle) -> m.Model:
    length = _duration(raw.get("round_length")) if raw["type"] == "rotational" else None
    return m.Model(raw["type"], group_size(raw), length, round_starts(raw, cycle.start))


def _source(raw: dict[str, Any], folder: Path) -> m.CsvSource | m.GoogleSheetSource:
    if raw["type"] == "csv":
        return m.CsvSource((folder / raw["path"]).resolve())
    return _google_sheet(raw)


def _google_sheet(raw: dict[str, Any]) -> m.GoogleSheetSource:
    """The intake's `type: google_sheet` source, or the retrospective's contributions sheet."""
    credentials = secret_ref(raw["credentials"])
    assert credentials is not None  # the schema requires it
    return m.GoogleSheetSource(raw["key"], raw["worksheet"], credentials)


def _consent(raw: dict[str, Any] | None) -> m.Consent | None:
    if raw is None:
        return None
    return m.Consent(raw["column"], tuple(raw["accept"]), raw["text_version"])


def _custom_fields(raw: dict[str, Any]) -> MappingProxyType[str, m.CustomField]:
    return _frozen({n: m.CustomField(n, f["type"], f.get("description")) for n, f in raw.items()})


def _answer_values(raw: dict[Any, Any]) -> MappingProxyType[str, m.AnswerValue]:
    """Answer -> value; a list (several values) becomes a tuple, null (no preference) stays."""
    return _frozen({str(a): tuple(v) if isinstance(v, list) else v for a, v in raw.items()})


def _intake(raw: dict[str, Any], folder: Path) -> m.Intake:
    closes = raw.get("closes")
    return m.Intake(
        source=_source(raw["source"], folder),
        closes=date.fromisoformat(closes) if closes else None,
        form_url=raw.get("form_url"),
        timestamp_format=raw.get("timestamp_format"),
        list_separator=raw["list_separator"],
        columns=_frozen(dict(raw["columns"])),
        values=_frozen({k: _answer_values(v) for k, v in raw.get("values", {}).items()}),
        consent=_consent(raw.get("consent")),
        screening=raw["screening"],
        remind_fixable=raw["remind_fixable"],
        fields=_custom_fields(raw.get("fields", {})),
    )


def criterion_fields(raw: dict[str, Any]) -> dict[str, str]:
    """The fields a criterion reads (attribute -> field), defaults filled in."""
    kind = raw["kind"]
    if kind == "coverage":
        mentor, mentee = m.COVERAGE_DEFAULT_FIELDS
        return {
            "mentor_field": raw.get("mentor_field", mentor),
            "mentee_field": raw.get("mentee_field", mentee),
        }
    return {"field": raw.get("field", m.CRITERION_DEFAULT_FIELD.get(kind, ""))}


def _number(raw: dict[str, Any], name: str) -> float | None:
    """A kind's own number (default filled in); None for the other kinds."""
    if raw["kind"] != _KIND_OF_NUMBER[name]:
        return None
    return float(raw.get(name, m.CRITERION_DEFAULTS[name]))


_KIND_OF_NUMBER = {"scale": "distance", "target_hours": "availability", "min_gap": "seniority"}


def _criterion(raw: dict[str, Any]) -> m.Criterion:
    kind = raw["kind"]
    fields = criterion_fields(raw)
    return m.Criterion(
        kind=kind,
        weight=0.0 if kind == "required_common" else float(raw["weight"]),
        field=fields.get("field"),
        mentor_field=fields.get("mentor_field"),
        mentee_field=fields.get("mentee_field"),
        scale=_number(raw, "scale"),
        target_hours=_number(raw, "target_hours"),
        min_gap=_number(raw, "min_gap"),
    )


def _matching(raw: dict[str, Any]) -> m.Matching:
    rules = raw["hard_rules"]
    return m.Matching(
        objective=raw["objective"],
        approval=raw["approval"],
        capacity=m.Capacity(raw["capacity"]["field"], raw["capacity"]["default"]),
        seed=raw["seed"],
        criteria=tuple(_criterion(c) for c in raw["criteria"]),
        hard_rules=m.HardRules(tuple(rules["different"]), rules["no_repeat_pairs"]),
    )


def milestone_template(raw: dict[str, Any]) -> str:
    return str(raw.get("template") or m.ACTION_DEFAULT_TEMPLATE[raw["action"]])


def _milestone(raw: dict[str, Any]) -> m.Milestone:
    return m.Milestone(
        id=raw["id"],
        at=m.parse_duration(raw["at"]),
        action=raw["action"],
        template=milestone_template(raw),
        survey=raw.get("survey"),
        to=tuple(raw["to"]),
    )


def _text(raw: str | dict[str, str], language: str) -> MappingProxyType[str, str]:
    return _frozen({language: raw} if isinstance(raw, str) else dict(raw))


def _question(raw: dict[str, Any], language: str) -> m.Question:
    return m.Question(
        id=raw["id"],
        type=raw["type"],
        text=_text(raw["text"], language),
        options=tuple(_text(o, language) for o in raw.get("options", [])),
        compare=raw["compare"],
        required=raw["required"],
        intake_field=raw.get("intake_field"),
    )


def _survey(raw: dict[str, Any], language: str) -> m.Survey:
    title = raw.get("title")
    return m.Survey(
        id=raw["id"],
        title=_text(title, language) if title is not None else None,
        questions=tuple(_question(q, language) for q in raw["questions"]),
        nudge_after=_duration(raw.get("nudge_after")),
        kind=raw.get("kind", "custom"),
        audience=tuple(raw.get("audience", ["pairs"])),
        first_after=_duration(raw.get("first_after")),
        every=_duration(raw.get("every")),
        closes_after=m.parse_duration(raw.get("closes_after", "21d")),
        max_nudges=raw.get("max_nudges", 1),
        answer_mode=raw.get("answer_mode", "page"),
        google_form=_google_form(raw.get("google_form")),
        threshold=raw.get("threshold"),
        score_question=raw.get("score_question"),
    )


def _google_form(raw: dict[str, Any] | None) -> m.GoogleForm | None:
    if raw is None:
        return None
    return m.GoogleForm(
        url=raw["url"],
        token_entry=raw["token_entry"],
        sheet_key=raw["sheet_key"],
        worksheet=raw.get("worksheet", "Form Responses 1"),
        token_column=raw["token_column"],
        columns=_frozen(dict(raw.get("columns", {}))),
        credentials=secret_ref(raw["credentials"]),  # type: ignore[arg-type]
    )


def _engagement(raw: dict[str, Any]) -> m.Engagement:
    window = raw["send_window"]
    return m.Engagement(
        send_window=m.SendWindow(window["from_hour"], window["to_hour"]),
        quiet_days=frozenset(m.WEEKDAYS.index(day) for day in raw["quiet_days"]),
        stale_after=m.parse_duration(raw["stale_after"]),
        no_meeting_nudge_after=m.parse_duration(raw["no_meeting_nudge_after"]),
        answer_reminder_after=m.parse_duration(raw["answer_reminder_after"]),
        digest=raw["digest"],
        digest_day=m.WEEKDAYS.index(raw["digest_day"]),
    )
