"""One rendering for many members gives, for each of them, the mail `render` gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorflow.mail import stamp
from mentorflow.mail.samples import sample_context
from mentorflow.mail.templates import (
    TEMPLATE_NAMES,
    _environment,
    render,
    render_many,
    template_folder,
)

NAMES = st.one_of(
    st.just(""),
    st.sampled_from(["Zoë Schäfer", "<b>Ann</b> & 'Bo'", 'Jo "J" Li', "  two  spaces ", "Ünal"]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
)


def _member_context(template: str, lang: str, name: str, i: int, unsubscribe: bool) -> dict:
    context = {
        "program": {"id": "p", "name": "PyLadies <Berlin> & Co"},
        "cycle_label": "2027-1",
        "base_url": "https://m.example.org",
        "contact_email": "orga@example.org",
        **sample_context(template, "https://m.example.org", lang, "Europe/Berlin"),
    }
    context["member"] = {"id": f"m_{i}", "name": name, "first_name": name.split(" ")[0]}
    context["unsubscribe_url"] = (
        f"https://m.example.org/unsubscribe/t{i}<&>" if unsubscribe else None
    )
    return context


@settings(max_examples=25, deadline=None)
@given(
    template=st.sampled_from(TEMPLATE_NAMES),
    members=st.lists(
        st.tuples(NAMES, st.sampled_from(["de", "en", None]), st.booleans()), max_size=6
    ),
)
def test_render_many_equals_rendering_each_member(template, members):
    contexts = [
        _member_context(template, lang or "de", name, i, unsub)
        for i, (name, lang, unsub) in enumerate(members)
    ]
    languages = [lang for _, lang, _ in members]
    many = render_many(template, contexts, languages, default_language="de")
    each = [
        render(template, c, language=lang, default_language="de")
        for c, lang in zip(contexts, languages, strict=True)
    ]
    assert many == each


@pytest.mark.parametrize("template", ["welcome", "not_enrolled", "fix_signup", "introduction"])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_bulk_templates_are_rendered_once_per_group(template, lang):
    assert stamp.stampable(_environment, template_folder(template), lang)


def _override(tmp_path: Path, body: str) -> dict[str, Path]:
    folder = tmp_path / "welcome"
    folder.mkdir()
    (folder / "de.subject.txt").write_text("Hallo {{ member.first_name }}")
    (folder / "de.txt").write_text(body)
    (folder / "de.html").write_text("<p>" + body + "</p>")
    return {"welcome": folder}


@pytest.mark.parametrize(
    "body",
    [
        "{{ member.first_name|upper }}",
        "{{ member.name|length }} {{ member.name }}",
        "{% set who = member.name %}{{ who }}",
        "{% if not member.first_name %}du{% endif %}",
        "{{ member.name ~ '!' }}",
        "{% autoescape false %}{{ member.name }}{% endautoescape %}",
        "{{ member['name'] }}",
    ],
)
def test_any_other_use_of_a_member_field_renders_each_member_alone(tmp_path, body):
    overrides = _override(tmp_path, body)
    folder = template_folder("welcome", overrides)
    assert not stamp.stampable(_environment, folder, "de")
    names = ["Ann", "<Bo> Lee", "", "Zoë Weiß-Ünal"]
    contexts = [_member_context("welcome", "de", n, i, True) for i, n in enumerate(names)]
    many = render_many("welcome", contexts, ["de"] * 4, default_language="de", overrides=overrides)
    each = [
        render("welcome", c, language="de", default_language="de", overrides=overrides)
        for c in contexts
    ]
    assert many == each
