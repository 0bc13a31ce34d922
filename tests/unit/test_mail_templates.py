"""Templates: every one renders in both languages, falls back sensibly, and fails loudly."""

from __future__ import annotations

import re

import pytest

from mentorflow.errors import TemplateError
from mentorflow.mail.outbox import standard_context
from mentorflow.mail.samples import sample_context
from mentorflow.mail.templates import TEMPLATE_NAMES, format_date, render
from mentorflow.paths import NOTIFICATIONS_DIR
from mentorflow.spec import BUILTIN_TEMPLATES
from tests.mail_support import settings_for


def _context(tmp_path, template, lang="de"):
    base = standard_context(
        settings_for(tmp_path), member_id="m_x", name="Zoë Schäfer", cycle_label="2027-1"
    )
    return {**base, **sample_context(template, language=lang)}


def test_notifications_holds_exactly_the_templates_the_spec_knows():
    folders = {p.name for p in NOTIFICATIONS_DIR.iterdir() if p.is_dir() and p.name != "_layout"}
    assert folders == set(BUILTIN_TEMPLATES)


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_each_template_renders_subject_text_and_html(tmp_path, name, lang):
    mail = render(name, _context(tmp_path, name, lang), language=lang, default_language="de")
    assert mail.language == lang and mail.subject and "\n" not in mail.subject
    assert not re.search(r"{{|{%|}}", mail.subject + mail.text + mail.html)
    assert "<" not in mail.text.replace("<address>", ""), "plain text must not carry HTML"
    assert mail.html.lstrip().startswith("<!DOCTYPE html>") and f'lang="{lang}"' in mail.html
    assert ("Hallo Zoë" if lang == "de" else "Hi Zoë") in mail.text + mail.html


def test_introduction_explains_the_match_and_the_first_meeting(tmp_path):
    mail = render(
        "introduction", _context(tmp_path, "introduction"), language="de", default_language="de"
    )
    assert "Warum Ihr zusammenpasst" in mail.text
    assert "1. Was Ihr Euch von den zwölf Wochen erhofft" in mail.text
    assert "Rhythmus: alle zwei Wochen" in mail.text and "Erfolg heißt" in mail.text


def test_html_escapes_member_data_and_text_keeps_it(tmp_path):
    context = {**_context(tmp_path, "welcome"), "member": {"first_name": "<b>Tom & Jerry</b>"}}
    mail = render("welcome", context, language="en", default_language="de")
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in mail.html
    assert "Hi <b>Tom & Jerry</b>," in mail.text


def test_unknown_language_falls_back_to_the_program_default(tmp_path):
    mail = render("welcome", _context(tmp_path, "welcome"), language="fr", default_language="de")
    assert mail.language == "de"


def test_a_missing_variable_is_an_error_naming_it(tmp_path):
    context = _context(tmp_path, "welcome")
    del context["intake_closes"]
    with pytest.raises(TemplateError, match="intake_closes"):
        render("welcome", context, language="de", default_language="de")


def test_spec_override_folder_wins_and_can_use_the_shared_layout(tmp_path):
    folder = tmp_path / "my_welcome"
    folder.mkdir()
    (folder / "de.subject.txt").write_text("Hallo {{ member.first_name }}!")
    (folder / "de.txt").write_text("Eigener Text für {{ program.name }}")
    (folder / "de.html").write_text(
        '{% extends "_layout/base.html" %}{% block content %}<p>Eigen</p>{% endblock %}'
    )
    mail = render(
        "welcome",
        _context(tmp_path, "welcome"),
        language="en",
        default_language="de",
        overrides={"welcome": folder},
    )
    assert mail.subject == "Hallo Zoë!" and mail.language == "de"  # the override has only German
    assert "Eigener Text für PyLadies Berlin Mentoring" in mail.text
    assert "<p>Eigen</p>" in mail.html and "Abmelden" in mail.html


def test_dates_read_naturally_in_each_language():
    assert format_date("2027-02-01", "de") == "1. Februar 2027"
    assert format_date("2027-03-15", "en") == "15 March 2027"
