"""Located problems in a spec (`file:line:col: $.json.path: message`) and "did you mean" hints."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

JsonPath = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a spec, located as an editor shows it (1-based line and column)."""

    file: str
    line: int
    col: int
    json_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.json_path}: {self.message}"


def format_path(path: Iterable[str | int]) -> str:
    """`$.matching.criteria[2].weight`; keys that are not identifiers in brackets."""
    parts = ["$"]
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            parts.append(f".{part}")
        else:
            parts.append(f"[{part!r}]")
    return "".join(parts)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean `x`?)` when a choice is close to `word`, else an empty string."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def one_of(choices: Iterable[str]) -> str:
    """`a`, `b` or `c` for a message."""
    names = [f"`{c}`" for c in choices]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Unique problems in file order (line, column, then path and message)."""
    return sorted(set(problems))
