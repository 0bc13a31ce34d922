"""The JSON Schema and the typed model say the same thing: every option is in both, or listed here.

A spec option lives in two places, schemas/program_spec.schema.json and mentorflow/spec/model.py.
This test walks the schema's objects and lines each up with its dataclass, property for field.
Adding an option: add it to both, or, if the model derives it or names it differently, add one
commented line to the tables below. The lead extends these tables when branches meet.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from mentorflow.spec import model as m

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "program_spec.schema.json").read_text(encoding="utf-8"))

# Schema object (path of property names; "[]" a list item, "*" a value of a free mapping) ->
# the dataclass(es) that hold it. A union: the fields of all of them, together.
OBJECTS: dict[tuple[str, ...], tuple[type, ...]] = {
    (): (m.ProgramSpec,),
    ("program",): (m.Program,),
    ("program", "organizers", "[]"): (m.Organizer,),
    ("sender",): (m.Sender,),
    ("sender", "smtp"): (m.Smtp,),
    ("model",): (m.Model,),
    ("model", "group_size"): (m.GroupSize,),
    ("cycle",): (m.Cycle,),
    ("intake",): (m.Intake,),
    ("intake", "source"): (m.CsvSource, m.GoogleSheetSource),
    ("intake", "consent"): (m.Consent,),
    ("intake", "fields", "*"): (m.CustomField,),
    ("matching",): (m.Matching,),
    ("matching", "capacity"): (m.Capacity,),
    ("matching", "hard_rules"): (m.HardRules,),
    ("matching", "criteria", "[]"): (m.Criterion,),
    ("milestones", "[]"): (m.Milestone,),
    ("surveys", "[]"): (m.Survey,),
    ("surveys", "[]", "questions", "[]"): (m.Question,),
    ("surveys", "[]", "google_form"): (m.GoogleForm,),
    ("closure",): (m.Closure,),
    ("retention",): (m.Retention,),
    ("expectations",): (m.Expectations,),
    ("engagement",): (m.Engagement,),
    ("engagement", "send_window"): (m.SendWindow,),
    ("retrospective",): (m.Retrospective,),
    ("retrospective", "contributions"): (m.Contributions,),
    ("retrospective", "contributions", "sheet"): (m.GoogleSheetSource,),
}

# Schema definitions the model holds as a value of another shape, not as a dataclass of its own.
VALUE_DEFINITIONS: dict[str, str] = {
    "secret_ref": "{env|secret_block: NAME} becomes SecretRef(kind, name)",
    "text": "a string or {de: ..., en: ...} becomes a Mapping language -> text",
}
NOT_A_DATACLASS: dict[tuple[str, ...], str] = {}

# (schema object, property) -> model field, where the names differ.
RENAMED: dict[tuple[tuple[str, ...], str], str] = {}

# Properties the schema has and the model does not, with why.
SCHEMA_ONLY: dict[tuple[tuple[str, ...], str], str] = {}

# Fields the model has and the schema does not, with why.
MODEL_ONLY: dict[tuple[type, str], str] = {
    (m.ProgramSpec, "path"): "where the spec was read from",
    (m.ProgramSpec, "sha256"): "the file's hash, so a run records which spec it ran",
    (m.CustomField, "name"): "the key of intake.fields",
}


def _definition(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMA["definitions"][_definition(schema)]
    return schema


def _objects(schema: dict[str, Any], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], dict]:
    """Every schema object with declared properties, by path; value definitions are leaves."""
    if _definition(schema) in VALUE_DEFINITIONS:
        return {}
    schema = _resolve(schema)
    found = {path: schema} if "properties" in schema else {}
    for name, sub in schema.get("properties", {}).items():
        found |= _objects(sub, (*path, name))
    if isinstance(schema.get("items"), dict):
        found |= _objects(schema["items"], (*path, "[]"))
    if isinstance(schema.get("additionalProperties"), dict):
        found |= _objects(schema["additionalProperties"], (*path, "*"))
    for branch in schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", []):
        if "$ref" in branch:  # if/then branches only narrow what `properties` declares
            found |= _objects(branch, path)
    return found


def test_every_schema_object_is_modelled() -> None:
    unlisted = set(_objects(SCHEMA)) - set(OBJECTS) - set(NOT_A_DATACLASS)
    assert unlisted == set(), "add these schema objects to OBJECTS or NOT_A_DATACLASS"
    stale = (set(OBJECTS) | set(NOT_A_DATACLASS)) - set(_objects(SCHEMA))
    assert stale == set(), "these listed schema objects are gone from the schema"


@pytest.mark.parametrize("path", list(OBJECTS), ids=lambda p: ".".join(p) or "$")
def test_schema_properties_and_model_fields_correspond(path: tuple[str, ...]) -> None:
    properties = set(_objects(SCHEMA)[path]["properties"])
    classes = OBJECTS[path]
    fields = {f.name for cls in classes for f in dataclasses.fields(cls)}
    expected = {RENAMED.get((path, p), p) for p in properties if (path, p) not in SCHEMA_ONLY}
    derived = {f for cls in classes for f in fields if (cls, f) in MODEL_ONLY}
    assert sorted(expected - fields) == [], "in the schema, missing from the model"
    assert sorted(fields - expected - derived) == [], "in the model, missing from the schema"


def test_the_tables_name_only_what_exists() -> None:
    objects = _objects(SCHEMA)
    for (path, name), _ in {**RENAMED, **SCHEMA_ONLY}.items():
        assert name in objects[path]["properties"], (path, name)
    for cls, name in MODEL_ONLY:
        assert name in {f.name for f in dataclasses.fields(cls)}, (cls, name)
