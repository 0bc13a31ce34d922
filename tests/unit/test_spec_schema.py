"""The JSON Schema is a draft-07 contract fit for editors: titled, described, closed, and in use."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "program_spec.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))

_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SUBSCHEMA_KEYS = ("items", "additionalProperties", "then", "else", "propertyNames", "not")


def _walk(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema with its location, except `if` conditions (they only test values)."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _walk(sub, f"{where}.properties.{name}")
    for name, sub in schema.get("definitions", {}).items():
        yield from _walk(sub, f"{where}.definitions.{name}")
    for key in _SUBSCHEMA_KEYS:
        yield from _walk(schema.get(key), f"{where}.{key}")
    for key in _SUBSCHEMA_LISTS:
        for index, sub in enumerate(schema.get(key, [])):
            yield from _walk(sub, f"{where}.{key}[{index}]")


def test_schema_is_valid_draft_07() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(SCHEMA)


def test_every_property_has_title_and_description() -> None:
    untitled = [
        f"{where}.properties.{name}"
        for where, schema in _walk(SCHEMA, "$")
        for name, sub in schema.get("properties", {}).items()
        if not (sub.get("title") and sub.get("description"))
    ]
    assert untitled == []


def test_every_object_is_closed() -> None:
    """Objects with properties forbid others; maps (no properties) constrain their values."""
    open_objects = [
        where
        for where, schema in _walk(SCHEMA, "$")
        if "properties" in schema
        and schema.get("type") in ("object", ["string", "object"])
        and schema.get("additionalProperties") is not False
    ]
    maps_without_value_schema = [
        where
        for where, schema in _walk(SCHEMA, "$")
        if schema.get("type") == "object"
        and "properties" not in schema
        and not isinstance(schema.get("additionalProperties"), dict)
    ]
    assert open_objects == [] and maps_without_value_schema == []


def test_every_enum_is_documented_value_by_value() -> None:
    undocumented = [
        (where, value)
        for where, schema in _walk(SCHEMA, "$")
        if "enum" in schema and "description" in schema and len(schema["enum"]) > 1
        for value in schema["enum"]
        if f"`{value}`" not in schema["description"]
    ]
    assert undocumented == []


def test_every_example_spec_declares_the_schema_for_editors() -> None:
    for spec in sorted(ROOT.joinpath("program_specs").glob("*.yaml")):
        first = spec.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/program_spec.schema.json"


def test_check_jsonschema_accepts_the_examples_like_the_loader_does() -> None:
    """The pre-commit hook and the loader share one schema, so they agree on the examples."""
    specs = sorted(str(p) for p in ROOT.joinpath("program_specs").glob("*.yaml"))
    tool = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(tool), "--schemafile", str(SCHEMA_FILE), *specs],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_jsonschema_rejects_what_the_schema_rejects() -> None:
    bad = ROOT / "tests" / "specs" / "invalid" / "unknown_key_did_you_mean.yaml"
    tool = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(tool), "--schemafile", str(SCHEMA_FILE), str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1 and "wieght" in result.stdout
