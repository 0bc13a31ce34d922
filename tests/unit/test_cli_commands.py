"""One action, one command: every command of the typer app is in docs/cli.md's table with its
help, and a second name for a command is an alias that says so, there and in its help."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import typer

from mentorflow.cli._aliases import alias_target
from mentorflow.cli.main import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
ROW = re.compile(r"^\| `([a-z -]+)` \| (.+) \|$")


def _commands() -> dict[str, Any]:
    """Every command by its full name ('send', 'run mail'), groups included."""
    found: dict[str, Any] = {}

    def walk(group: Any, prefix: str) -> None:
        for name, command in group.commands.items():
            found[prefix + name] = command
            if hasattr(command, "commands"):
                walk(command, f"{prefix}{name} ")

    walk(typer.main.get_command(app), "")
    return found


def _summary(command: Any) -> str:
    return " ".join((command.help or "").split("\n\n")[0].split())


def _table(heading: str) -> dict[str, str]:
    """The rows of the first table under `## heading` in docs/cli.md: first cell -> second."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return {m[1]: m[2] for line in section.splitlines() if (m := ROW.match(line))}


def _function(command: Any) -> Any:
    return inspect.unwrap(command.callback) if command.callback else None


def test_every_command_is_in_the_documented_table_with_its_help() -> None:
    commands, table = _commands(), _table("Commands")
    assert set(table) == set(commands), "docs/cli.md's table and the CLI's commands differ"
    for name, command in commands.items():
        assert table[name] == _summary(command), f"{name}: docs/cli.md says something else"


def test_each_alias_says_so_and_is_documented_as_one() -> None:
    commands, aliases = _commands(), _table("Aliases")
    said = {n: alias_target(c.help) for n, c in commands.items() if alias_target(c.help)}
    documented = {alias: target.strip("`") for alias, target in aliases.items()}
    assert said == documented, "aliases in the help and in docs/cli.md differ"
    for name, target in said.items():
        assert target in commands and alias_target(commands[target].help) is None
        assert _function(commands[name]) is _function(commands[target]), (
            f"`{name}` says it is `{target}` but runs something else"
        )


def test_no_two_commands_do_the_same_unless_one_is_an_alias() -> None:
    commands = {n: c for n, c in _commands().items() if not alias_target(c.help)}
    by_function: dict[Any, str] = {}
    by_summary: dict[str, str] = {}
    for name, command in commands.items():
        function = _function(command)
        if function is not None:
            assert function not in by_function, f"`{name}` and `{by_function[function]}`"
            by_function[function] = name
        summary = _summary(command).lower()
        assert summary not in by_summary, f"`{name}` and `{by_summary[summary]}`: same help"
        by_summary[summary] = name
