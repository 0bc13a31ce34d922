"""The one way to read a program spec: check it completely, then build the typed ProgramSpec."""

from __future__ import annotations

from pathlib import Path

from mentorflow.errors import SpecInvalidError
from mentorflow.spec.build import build_spec
from mentorflow.spec.loader import Document, read_document
from mentorflow.spec.model import ProgramSpec
from mentorflow.spec.report import JsonPath, Problem, sorted_problems
from mentorflow.spec.runtime import env_problems, header_problems
from mentorflow.spec.schema import schema_check, with_defaults
from mentorflow.spec.semantic import semantic_problems


def _check(path: Path) -> tuple[Document | None, list[Problem], list[JsonPath]]:
    """The document, its problems in file order, and the paths the schema refused."""
    document, problems = read_document(path)
    if document is None:
        return None, problems, [()]
    found, broken = schema_check(document)
    if problems:  # duplicate keys: the data may not be what the organizer meant
        broken.append(())
    problems += found
    problems += semantic_problems(document, with_defaults(document.data), broken)
    return document, sorted_problems(problems), broken


def check_spec(path: str | Path, *, runtime: bool = False) -> list[Problem]:
    """Every problem of the spec at `path`, in file order; empty when it is fine.

    Beyond what `load_spec` checks, an existing CSV form export must have the mapped columns;
    with `runtime`, the environment variables the spec uses must be set.
    """
    document, problems, broken = _check(Path(path))
    if document is None or any(p.json_path.startswith("$.intake") for p in problems):
        return problems
    data = with_defaults(document.data)
    if not any(_overlaps(bad, ("intake",)) for bad in broken):
        problems += header_problems(document, data)
    if runtime and not broken:
        problems += env_problems(document, data)
    return sorted_problems(problems)


def _overlaps(a: JsonPath, b: JsonPath) -> bool:
    return a[: len(b)] == b[: len(a)]


def load_spec(path: str | Path) -> ProgramSpec:
    """The typed spec; raises SpecInvalidError listing every problem."""
    document, problems, _ = _check(Path(path))
    if problems or document is None:
        raise SpecInvalidError(problems)
    data = with_defaults(document.data)
    return build_spec(data, Path(path).resolve(), document.sha256)


def require_runtime(spec: ProgramSpec) -> None:
    """Raise SpecInvalidError when an `{env: NAME}` the spec uses is unset; flows call it first."""
    document, _ = read_document(spec.path)
    if document is None:  # the file changed since it was loaded: load_spec reports that
        return
    problems = env_problems(document, with_defaults(document.data))
    if problems:
        raise SpecInvalidError(problems)
