"""Rendering mail templates from notifications/ (or a spec's override folder) with Jinja2."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import jinja2

from mentorflow.errors import TemplateError
from mentorflow.mail import stamp
from mentorflow.paths import NOTIFICATIONS_DIR
from mentorflow.spec.model import BUILTIN_TEMPLATES

LANGUAGES = ("de", "en")
TEMPLATE_NAMES = tuple(sorted(BUILTIN_TEMPLATES))  # the spec's list is the one list
_MONTHS = {
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "en": "January February March April May June July August September October November December",
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    language: str


def _as_date(value: Any) -> date | datetime:
    if isinstance(value, date | datetime):
        return value
    text = str(value)
    return datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)


def format_date(value: Any, lang: str) -> str:
    """`1. Februar 2027` in German, `1 February 2027` in English."""
    day = _as_date(value)
    month = _MONTHS.get(lang, _MONTHS["en"]).split()[day.month - 1]
    return f"{day.day}. {month} {day.year}" if lang == "de" else f"{day.day} {month} {day.year}"


def format_datetime(value: Any, lang: str) -> str:
    moment = _as_date(value)
    if not isinstance(moment, datetime):
        return format_date(moment, lang)
    clock = f"{moment:%H:%M}" + (" Uhr" if lang == "de" else "")
    zone = f" ({moment.tzname()})" if moment.tzinfo else ""
    return f"{format_date(moment, lang)}, {clock}{zone}"


@lru_cache(maxsize=64)
def _environment(folder: Path, autoescape: bool, lang: str) -> jinja2.Environment:
    # The template's own folder first, then notifications/ for the shared layout (_layout/).
    loader = jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(str(folder)), jinja2.FileSystemLoader(str(NOTIFICATIONS_DIR))]
    )
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # compiled once per process: no stat of three files for every mail
    )
    env.filters["date"] = lambda value: format_date(value, lang)
    env.filters["datetime"] = lambda value: format_datetime(value, lang)
    return env


def template_folder(name: str, overrides: Mapping[str, Path] | None = None) -> Path:
    """The folder holding template `name`: the spec's override, else notifications/<name>."""
    folder = (overrides or {}).get(name) or NOTIFICATIONS_DIR / name
    if not folder.is_dir():
        raise TemplateError(f"template {name!r}: folder {folder} does not exist")
    return folder


@lru_cache(maxsize=256)
def pick_language(folder: Path, wanted: str | None, default: str) -> str:
    """The member's language when the template has it, else the program default, else English."""
    for lang in (wanted, default, "en", "de"):
        if lang and (folder / f"{lang}.subject.txt").is_file():
            return lang
    raise TemplateError(f"template folder {folder.name!r} has no language files")


