"""One rendering for many members gives, for each of them, the mail `render` gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorflow.engagement.links import member_links
from mentorflow.errors import TemplateError
from mentorflow.mail import stamp, templates
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
    st.sampled_from(
        ["Zoë Schäfer", "<b>Ann</b> & 'Bo'", 'Jo "J" Li', "  two  spaces ", "Ünal", "{0} {x}}"]
    ),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
)
# A member's own link (welcome: pause and leave; elsewhere a check-in or survey link): a text,
# empty, None or missing, each deciding the template's `{% if ... is defined and ... %}`.
LINKS = st.one_of(
    st.none(),
    st.just(""),
    st.just(None).map(lambda _: _MISSING),
    st.text(st.sampled_from("ab<&>\"'{}0 "), min_size=1, max_size=12).map(
        lambda t: "https://m.example.org/l/" + t
    ),
)
_MISSING = object()
_PER_MEMBER = ("pause_url", "leave_url", "baseline_url", "checkin_url", "survey_url", "action_url")


def _member_context(
    template: str, lang: str, name: str, i: int, unsubscribe: bool, links: tuple = ()
) -> dict:
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
    for key, link in zip(_PER_MEMBER, links, strict=False):
        if link is _MISSING:
            context.pop(key, None)
        else:
            context[key] = link
    if "baseline_url" in context:
        context["baseline_title"] = {"de": "Vorher", "en": "Before"}
    return context


@settings(max_examples=40, deadline=None)
@given(
    template=st.sampled_from(TEMPLATE_NAMES),
    members=st.lists(
        st.tuples(
            NAMES,
            st.sampled_from(["de", "en", None]),
            st.booleans(),
            st.tuples(*[LINKS] * len(_PER_MEMBER)),
        ),
        max_size=6,
    ),
)
def test_render_many_equals_rendering_each_member(template, members):
    contexts = [
        _member_context(template, lang or "de", name, i, unsub, links)
        for i, (name, lang, unsub, links) in enumerate(members)
    ]
    languages = [lang for _, lang, _, _ in members]
    try:
        each = [
            render(template, c, language=lang, default_language="de")
            for c, lang in zip(contexts, languages, strict=True)
        ]
    except TemplateError:  # a variable the template needs is missing: so it is for all of them
        with pytest.raises(TemplateError):
            render_many(template, contexts, languages, default_language="de")
        return
    assert render_many(template, contexts, languages, default_language="de") == each


@pytest.mark.parametrize("template", ["welcome", "not_enrolled", "fix_signup", "introduction"])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_bulk_templates_stamp_the_member_fields_and_links(template, lang):
    slots = stamp.slots(_environment, template_folder(template), lang)
    assert slots is not None
    assert {("member", "first_name"), ("unsubscribe_url",), ("pause_url",)} <= set(slots)


def test_intake_welcome_mails_with_their_own_links_are_rendered_once_per_language(monkeypatch):
    """The welcome carries signed pause and leave links per member (as intake queues it): 40
    members in two languages and two roles are four renderings, not forty."""
    renders = []
    real = templates._raw_parts
    monkeypatch.setattr(templates, "_raw_parts", lambda *a: renders.append(a) or real(*a))
    contexts, languages = [], []
    for i in range(40):
        lang = ("de", "en")[i % 2]
        context = _member_context("welcome", lang, f"Zoë Nummer {i}", i, True)
        context["role"] = ("mentor", "mentee")[i // 20]
        context.update(member_links("https://m.example.org", f"m_{i:04d}", "2027-1"))
        contexts.append(context)
        languages.append(lang)
    many = render_many("welcome", contexts, languages, default_language="de")
    assert len(renders) == 4
    each = [
        render("welcome", c, language=lang, default_language="de")
        for c, lang in zip(contexts, languages, strict=True)
    ]
    assert many == each
    assert contexts[7]["pause_url"] in many[7].text and contexts[7]["leave_url"] in many[7].html


def test_the_next_batch_reuses_the_renderings_of_the_last(monkeypatch, tmp_path):
    """Intake's batches of welcome mails are the same few groups each: rendered once, for
    every batch; another text (another folder) is rendered anew."""
    renders = []
    real = templates._raw_parts
    monkeypatch.setattr(templates, "_raw_parts", lambda *a: renders.append(a) or real(*a))

    def batch(overrides: dict[str, Path], start: int) -> int:
        """Renders of one batch of five; each mail as `render` gives it."""
        contexts = [
            _member_context("welcome", "de", f"Zoë {i}", i, True) for i in range(start, start + 5)
        ]
        before = len(renders)
        many = render_many(
            "welcome", contexts, ["de"] * 5, default_language="de", overrides=overrides
        )
        used = len(renders) - before
        for context, mail in zip(contexts, many, strict=True):
            assert mail == render(
                "welcome", context, language="de", default_language="de", overrides=overrides
            )
        return used

    first = _override(tmp_path, "Hallo {{ member.name }}, {{ unsubscribe_url }}")
    assert batch(first, 0) == 1
    assert batch(first, 5) == 0
    assert (
        batch(_override(tmp_path / "other", "Hi {{ member.name }}, {{ unsubscribe_url }}"), 0) == 1
    )


def _override(tmp_path: Path, body: str) -> dict[str, Path]:
    folder = tmp_path / "welcome"
    folder.mkdir(parents=True)
    (folder / "de.subject.txt").write_text("Hallo {{ member.first_name }}")
    (folder / "de.txt").write_text(body)
    (folder / "de.html").write_text("<p>" + body + "</p>")
    return {"welcome": folder}


ALONE = [
    "{{ member.first_name|upper }}",
    "{{ member.name|length }} {{ member.name }}",
    "{% set who = member.name %}{{ who }}",
    "{{ member.name ~ '!' }}",
    "{% autoescape false %}{{ member.name }}{% endautoescape %}",
    "{{ member['name'] }}",
    "{% filter upper %}{{ member.name }}{% endfilter %}",
    "{% set who %}{{ member.name }}{% endset %}{{ who|upper }}",
    "{% macro who() %}{{ member.name }}{% endmacro %}{{ who()|upper }}",
    "{% if member.name == 'Ann' %}Ann{% endif %}{{ member.name }}",
]
SHARED = [  # tests of a field in an {% if %}: decided alike within a group
    "{% if not member.first_name %}du{% else %}{{ member.first_name }}{% endif %}",
    "{% if pause_url is defined and pause_url %}{{ pause_url }}{% endif %}{{ member.name }}",
    "{% if member.name is none or not unsubscribe_url %}-{% endif %}{{ unsubscribe_url }}",
]


@pytest.mark.parametrize(
    ("body", "shared"), [(b, False) for b in ALONE] + [(b, True) for b in SHARED]
)
def test_a_member_field_is_shared_only_where_inserted_or_tested_as_it_is(tmp_path, body, shared):
    """Any other use renders each member alone; either way each gets the mail `render` gives."""
    overrides = _override(tmp_path, body)
    folder = template_folder("welcome", overrides)
    assert (("member", "name") in (stamp.slots(_environment, folder, "de") or ())) == shared
    names = ["Ann", "<Bo> {0}", "", "Zoë Weiß-Ünal"]
    contexts = [_member_context("welcome", "de", n, i, i % 2 == 0) for i, n in enumerate(names)]
    contexts[1]["pause_url"] = "https://m.example.org/pause/<&>"
    contexts[2]["pause_url"] = None
    many = render_many("welcome", contexts, ["de"] * 4, default_language="de", overrides=overrides)
    each = [
        render("welcome", c, language="de", default_language="de", overrides=overrides)
        for c in contexts
    ]
    assert many == each
