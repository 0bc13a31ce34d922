"""One rendering for many members: placeholders for what differs per member, filled in per mail.

Safe only where the template inserts such a value verbatim: `slots` reads the template's syntax
tree (and that of every file it extends or includes) and finds the variables it uses only as a
plain `{{ name }}` (no filter, no expression around it) or inside the test of an `{% if %}` as
`name` or `name is defined` (joined by `and`, `or`, `not`): the member's fields
(`{{ member.first_name }}`) and top-level values such as `unsubscribe_url` or the welcome's
signed pause and leave links. Members whose such values are empty, None or missing in different
places are rendered apart, so each test decides as it would for them; every other variable must
be equal. In HTML a value is escaped exactly as Jinja's autoescape does (`markupsafe.escape`), in
text it is raw.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from markupsafe import escape

MEMBER_FIELDS = ("id", "name", "first_name")
_MEMBER = "member"
_Slot = tuple[str, ...]  # ("member", "name") or ("unsubscribe_url",)
_TESTS = frozenset({"defined", "undefined", "none"})  # decided alike by every value in a group
_ABSENT = ("absent",)  # a slot whose key the context lacks (`is defined` tells it from None)
_MEMBER_SLOTS: tuple[_Slot, ...] = tuple((_MEMBER, f) for f in MEMBER_FIELDS)
_ESCAPED = re.compile("[&<>'\"]")  # what markupsafe.escape changes: other texts stay as they are
# Autoescape switched, macros, or rendered output that a filter or a variable takes in (where a
# placeholder could be changed): such a template is rendered per member.
_UNSTAMPABLE = (
    nodes.EvalContextModifier,
    nodes.Import,
    nodes.FromImport,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.AssignBlock,
)


def _value(context: dict[str, Any], slot: _Slot) -> Any:
    if len(slot) == 2:
        return context[slot[0]][slot[1]]
    return context.get(slot[0], _ABSENT)


def _freeze(value: Any, memo: dict[int, Hashable] | None = None) -> Hashable:
    """A hashable value equal for equal values; `memo` (id -> frozen) shares the work for a dict
    that many contexts hold (a batch's standard variables), valid while they all live."""
    if type(value) is str or type(value) is date:  # equal only to their own kind: as they are
        return value
    if isinstance(value, dict):  # in its order: equal dicts built alike are one group
        if memo is not None and id(value) in memo:
            return memo[id(value)]
        frozen = ("dict", tuple([(str(k), _freeze(v)) for k, v in value.items()]))
        if memo is not None:
            memo[id(value)] = frozen
        return frozen
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    if value is None or isinstance(value, str | int | float | bool):
        return (type(value).__name__, value)
    if hasattr(value, "isoformat"):  # date, datetime: their repr is exact
        return (type(value).__name__, repr(value))
    raise TypeError(type(value).__name__)


def group_key(
    context: dict[str, Any], slots: tuple[_Slot, ...], memo: dict[int, Hashable] | None = None
) -> Hashable | None:
    """What members sharing one rendering have in common; None: render this one alone.

    `slots` are the template's (from `slots`): every other value must be equal within a group,
    and each slot's value equal when empty (None, "", missing) and a text when not."""
    names = {slot[0] for slot in slots}
    if _MEMBER in names:
        member = context.get(_MEMBER)
        if not isinstance(member, dict) or set(member) != set(MEMBER_FIELDS):
            return None
    try:  # a text is the common case of both: taken as it is, without a call
        rest = tuple(
            [
                (k, v if type(v) is str else _freeze(v, memo))
                for k, v in context.items()
                if k not in names
            ]
        )
        shapes = []
        for slot in slots:
            value = _value(context, slot)
            shapes.append(True if type(value) is str and value else _shape(value))
        return (rest, tuple(shapes))
    except TypeError:
        return None


def _shape(value: Any) -> Hashable:
    """What a slot's value must share with the group's: being a text, or the empty value."""
    if value is _ABSENT:
        return value
    if value and isinstance(value, str):
        return True
    if value:
        raise TypeError(type(value).__name__)  # rendered as Jinja renders it: alone
    return _freeze(value)


@dataclass(frozen=True)
class Stamp:
    """A rendering with placeholders: each part as a `str.format` pattern, and the slot of each
    placeholder. Filling in joins texts only; a value is never searched or parsed again."""

    patterns: tuple[str, str, str]  # subject, text, html
    slots: tuple[_Slot, ...]

    def values(self, context: dict[str, Any]) -> tuple[str, ...]:
        """`context`'s value for each placeholder, in order (what one member puts in)."""
        member: dict[str, Any] = context.get(_MEMBER) or {}
        return tuple([member[s[1]] if len(s) == 2 else context[s[0]] for s in self.slots])

    def fill(self, context: dict[str, Any]) -> tuple[str, str, str]:
        """The (subject, text, html) for `context`'s values."""
        raw = self.values(context)
        subject, text, body = self.patterns
        return subject.format(*raw), text.format(*raw), fill_html(body, raw)


def fill_html(pattern: str, values: Sequence[str]) -> str:
    """An HTML pattern with `values` put in, escaped exactly as Jinja's autoescape does."""
    return pattern.format(*[str(escape(v)) if _ESCAPED.search(v) else v for v in values])


def stamped(
    render_parts: Callable[[dict[str, Any]], tuple[str, str, str]],
    context: dict[str, Any],
    slots: tuple[_Slot, ...],
) -> Stamp:
    """Render once with a sentinel in every non-empty slot of `context` (the group's first)."""
    token = uuid.uuid4().hex
    member = dict(context[_MEMBER]) if any(s[0] == _MEMBER for s in slots) else None
    with_sentinels = {**context, _MEMBER: member} if member is not None else dict(context)
    sentinels: dict[str, int] = {}
    used: list[_Slot] = []
    for slot in slots:
        if _shape(_value(context, slot)) is True:
            sentinel = f"MfStamp{token}{len(used)}Q"  # letters, digits: escaping keeps it
            sentinels[sentinel] = len(used)
            used.append(slot)
            if len(slot) == 2:
                assert member is not None
                member[slot[1]] = sentinel
            else:
                with_sentinels[slot[0]] = sentinel
    parts = render_parts(with_sentinels)
    patterns = tuple(_pattern(part, sentinels) for part in parts)
    return Stamp((patterns[0], patterns[1], patterns[2]), tuple(used))


def _pattern(text: str, sentinels: dict[str, int]) -> str:
    if not sentinels:
        return text.replace("{", "{{").replace("}", "}}")
    pieces = re.split("(" + "|".join(sentinels) + ")", text)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            out.append(f"{{{sentinels[piece]}}}")
        else:
            out.append(piece.replace("{", "{{").replace("}", "}}"))
    return "".join(out)


@lru_cache(maxsize=256)
def slots(
    environment: Callable[[Path, bool, str], jinja2.Environment], folder: Path, lang: str
) -> tuple[_Slot, ...] | None:
    """The slots of template `folder` in `lang` (sorted); None when it cannot be read."""
    try:
        uses: dict[str, bool] = {}
        for filename in (f"{lang}.subject.txt", f"{lang}.txt", f"{lang}.html"):
            env = environment(folder, filename.endswith(".html"), lang)
            if not _collect(env, filename, set(), uses):
                return ()
    except jinja2.TemplateError:
        return None  # rendering each mail reports it properly
    found: list[_Slot] = []
    for name, safe in sorted(uses.items()):
        if safe and name == _MEMBER:
            found.extend(_MEMBER_SLOTS)
        elif safe:
            found.append((name,))
    return tuple(found)


def _collect(env: jinja2.Environment, filename: str, seen: set[str], uses: dict[str, bool]) -> bool:
    """Record for each variable of `filename` (and what it extends or includes) whether every
    use of it is safe; False when nothing may be stamped (autoescape switched, imports)."""
    if filename in seen:
        return True
    seen.add(filename)
    assert env.loader is not None
    tree = env.parse(env.loader.get_source(env, filename)[0])
    if any(tree.find_all(_UNSTAMPABLE)) or any(map(_renders_a_fragment, tree.find_all(nodes.Call))):
        return False
    for node in tree.find_all((nodes.Extends, nodes.Include)):
        target = getattr(node, "template", None)
        if not isinstance(target, nodes.Const) or not isinstance(target.value, str):
            return False
        if not _collect(env, target.value, seen, uses):
            return False
    allowed = {id(name) for name in _plain_uses(tree)}
    for name in tree.find_all(nodes.Name):
        safe = name.ctx == "load" and id(name) in allowed
        uses[name.name] = uses.get(name.name, True) and safe
    return True


def _renders_a_fragment(call: nodes.Call) -> bool:
    """`super()`, `caller()` or `self.block()`: rendered output as a value."""
    target = call.node
    if isinstance(target, nodes.Getattr):
        target = target.node
    return isinstance(target, nodes.Name) and target.name in ("super", "caller", "self")


def _plain_uses(tree: nodes.Template) -> list[nodes.Name]:
    """The Name nodes used as `{{ field }}` or in an `{% if %}` test as `field`, `field is
    defined` (or undefined, none), and `and`, `or`, `not` of such."""
    found: list[nodes.Name] = []
    for output in tree.find_all(nodes.Output):
        found.extend(n for expr in output.nodes if (n := _field(expr)) is not None)
    for test in tree.find_all(nodes.If):
        found.extend(_tested(test.test))
    return found


def _tested(expr: nodes.Node) -> Sequence[nodes.Name]:
    if isinstance(expr, nodes.And | nodes.Or):
        return [*_tested(expr.left), *_tested(expr.right)]
    if isinstance(expr, nodes.Not):
        return _tested(expr.node)
    if isinstance(expr, nodes.Test) and expr.name in _TESTS and not _has_arguments(expr):
        expr = expr.node
    name = _field(expr)
    return [name] if name is not None else []


def _has_arguments(test: nodes.Test) -> bool:
    return bool(test.args or test.kwargs or test.dyn_args or test.dyn_kwargs)


def _field(expr: nodes.Node) -> nodes.Name | None:
    if isinstance(expr, nodes.Name) and expr.name != _MEMBER and expr.ctx == "load":
        return expr
    if (
        isinstance(expr, nodes.Getattr)
        and isinstance(expr.node, nodes.Name)
        and expr.node.name == _MEMBER
        and expr.node.ctx == "load"
        and expr.attr in MEMBER_FIELDS
    ):
        return expr.node
    return None
