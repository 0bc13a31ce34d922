"""The form's header row checked against the spec's column mapping, with "did you mean"."""

from __future__ import annotations

import difflib
from collections import Counter

from mentorflow.errors import HeaderMismatchError
from mentorflow.intake.values import squash
from mentorflow.spec.model import Intake

CONSENT_KEY = "__consent__"


def expected_columns(intake: Intake) -> dict[str, str]:
    """Form header -> field the spec maps it to (the consent question as `__consent__`)."""
    expected = dict(intake.columns)
    if intake.consent is not None:
        expected[intake.consent.column] = CONSENT_KEY
    return expected


def column_indices(header: list[str], intake: Intake) -> dict[str, int]:
    """Field -> column index; raises HeaderMismatchError naming what is missing and what is not."""
    check_header(header, intake)
    position = {squash(cell): i for i, cell in enumerate(header)}
    return {field: position[squash(col)] for col, field in expected_columns(intake).items()}


def unmapped_columns(header: list[str], intake: Intake) -> list[str]:
    """Header cells the spec does not map: read, never stored."""
    known = {squash(col) for col in expected_columns(intake)}
    return [cell for cell in header if cell.strip() and squash(cell) not in known]


def check_header(header: list[str], intake: Intake) -> None:
    """Raise HeaderMismatchError when a mapped column is missing or a header repeats."""
    counts = Counter(squash(cell) for cell in header if cell.strip())
    repeated = [cell for cell in dict.fromkeys(header) if counts[squash(cell)] > 1]
    missing = [col for col in expected_columns(intake) if squash(col) not in counts]
    if not missing and not repeated:
        return
    unknown = unmapped_columns(header, intake)
    lines = [f"The form's header row does not match intake.columns ({intake.source.label}):"]
    for col in missing:
        hint = difflib.get_close_matches(col, unknown, n=1, cutoff=0.6)
        suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
        lines.append(f"- expected column {col!r} is missing{suffix}")
    lines.extend(f"- column {cell!r} appears more than once" for cell in repeated)
    if unknown:
        lines.append("- columns the spec does not map: " + ", ".join(repr(c) for c in unknown))
    raise HeaderMismatchError("\n".join(lines))
