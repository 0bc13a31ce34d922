"""Checks the schema cannot express: references, dates, sizes, time zones, fields the form fills."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mentorflow.spec import model as m
from mentorflow.spec.build import criterion_fields, group_size, milestone_template
from mentorflow.spec.datafiles import data_path_problem
from mentorflow.spec.loader import Document
from mentorflow.spec.report import JsonPath, Problem, did_you_mean

Problems = Iterator[Problem]


def semantic_problems(
    document: Document, data: dict[str, Any], broken: Iterable[JsonPath] = ()
) -> list[Problem]:
    """Every semantic problem of `data` (defaults filled in) in the parts the schema accepted.

    `broken` are the paths the schema refused; a check that reads any of them (or a part
    containing one, or one inside them) is skipped, so one mistake is never reported twice and
    the rest of the spec is still checked.
    """
    refused = list(broken)
    return [
        problem
        for check, reads in _CHECKS
        if not any(_overlaps(part, bad) for part in reads for bad in refused)
        for problem in check(document, data)
    ]


def _overlaps(a: JsonPath, b: JsonPath) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(doc: Document, data: dict[str, Any]) -> Problems:
    name = data["program"]["timezone"]
    if name not in _zones():
        hint = did_you_mean(name, _zones())
        yield doc.problem(("program", "timezone"), f"`{name}` is not an IANA time zone{hint}")


def _base_url(doc: Document, data: dict[str, Any]) -> Problems:
    yield from _web_address(doc, ("sender", "base_url"), data["sender"].get("base_url"))
    yield from _web_address(doc, ("intake", "form_url"), data["intake"].get("form_url"))


def _web_address(doc: Document, path: tuple[str, ...], url: str | None) -> Problems:
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            message = f"`{url}` is not a web address (e.g. https://mentoring.example.org)"
            yield doc.problem(path, message)


def _source_path(doc: Document, data: dict[str, Any]) -> Problems:
    source = data["intake"]["source"]
    if source["type"] == "csv":
        problem = data_path_problem(Path(doc.file).parent, source["path"])
        if problem is not None:
            yield doc.problem(("intake", "source", "path"), problem)


def _cycle_days(data: dict[str, Any]) -> int:
    return m.parse_duration(data["cycle"]["duration"]).days


def _dates(doc: Document, data: dict[str, Any]) -> Problems:
    closes = data["intake"].get("closes")
    start = data["cycle"]["start"]
    if closes is not None and date.fromisoformat(closes) > date.fromisoformat(start):
        message = f"intake closes {closes}, after the cycle starts ({start})"
        yield doc.problem(("intake", "closes"), message)
    try:  # erase_on(cycle) must be a date the calendar can hold
        keep = timedelta(days=data.get("retention", {}).get("days_after_cycle_end", 0))
        date.fromisoformat(start) + m.parse_duration(data["cycle"]["duration"]) + keep
    except OverflowError:
        message = "the cycle and its data retention would end after the year 9999"
        yield doc.problem(("cycle", "start"), message)


def _model(doc: Document, data: dict[str, Any]) -> Problems:
    raw = data["model"]
    size = group_size(raw)
    if "group_size" in raw and size is not None and raw["type"] not in m.GROUP_SIZE_DEFAULTS:
        yield doc.problem(("model", "group_size"), "applies only to `group` and `peer` models")
    elif size is not None and size.min > size.max:
        yield doc.problem(("model", "group_size"), f"min {size.min} is above max {size.max}")
    elif size is not None and raw["type"] == "peer" and size.min < 2:
        yield doc.problem(("model", "group_size", "min"), "a peer group needs at least 2 people")


def _rotation(doc: Document, data: dict[str, Any]) -> Problems:
    raw = data["model"]
    if raw["type"] != "rotational":
        for key in ("round_length", "rounds"):
            if key in raw:
                yield doc.problem(("model", key), "applies only to the `rotational` model")
        return
    needed = m.parse_duration(raw["round_length"]).days * raw["rounds"]
    if needed > _cycle_days(data):
        message = (
            f"{raw['rounds']} rounds of {raw['round_length']} need {needed} days;"
            f" the cycle lasts {_cycle_days(data)} days ({data['cycle']['duration']})"
        )
        yield doc.problem(("model", "rounds"), message)


# --- fields -----------------------------------------------------------------------------------


def _known_fields(data: dict[str, Any]) -> set[str]:
    return set(m.BUILTIN_FIELDS) | set(data["intake"].get("fields", {}))


def _available_fields(data: dict[str, Any]) -> set[str]:
    """Fields the form fills, and the fields derived from them."""
    mapped = set(data["intake"]["columns"].values())
    return mapped | {d for d, source in m.DERIVED_FIELDS.items() if source in mapped}


def _columns(doc: Document, data: dict[str, Any]) -> Problems:
    known, seen = _known_fields(data), dict[str, str]()
    for header, field in data["intake"]["columns"].items():
        path: JsonPath = ("intake", "columns", header)
        if field in m.DERIVED_FIELDS:
            yield doc.problem(path, f"`{field}` is derived from `{m.DERIVED_FIELDS[field]}`")
        elif field not in known:
            hint = did_you_mean(field, known) or "; declare it under intake.fields"
            yield doc.problem(path, f"unknown member field `{field}`{hint}")
        elif field in seen:
            yield doc.problem(path, f"`{field}` is already filled by column {seen[field]!r}")
        seen.setdefault(field, header)
    yield from _required_columns(doc, data, set(seen))


def _required_columns(doc: Document, data: dict[str, Any], mapped: set[str]) -> Problems:
    needed = ["email"] + ([] if data["model"]["type"] == "peer" else ["role"])
    for field in needed:
        if field not in mapped:
            message = f"no column fills `{field}`; map the form's {field} question to it"
            yield doc.problem(("intake", "columns"), message)


def _values(doc: Document, data: dict[str, Any]) -> Problems:
    mapped = set(data["intake"]["columns"].values())
    for field in data["intake"].get("values", {}):
        if field not in mapped:
            hint = did_you_mean(field, mapped)
            message = f"no column fills `{field}`, so its answers cannot be mapped{hint}"
            yield doc.problem(("intake", "values", field), message, at_key=True)
        yield from _answer_values(doc, data, field)


def _answer_values(doc: Document, data: dict[str, Any], field: str) -> Problems:
    """Several values only for list fields; no preference (null) only where it can be neutral."""
    custom = data["intake"].get("fields", {}).get(field, {})
    kind = custom.get("type", "text") if custom else ("list" if field in m.LIST_KINDS else "")
    for answer, value in data["intake"]["values"][field].items():
        path: JsonPath = ("intake", "values", field, answer)
        if isinstance(value, list) and kind != "list":
            yield doc.problem(path, f"`{field}` holds one value: an answer cannot map to several")
        elif value is None and (field in m.NO_PREFERENCE_NEVER or kind == "number"):
            yield doc.problem(path, f"`{field}` needs an answer: it cannot be no preference")


def _custom_fields(doc: Document, data: dict[str, Any]) -> Problems:
    for name in data["intake"].get("fields", {}):
        if name in m.BUILTIN_FIELDS or name in m.DERIVED_FIELDS:
            message = f"`{name}` is a built-in field; it needs no declaration"
            yield doc.problem(("intake", "fields", name), message, at_key=True)


def _field_problem(doc: Document, path: JsonPath, field: str, data: dict[str, Any]) -> Problems:
    available = _available_fields(data)
    if field in available:
        return
    if field in m.DERIVED_FIELDS:
        source = m.DERIVED_FIELDS[field]
        message = f"`{field}` comes from `{source}`, but no intake column fills `{source}`"
        yield doc.problem(path, message)
    elif field in _known_fields(data):
        yield doc.problem(path, f"no intake column fills `{field}`; map one in intake.columns")
    else:
        hint = did_you_mean(field, available | set(m.DERIVED_FIELDS))
        yield doc.problem(path, f"unknown member field `{field}`{hint}")


def _criteria(doc: Document, data: dict[str, Any]) -> Problems:
    for index, raw in enumerate(data["matching"]["criteria"]):
        for attribute, field in criterion_fields(raw).items():
            path: JsonPath = ("matching", "criteria", index, attribute)
            yield from _field_problem(doc, path, field, data)


def _matching_fields(doc: Document, data: dict[str, Any]) -> Problems:
    for index, field in enumerate(data["matching"]["hard_rules"]["different"]):
        yield from _field_problem(doc, ("matching", "hard_rules", "different", index), field, data)
    field = data["matching"]["capacity"]["field"]
    if field not in _known_fields(data):
        hint = did_you_mean(field, _known_fields(data))
        yield doc.problem(
            ("matching", "capacity", "field"), f"unknown member field `{field}`{hint}"
        )


# --- milestones, surveys, templates -----------------------------------------------------------


def _template_names(data: dict[str, Any]) -> set[str]:
    return set(m.BUILTIN_TEMPLATES) | set(data["templates"])


def _duplicates(doc: Document, items: list[dict[str, Any]], path: JsonPath, what: str) -> Problems:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item["id"] in seen:
            yield doc.problem((*path, index, "id"), f"{what} id `{item['id']}` is used twice")
        seen.add(item["id"])


def _milestones(doc: Document, data: dict[str, Any]) -> Problems:
    items = data["milestones"]
    yield from _duplicates(doc, items, ("milestones",), "milestone")
    surveys = {s["id"] for s in data["surveys"]}
    for index, raw in enumerate(items):
        yield from _milestone(doc, raw, ("milestones", index), data, surveys)


def _milestone(
    doc: Document, raw: dict[str, Any], path: JsonPath, data: dict[str, Any], surveys: set[str]
) -> Problems:
    if m.parse_duration(raw["at"]).days > _cycle_days(data):
        message = f"{raw['at']} is after the cycle's end ({data['cycle']['duration']})"
        yield doc.problem((*path, "at"), message)
    template = milestone_template(raw)
    if template not in _template_names(data):
        hint = did_you_mean(template, _template_names(data))
        yield doc.problem((*path, "template"), f"unknown template `{template}`{hint}")
    survey = raw.get("survey")
    if survey is not None and survey not in surveys:
        hint = did_you_mean(survey, surveys) or " (no survey has this id under `surveys`)"
        yield doc.problem((*path, "survey"), f"unknown survey `{survey}`{hint}")


def _milestone_recipients(doc: Document, data: dict[str, Any]) -> Problems:
    if data["program"]["organizers"]:
        return
    for index, raw in enumerate(data["milestones"]):
        if "organizers" in raw["to"]:
            message = "goes to organizers, but program.organizers lists none"
            yield doc.problem(("milestones", index, "to"), message)


def _surveys(doc: Document, data: dict[str, Any]) -> Problems:
    yield from _duplicates(doc, data["surveys"], ("surveys",), "survey")
    for index, survey in enumerate(data["surveys"]):
        path: JsonPath = ("surveys", index, "questions")
        yield from _duplicates(doc, survey["questions"], path, "question")
        yield from _survey_refs(doc, survey, ("surveys", index))


_SCORED = ("rating", "scale")


def _survey_refs(doc: Document, survey: dict[str, Any], path: JsonPath) -> Problems:
    """Issue 10: the score question, Google Form columns and intake fields name what exists."""
    questions = {q["id"]: q for q in survey["questions"]}
    scored = [q for q in questions.values() if q["type"] in _SCORED]
    wanted = survey.get("score_question")
    if wanted is not None and (wanted not in questions or questions[wanted]["type"] not in _SCORED):
        hint = did_you_mean(wanted, {q["id"] for q in scored}) or ""
        yield doc.problem(
            (*path, "score_question"), f"no rating or scale question `{wanted}`{hint}"
        )
    elif survey.get("kind") in ("pulse", "fit_check") and not scored:
        message = f"a {survey['kind']} survey needs a rating or scale question for its score"
        yield doc.problem((*path, "kind"), message)
    for header, question_id in (survey.get("google_form") or {}).get("columns", {}).items():
        if question_id not in questions:
            hint = did_you_mean(question_id, set(questions)) or ""
            where = (*path, "google_form", "columns", header)
            yield doc.problem(where, f"unknown question `{question_id}`{hint}")


def _templates(doc: Document, data: dict[str, Any]) -> Problems:
    folder = Path(doc.file).parent
    for name, sub in data["templates"].items():
        if not (folder / sub).is_dir():
            message = f"folder `{sub}` does not exist next to the spec"
            yield doc.problem(("templates", name), message)


def _send_window(doc: Document, data: dict[str, Any]) -> Problems:
    window = data["engagement"]["send_window"]
    if window["to_hour"] <= window["from_hour"]:
        message = f"to_hour {window['to_hour']} must be after from_hour {window['from_hour']}"
        yield doc.problem(("engagement", "send_window", "to_hour"), message)


def _contributions(doc: Document, data: dict[str, Any]) -> Problems:
    """The retrospective's contributions name an existing question, or a CSV inside the roots."""
    given = data["retrospective"].get("contributions") or {}
    path: JsonPath = ("retrospective", "contributions")
    if "csv" in given:
        problem = data_path_problem(Path(doc.file).parent, given["csv"])
        if problem is not None:
            yield doc.problem((*path, "csv"), problem)
    if "question" in given:
        known = {f"{s['id']}.{q['id']}" for s in data["surveys"] for q in s["questions"]}
        if given["question"] not in known:
            hint = did_you_mean(given["question"], known) or ""
            message = f"no survey question `{given['question']}` (write <survey>.<question>){hint}"
            yield doc.problem((*path, "question"), message)


