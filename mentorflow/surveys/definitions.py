"""Survey definitions as a page and a form see them: fields, choices, checking submitted answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mentorflow.spec.model import Question, Survey, in_language

MAX_TEXT = 2000  # characters of one free-text answer
SCALES = {"rating": range(1, 6), "scale": range(0, 11)}
LANGUAGES = ("de", "en")

TEXTS: Mapping[str, Mapping[str, str]] = {
    "de": {
        "required": "Bitte beantworte diese Frage.",
        "invalid": "Diese Antwort ist nicht gültig.",
        "too_long": f"Bitte höchstens {MAX_TEXT} Zeichen.",
        "errors": "Bitte prüfe die markierten Fragen.",
        "optional": "(freiwillig)",
        "submit": "Antworten senden",
        "thanks": "Danke! Deine Antworten sind gespeichert.",
        "updated": "Danke! Deine Antworten sind aktualisiert.",
        "again": "Du kannst Deine Antworten bis zum Ende der Umfrage über denselben Link ändern.",
        "rating_low": "1 = gar nicht",
        "rating_high": "5 = sehr",
        "scale_low": "0 = gar nicht wahrscheinlich",
        "scale_high": "10 = äußerst wahrscheinlich",
        "story_title": "Magst Du Deine Geschichte erzählen?",
        "story_prompt": "Das klingt richtig gut. Was hat Dir Dein Mentoring gebracht? "
        "Ein paar Sätze reichen.",
        "story_label": "Deine Geschichte",
        "story_share": "Ihr dürft meine Geschichte im Programmbericht teilen (ohne meinen Namen).",
        "story_submit": "Geschichte senden",
        "story_thanks": "Danke für Deine Geschichte!",
    },
    "en": {
        "required": "Please answer this question.",
        "invalid": "This answer is not valid.",
        "too_long": f"Please use at most {MAX_TEXT} characters.",
        "errors": "Please check the marked questions.",
        "optional": "(optional)",
        "submit": "Send answers",
        "thanks": "Thank you! Your answers are saved.",
        "updated": "Thank you! Your answers are updated.",
        "again": "You can change your answers through the same link until the survey closes.",
        "rating_low": "1 = not at all",
        "rating_high": "5 = very much",
        "scale_low": "0 = not at all likely",
        "scale_high": "10 = extremely likely",
        "story_title": "Would you tell us your story?",
        "story_prompt": "That sounds great. What has your mentoring given you? A few sentences "
        "are enough.",
        "story_label": "Your story",
        "story_share": "You may share my story in the program report (without my name).",
        "story_submit": "Send story",
        "story_thanks": "Thank you for your story!",
    },
}


def texts(language: str) -> Mapping[str, str]:
    return TEXTS.get(language, TEXTS["en"])


@dataclass(frozen=True)
class Field:
    """One question ready for the page: its input name, label and choices in one language."""

    question: Question
    name: str  # the form field: q_<question id>
    label: str
    choices: tuple[tuple[str, str], ...]  # (value, label)
    hint: str  # what the ends of a scale mean

    @property
    def id(self) -> str:
        return self.question.id


def fields(survey: Survey, language: str) -> tuple[Field, ...]:
    page = texts(language)
    return tuple(_field(q, language, page) for q in survey.questions)


def _field(question: Question, language: str, page: Mapping[str, str]) -> Field:
    hint = ""
    if question.type in SCALES:
        choices = tuple((str(v), str(v)) for v in SCALES[question.type])
        hint = f"{page[question.type + '_low']}, {page[question.type + '_high']}"
    else:
        choices = tuple((str(i), in_language(o, language)) for i, o in enumerate(question.options))
    return Field(question, f"q_{question.id}", in_language(question.text, language), choices, hint)


def title(survey: Survey, language: str) -> str:
    return in_language(survey.title, language) if survey.title else survey.id


def check_answers(
    survey: Survey, form: Mapping[str, Sequence[str]], program_language: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """(answers by question id, error keys by question id) from a submitted form.

    Scales are stored as numbers, choices as the option's text in the program language (so a
    German and an English answer count together), free text trimmed.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in survey.questions:
        values = [v for v in form.get(f"q_{question.id}", ()) if v.strip()]
        value, error = _value(question, values, program_language)
        if error is None and value is None and question.required:
            error = "required"
        if error:
            errors[question.id] = error
        elif value is not None:
            answers[question.id] = value
    return answers, errors


def _value(question: Question, values: list[str], language: str) -> tuple[Any, str | None]:
    if not values:
        return None, None
    if question.type == "text":
        text = values[0].strip()
        return (None, "too_long") if len(text) > MAX_TEXT else (text, None)
    if question.type in SCALES:
        number = int(values[0]) if values[0].isdigit() else -1
        ok = len(values) == 1 and number in SCALES[question.type]
        return (number, None) if ok else (None, "invalid")
    picked = [int(v) for v in values if v.isdigit() and int(v) < len(question.options)]
    if len(picked) != len(values) or (question.type == "single_choice" and len(picked) != 1):
        return None, "invalid"
    labels = [in_language(question.options[i], language) for i in sorted(set(picked))]
    return (labels[0] if question.type == "single_choice" else labels), None


def form_values(survey: Survey, answers: Mapping[str, Any], language: str) -> dict[str, set[str]]:
    """Stored answers back as form values, to show a second visit what was answered."""
    found: dict[str, set[str]] = {}
    for question in survey.questions:
        value = answers.get(question.id)
        if value is None:
            continue
        if question.type in ("text", *SCALES):
            found[question.id] = {str(value)}
            continue
        wanted = set(value if isinstance(value, list) else [value])
        found[question.id] = {
            str(i) for i, o in enumerate(question.options) if in_language(o, language) in wanted
        }
    return found


def score_question(survey: Survey) -> Question | None:
    """The rating or scale question carrying the fit or pulse score."""
    scored = [q for q in survey.questions if q.type in SCALES]
    if survey.score_question:
        scored = [q for q in scored if q.id == survey.score_question]
    return scored[0] if scored else None
