"""The one way to read a program spec: check it completely, then build the typed ProgramSpec."""

from __future__ import annotations

from pathlib import Path

from mentorflow.errors import SpecInvalidError
from mentorflow.spec.build import build_spec
from mentorflow.spec.loader import Document, read_document
from mentorflow.spec.model import ProgramSpec
from mentorflow.spec.report import Problem, sorted_problems
from mentorflow.spec.schema import schema_check, with_defaults
from mentorflow.spec.semantic import semantic_problems


def _check(path: Path) -> tuple[Document | None, list[Problem]]:
    document, problems = read_document(path)
    if document is None:
        return None, problems
    found, broken = schema_check(document)
    if problems:  # duplicate keys: the data may not be what the organizer meant
        broken.append(())
    problems += found
    problems += semantic_problems(document, with_defaults(document.data), broken)
    return document, sorted_problems(problems)


def check_spec(path: str | Path) -> list[Problem]:
    """Every problem of the spec at `path`, in file order; empty when it is fine."""
    return _check(Path(path))[1]


def load_spec(path: str | Path) -> ProgramSpec:
    """The typed spec; raises SpecInvalidError listing every problem."""
    document, problems = _check(Path(path))
    if problems or document is None:
        raise SpecInvalidError(problems)
    data = with_defaults(document.data)
    return build_spec(data, Path(path).resolve(), document.sha256)
