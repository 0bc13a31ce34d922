"""The program spec language: `load_spec` for flows and tools, `check_spec` for reports."""

from __future__ import annotations

from mentorflow.spec.api import check_spec, load_spec, require_runtime
from mentorflow.spec.model import BUILTIN_FIELDS, BUILTIN_TEMPLATES, ProgramSpec, SecretRef
from mentorflow.spec.report import Problem

__all__ = [
    "BUILTIN_FIELDS",
    "BUILTIN_TEMPLATES",
    "Problem",
    "ProgramSpec",
    "SecretRef",
    "check_spec",
    "load_spec",
    "require_runtime",
]
