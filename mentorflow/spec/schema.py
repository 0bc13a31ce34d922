"""The JSON Schema of program specs: loading it, checking a document against it, its defaults."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from mentorflow.paths import SCHEMAS_DIR
from mentorflow.spec.loader import Document
from mentorflow.spec.report import JsonPath, Problem, did_you_mean, one_of

SCHEMA_PATH = SCHEMAS_DIR / "program_spec.schema.json"

_TYPE_NAMES = {"object": "mapping", "array": "list", "null": "empty"}


@cache
def program_spec_schema() -> dict[str, Any]:
    """The schema as a dict (read once)."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@cache
def _validator() -> Draft7Validator:
    schema = program_spec_schema()
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def schema_problems(document: Document) -> list[Problem]:
    """Every schema violation in the document, each as located problems."""
    return schema_check(document)[0]


def schema_check(document: Document) -> tuple[list[Problem], list[JsonPath]]:
    """The located problems, and the paths of the parts the schema refused."""
    problems: list[Problem] = []
    broken: list[JsonPath] = []
    for error in _validator().iter_errors(document.data):
        problems.extend(_explain(document, error))
        broken.extend(_broken_paths(error))
    return problems, broken


def _broken_paths(error: ValidationError) -> list[JsonPath]:
    """What an error makes unusable: the value itself, or for a missing or unknown key that key."""
    path: JsonPath = tuple(error.absolute_path)
    if error.validator == "required":
        return [(*path, key) for key in error.validator_value if key not in error.instance]
    if error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        return [(*path, key) for key in error.instance if key not in allowed]
    if "propertyNames" in error.absolute_schema_path:
        return [(*path, str(error.instance))]
    return [path]


# --- resolving parts of the schema ------------------------------------------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = program_spec_schema()["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _schema_at(path: list[str | int]) -> Any:
    node: Any = program_spec_schema()
    for part in path:
        node = _resolve(node) if part == "$ref" else node[part]
    return node


def _branch(error: ValidationError) -> list[str | int] | None:
    """Schema path of the innermost if/then the error comes from (None when it does not)."""
    schema_path = list(error.absolute_schema_path)
    if "then" not in schema_path:
        return None
    return schema_path[: len(schema_path) - 1 - schema_path[::-1].index("then")]


def _condition(error: ValidationError) -> str:
    """` when `kind` is `x`` if the error comes from an if/then branch, else an empty string."""
    branch = _branch(error)
    if branch is None:
        return ""
    condition = _schema_at(branch).get("if", {}).get("properties", {})
    for key, test in condition.items():
        values = [test["const"]] if "const" in test else test.get("enum", [])
        return f" when `{key}` is {one_of(values)}"
    return ""


def _is_declared(error: ValidationError, key: str) -> bool:
    """Whether the object holding the if/then branch declares `key` among its properties."""
    branch = _branch(error)
    owner = _schema_at(branch[:-2]) if branch else {}  # drop the ("allOf", n) of the branch
    return key in owner.get("properties", {})


def _is_secret_ref(schema: dict[str, Any]) -> bool:
    return bool(schema == program_spec_schema()["definitions"]["secret_ref"])


# --- messages ---------------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "an empty value"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _examples(schema: dict[str, Any]) -> str:
    examples = schema.get("examples")
    return f" (e.g. {', '.join(str(e) for e in examples)})" if examples else ""


