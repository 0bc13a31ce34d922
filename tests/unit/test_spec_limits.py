"""The loader is bounded: hostile YAML gets one located problem fast, and every number a maximum."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mentorflow.spec import check_spec

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests" / "specs" / "invalid"
HOSTILE = ["alias_bomb", "deep_nesting", "huge_integer", "recursive_alias", "nan_weight"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_yaml_is_one_located_problem_in_well_under_a_second(name: str) -> None:
    started = time.perf_counter()
    problems = check_spec(INVALID / f"{name}.yaml")
    elapsed = time.perf_counter() - started
    assert len(problems) == 1 and problems[0].line > 1
    assert elapsed < 0.5, f"{name} took {elapsed:.2f} s"


def test_the_alias_bomb_is_small() -> None:
    assert (INVALID / "alias_bomb.yaml").stat().st_size < 1000


def test_a_spec_file_over_a_megabyte_is_refused_unread(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    spec.write_text("# " + "x" * 1_000_001 + "\n", encoding="utf-8")
    assert [p.message for p in check_spec(spec)] == ["the file is larger than 1 MB"]


def _numeric(schema: Any, path: str = "$") -> list[tuple[str, dict[str, Any]]]:
    """Every sub-schema that admits a number, with where it sits."""
    found = []
    if isinstance(schema, dict):
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else types
        if {"integer", "number"} & set(types):
            found.append((path, schema))
        for key, value in schema.items():
            found += _numeric(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found += _numeric(value, f"{path}[{index}]")
    return found


def test_every_number_in_the_schema_has_a_maximum() -> None:
    schema = json.loads((ROOT / "schemas" / "program_spec.schema.json").read_text("utf-8"))
    numbers = _numeric(schema)
    assert len(numbers) >= 14
    unbounded = [p for p, s in numbers if "maximum" not in s and "const" not in s]
    assert unbounded == []
