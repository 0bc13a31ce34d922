"""Rendering mail templates from notifications/ (or a spec's override folder) with Jinja2."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from mentorflow.errors import TemplateError
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
    subject = _render_file(folder, f"{lang}.subject.txt", lang, context)
    return RenderedMail(
        subject=re.sub(r"\s+", " ", subject).strip(),
        text=_render_file(folder, f"{lang}.txt", lang, context).strip() + "\n",
        html=_render_file(folder, f"{lang}.html", lang, context),
        language=lang,
    )