def _explain(document: Document, error: ValidationError) -> list[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    handler = _HANDLERS.get(str(error.validator), _generic)
    return handler(document, error, path)


def _unknown_keys(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    allowed = list(error.schema.get("properties", {}))
    problems = []
    for key in error.instance:
        if key in allowed:
            continue
        hint = did_you_mean(key, allowed) or f" (allowed: {', '.join(allowed)})"
        problems.append(document.problem((*path, key), f"unknown key `{key}`{hint}", at_key=True))
    return problems


def _required(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    missing = [key for key in error.validator_value if key not in error.instance]
    return [
        document.problem(path, f"missing required key `{key}`{_condition(error)}")
        for key in missing
    ]


def _type(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    if _is_secret_ref(error.schema):
        message = "write a reference such as {env: NAME} or {secret_block: NAME}, never the secret"
        return [document.problem(path, message)]
    expected = error.validator_value
    names = [expected] if isinstance(expected, str) else expected
    wanted = " or ".join(repr(_TYPE_NAMES.get(n, n)) for n in names)
    hint = " (write true or false)" if names == ["boolean"] else _examples(error.schema)
    message = f"{_show(error.instance)} is not of type {wanted}{hint}"
    return [document.problem(path, message)]


def _enum(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    choices = [str(c) for c in error.validator_value]
    if "propertyNames" in error.absolute_schema_path:
        key = str(error.instance)
        if not _is_declared(error, key):
            return []  # an unknown key: additionalProperties reports it, with a suggestion
        message = f"`{key}` does not apply{_condition(error)}"
        return [document.problem((*path, key), message, at_key=True)]
    hint = did_you_mean(str(error.instance), choices)
    message = f"{_show(error.instance)} is not one of {one_of(choices)}{hint}"
    return [document.problem(path, message)]


def _pattern(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    if "propertyNames" in error.absolute_schema_path:
        message = "not a valid name: use lowercase letters, digits and _"
        return [document.problem((*path, str(error.instance)), message, at_key=True)]
    title = error.schema.get("title", "value").lower()
    message = f"{_show(error.instance)} is not a valid {title}{_examples(error.schema)}"
    return [document.problem(path, message)]


def _format(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    what = {"date": "date (YYYY-MM-DD)", "email": "e-mail address"}.get(
        str(error.validator_value), str(error.validator_value)
    )
    return [document.problem(path, f"{_show(error.instance)} is not a valid {what}")]


def _bound(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    words = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "greater than",
        "exclusiveMaximum": "less than",
    }
    bound = f"{words[str(error.validator)]} {error.validator_value}"
    return [document.problem(path, f"{_show(error.instance)} must be {bound}")]


def _size(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    if _is_secret_ref(error.schema):
        message = "a reference names exactly one of `env` or `secret_block`"
        return [document.problem(path, message)]
    count, noun = error.validator_value, _SIZE_NOUNS[str(error.validator)]
    message = f"needs at least {count} {noun}"
    if str(error.validator).startswith("max"):
        message = f"allows at most {count} {noun}"
    if str(error.validator) == "minLength" and count == 1:
        message = "must not be empty"
    return [document.problem(path, message)]


_SIZE_NOUNS = {
    "minItems": "item(s)",
    "maxItems": "item(s)",
    "minProperties": "key(s)",
    "maxProperties": "key(s)",
    "minLength": "character(s)",
    "maxLength": "character(s)",
}


def _const(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    message = f"{_show(error.instance)} is not supported; write {error.validator_value!r}"
    return [document.problem(path, message)]


def _unique(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    return [document.problem(path, "lists the same value twice")]


def _one_of(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    """`oneOf` over branches that each require one key: name the keys, and which were given."""
    keys = [b["required"][0] for b in error.validator_value if len(b.get("required", [])) == 1]
    if len(keys) != len(error.validator_value) or not isinstance(error.instance, dict):
        return _generic(document, error, path)
    given = [key for key in keys if key in error.instance]
    told = f" (given: {', '.join(f'`{k}`' for k in given)})" if given else " (none given)"
    return [document.problem(path, f"give exactly one of {one_of(keys)}{told}")]


def _generic(document: Document, error: ValidationError, path: JsonPath) -> list[Problem]:
    return [document.problem(path, f"{_show(error.instance)} breaks the `{error.validator}` rule")]


_HANDLERS = {
    "additionalProperties": _unknown_keys,
    "required": _required,
    "type": _type,
    "enum": _enum,
    "pattern": _pattern,
    "format": _format,
    "minimum": _bound,
    "maximum": _bound,
    "exclusiveMinimum": _bound,
    "exclusiveMaximum": _bound,
    **dict.fromkeys(_SIZE_NOUNS, _size),
    "const": _const,
    "uniqueItems": _unique,
    "oneOf": _one_of,
}


# --- defaults ---------------------------------------------------------------------------------


def with_defaults(data: Any, schema: dict[str, Any] | None = None) -> Any:
    """A copy of valid `data` with the schema's declared defaults filled in, at every level."""
    schema = _resolve(schema if schema is not None else program_spec_schema())
    for part in schema.get("allOf", []):
        data = with_defaults(data, part) if "$ref" in part else data
    if isinstance(data, dict):
        return _object_defaults(data, schema)
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        return [with_defaults(item, schema["items"]) for item in data]
    return data


def _object_defaults(data: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    result = {}
    for key, value in data.items():
        sub = properties.get(key, extra if isinstance(extra, dict) else {})
        result[key] = with_defaults(value, sub)
    for key, sub in properties.items():
        if key not in result and "default" in sub:
            result[key] = with_defaults(copy.deepcopy(sub["default"]), sub)
    return result
