"""One rendering for many members: placeholders for the member's fields, filled in per mail.

Safe only where the template inserts a member field verbatim: `stampable` reads the template's
syntax tree (and that of every file it extends or includes) and allows the fields only as a
plain `{{ member.first_name }}` (no filter, no expression around it) or as the whole test of an
`{% if %}`. Members whose fields are empty (or None) in different places are rendered apart, so
each `{% if %}` decides as it would for them; every other variable must be equal. In HTML the
value is escaped exactly as Jinja's autoescape does (`markupsafe.escape`), in text it is raw.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Hashable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from markupsafe import escape

MEMBER_FIELDS = ("id", "name", "first_name")
_NAMES = frozenset({"member", "unsubscribe_url"})
_Slot = tuple[str, ...]  # ("member", "name") or ("unsubscribe_url",)
_SLOTS: tuple[_Slot, ...] = (*(("member", f) for f in MEMBER_FIELDS), ("unsubscribe_url",))


def _value(context: dict[str, Any], slot: _Slot) -> Any:
    return context[slot[0]][slot[1]] if len(slot) == 2 else context.get(slot[0])


def _freeze(value: Any) -> Hashable:
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    if value is None or isinstance(value, str | int | float | bool):
        return (type(value).__name__, value)
    if hasattr(value, "isoformat"):  # date, datetime: their repr is exact
        return (type(value).__name__, repr(value))
    raise TypeError(type(value).__name__)


def group_key(context: dict[str, Any]) -> Hashable | None:
    """What members sharing one rendering have in common; None: render this one alone."""
    member = context.get("member")
    if not isinstance(member, dict) or set(member) != set(MEMBER_FIELDS):
        return None
    values = [_value(context, slot) for slot in _SLOTS]
    if not all(v is None or isinstance(v, str) for v in values):
        return None
    rest = {k: v for k, v in context.items() if k not in _NAMES}
    try:
        return (_freeze(rest), tuple(v if not v else True for v in values))
    except TypeError:
        return None


def with_sentinels(context: dict[str, Any]) -> tuple[dict[str, _Slot], dict[str, Any]]:
    """(sentinel -> slot, the context with a sentinel for every non-empty member field)."""
    token = uuid.uuid4().hex
    sentinels: dict[str, _Slot] = {}
    member = dict(context["member"])
    stamped = {**context, "member": member}
    for i, slot in enumerate(_SLOTS):
        if _value(context, slot):
            sentinel = f"MfStamp{token}{i}Q"  # letters and digits: escaping leaves it as it is
            sentinels[sentinel] = slot
            if len(slot) == 2:
                member[slot[1]] = sentinel
            else:
                stamped[slot[0]] = sentinel
    return sentinels, stamped


def fill(
    parts: tuple[str, str, str], sentinels: dict[str, _Slot], context: dict[str, Any]
) -> tuple[str, str, str]:
    """The stamped (subject, text, html) with `context`'s member fields in place."""
    if not sentinels:
        return parts
    raw = {s: str(_value(context, slot)) for s, slot in sentinels.items()}
    html = {s: str(escape(v)) for s, v in raw.items()}
    pattern = re.compile("|".join(sentinels))  # one pass: a value is never searched again
    subject, text, body = parts
    return (
        pattern.sub(lambda m: raw[m.group()], subject),
        pattern.sub(lambda m: raw[m.group()], text),
        pattern.sub(lambda m: html[m.group()], body),
    )


@lru_cache(maxsize=256)
def stampable(
    environment: Callable[[Path, bool, str], jinja2.Environment], folder: Path, lang: str
) -> bool:
    """Whether template `folder` in `lang` uses member fields only in the two safe forms."""
    try:
        for filename in (f"{lang}.subject.txt", f"{lang}.txt", f"{lang}.html"):
            env = environment(folder, filename.endswith(".html"), lang)
            if not _safe_file(env, filename, set()):
                return False
    except jinja2.TemplateError:
        return False  # rendering each mail reports it properly
    return True


def _safe_file(env: jinja2.Environment, filename: str, seen: set[str]) -> bool:
    if filename in seen:
        return True
    seen.add(filename)
    assert env.loader is not None
    tree = env.parse(env.loader.get_source(env, filename)[0])
    if any(tree.find_all((nodes.EvalContextModifier, nodes.Import, nodes.FromImport))):
        return False  # autoescape switched, or macros from elsewhere
    for node in tree.find_all((nodes.Extends, nodes.Include)):
        target = getattr(node, "template", None)
        if not isinstance(target, nodes.Const) or not isinstance(target.value, str):
            return False
        if not _safe_file(env, target.value, seen):
            return False
    allowed = {id(name) for name in _plain_uses(tree)}
    return all(id(name) in allowed for name in tree.find_all(nodes.Name) if name.name in _NAMES)


def _plain_uses(tree: nodes.Template) -> list[nodes.Name]:
    """The Name nodes of member fields used as `{{ field }}` or as an `{% if field %}` test."""
    found: list[nodes.Name] = []
    for output in tree.find_all(nodes.Output):
        found.extend(n for expr in output.nodes if (n := _field(expr)) is not None)
    for test in tree.find_all(nodes.If):
        if (n := _field(test.test)) is not None:
            found.append(n)
    return found


def _field(expr: nodes.Node) -> nodes.Name | None:
    if isinstance(expr, nodes.Name) and expr.name == "unsubscribe_url" and expr.ctx == "load":
        return expr
    if (
        isinstance(expr, nodes.Getattr)
        and isinstance(expr.node, nodes.Name)
        and expr.node.name == "member"
        and expr.node.ctx == "load"
        and expr.attr in MEMBER_FIELDS
    ):
        return expr.node
    return None