def _render_file(folder: Path, filename: str, lang: str, context: dict[str, Any]) -> str:
    env = _environment(folder, filename.endswith(".html"), lang)
    try:
        return env.get_template(filename).render(**context, lang=lang)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {folder.name!r}: {exc.name} is missing") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"template {folder.name!r} ({filename}): {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template {folder.name!r} ({filename}): {exc}") from None


def render(
    name: str,
    context: dict[str, Any],
    *,
    language: str | None,
    default_language: str,
    overrides: Mapping[str, Path] | None = None,
) -> RenderedMail:
    """Subject, plain text and HTML of template `name` in the best language available."""
    folder = template_folder(name, overrides)
    lang = pick_language(folder, language, default_language)
    return _finished(_raw_parts(folder, lang, context), lang)


def _raw_parts(folder: Path, lang: str, context: dict[str, Any]) -> tuple[str, str, str]:
    return (
        _render_file(folder, f"{lang}.subject.txt", lang, context),
        _render_file(folder, f"{lang}.txt", lang, context),
        _render_file(folder, f"{lang}.html", lang, context),
    )


_SPACES = re.compile(r"\s+")


def _finished(parts: tuple[str, str, str], lang: str) -> RenderedMail:
    subject, text, html = parts
    return RenderedMail(
        subject=_finished_subject(subject), text=_finished_text(text), html=html, language=lang
    )


def _finished_subject(subject: str) -> str:
    return _SPACES.sub(" ", subject).strip()


def _finished_text(text: str) -> str:
    return text.strip() + "\n"


@dataclass(frozen=True)
class SharedMail:
    """One member's mail of a rendering shared by several (`render_batch`): its own subject,
    and its values for the placeholders of the shared text and HTML (`stamp`). The outbox
    stores the shared part once and each mail's values (`mail/bodies.py`)."""

    subject: str
    stamp: stamp.Stamp  # the same object for every mail of the group
    values: tuple[str, ...]
    language: str

    @property
    def text(self) -> str:
        return fill_text(self.stamp.patterns[1], self.values)

    @property
    def html(self) -> str:
        return stamp.fill_html(self.stamp.patterns[2], self.values)

    def rendered(self) -> RenderedMail:
        return RenderedMail(self.subject, self.text, self.html, self.language)


def fill_text(pattern: str, values: Sequence[str]) -> str:
    """The plain text of a shared rendering's `pattern` with one mail's `values`."""
    return _finished_text(pattern.format(*values))


class _Recent:
    """The last few renderings with placeholders, by template folder, language and group key
    (`stamp.group_key`: all that decides the rendering): intake's batches of 1,000 welcome
    mails are four groups each, the same four every batch."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._found: OrderedDict[Hashable, stamp.Stamp] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> stamp.Stamp | None:
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
            return found

    def put(self, key: Hashable, value: stamp.Stamp) -> None:
        with self._lock:
            self._found[key] = value
            while len(self._found) > self.size:
                self._found.popitem(last=False)


_STAMPS = _Recent(64)


def render_many(
    name: str,
    contexts: Sequence[dict[str, Any]],
    languages: Sequence[str | None],
    *,
    default_language: str,
    overrides: Mapping[str, Path] | None = None,
) -> list[RenderedMail]:
    """`render` for many members at once: the same mails, one `RenderedMail` per context
    (`render_batch`, each mail filled in)."""
    found = render_batch(
        name, contexts, languages, default_language=default_language, overrides=overrides
    )
    return [mail.rendered() if isinstance(mail, SharedMail) else mail for mail in found]


def render_batch(
    name: str,
    contexts: Sequence[dict[str, Any]],
    languages: Sequence[str | None],
    *,
    default_language: str,
    overrides: Mapping[str, Path] | None = None,
) -> list[RenderedMail | SharedMail]:
    """`render` for many members at once, one mail per context; a `SharedMail` where several
    share one rendering.

    Contexts that differ only in values the template inserts verbatim (the member's fields,
    `unsubscribe_url`, the pause and leave links ...) share one rendering, into which each
    member's values are put (escaped in HTML as Jinja escapes them); mail/stamp.py finds those
    values in every file the template extends or includes. Contexts that differ in anything else
    are rendered apart. Three renders per mail were most of the time of queuing intake's 100,000
    welcome mails; storing their 100,000 copies of the same text most of what was left.
    """
    folder = template_folder(name, overrides)
    langs = [pick_language(folder, wanted, default_language) for wanted in languages]
    out: list[RenderedMail | SharedMail | None] = [None] * len(contexts)
    groups: dict[Any, list[int]] = {}
    memo: dict[int, Any] = {}  # `contexts` live until the end: their dicts' ids stay theirs
    for i, (context, lang) in enumerate(zip(contexts, langs, strict=True)):
        slots = stamp.slots(_environment, folder, lang)
        key = stamp.group_key(context, slots, memo) if slots is not None else None
        if key is None:
            out[i] = _finished(_raw_parts(folder, lang, context), lang)
        else:
            groups.setdefault((lang, key), []).append(i)
    for (lang, key), members in groups.items():
        if len(members) == 1:  # nothing to share
            out[members[0]] = _finished(_raw_parts(folder, lang, contexts[members[0]]), lang)
            continue
        slots = stamp.slots(_environment, folder, lang)
        assert slots is not None
        shared = _STAMPS.get((folder, lang, key))
        if shared is None:
            context = contexts[members[0]]
            shared = stamp.stamped(partial(_raw_parts, folder, lang), context, slots)
            _STAMPS.put((folder, lang, key), shared)
        subject = shared.patterns[0]
        for i in members:
            values = shared.values(contexts[i])
            out[i] = SharedMail(_finished_subject(subject.format(*values)), shared, values, lang)
    return [mail for mail in out if mail is not None]