# Each check with the parts of the spec it reads (schema paths, as `broken` gives them).
_CHECKS: list[tuple[Callable[[Document, dict[str, Any]], Problems], list[JsonPath]]] = [
    (_timezone, [("program", "timezone")]),
    (_base_url, [("sender", "base_url"), ("intake", "form_url")]),
    (_dates, [("intake", "closes"), ("cycle",), ("retention",)]),
    (_source_path, [("intake", "source")]),
    (_model, [("model",)]),
    (_rotation, [("model",), ("cycle",)]),
    (_columns, [("intake", "columns"), ("intake", "fields"), ("model", "type")]),
    (_values, [("intake", "columns"), ("intake", "values"), ("intake", "fields")]),
    (_custom_fields, [("intake", "fields")]),
    (_criteria, [("matching", "criteria"), ("intake", "columns"), ("intake", "fields")]),
    (
        _matching_fields,
        [
            ("matching", "hard_rules"),
            ("matching", "capacity"),
            ("intake", "columns"),
            ("intake", "fields"),
        ],
    ),
    (_milestones, [("milestones",), ("surveys",), ("cycle",), ("templates",)]),
    (_milestone_recipients, [("program", "organizers"), ("milestones",)]),
    (_surveys, [("surveys",)]),
    (_templates, [("templates",)]),
    (_send_window, [("engagement", "send_window")]),
    (_contributions, [("retrospective",), ("surveys",)]),
]
