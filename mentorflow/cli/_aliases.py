"""How an alias command says what it is (tests/unit/test_cli_commands.py reads it back)."""

from __future__ import annotations

import re

_HELP = "Alias of `mentorflow {target}`: the same command, options and output."
_PARSE = re.compile(r"^Alias of `mentorflow ([a-z -]+)`")


def alias_help(target: str) -> str:
    """The help text of a command that is another name for `mentorflow <target>`."""
    return _HELP.format(target=target)


def alias_target(help_text: str | None) -> str | None:
    """The command a help text says it is an alias of (None: not an alias)."""
    found = _PARSE.match(help_text or "")
    return found.group(1) if found else None
