"""The link an invitation carries: our own page with the token, or a prefilled Google Form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from urllib.parse import urlencode

from mentorflow.spec.model import ProgramSpec, Survey, in_language
from mentorflow.surveys.schedule import enrolment_occurrences
from mentorflow.surveys.tokens import SurveyClaim, make_survey_token


def closes_at(spec: ProgramSpec, survey: Survey, due_on: date) -> datetime:
    """Midnight (program time) `closes_after` after the occurrence fell due, in UTC."""
    local = datetime.combine(due_on + survey.closes_after, time(0), tzinfo=spec.program.zone)
    return local.astimezone(UTC)


def claim_for(
    spec: ProgramSpec,
    member_id: str,
    survey_id: str,
    occurrence: str,
    due_on: date,
    match_id: str = "",
) -> SurveyClaim:
    survey = spec.surveys[survey_id]
    return SurveyClaim(
        member_id,
        survey_id,
        occurrence,
        spec.cycle.label,
        closes_at(spec, survey, due_on),
        match_id,
    )


def survey_url(base_url: str, spec: ProgramSpec, claim: SurveyClaim, key: str | None = None) -> str:
    """Where the member answers: /survey/<token>, or the Google Form with the token prefilled."""
    token = make_survey_token(claim, key)
    form = spec.surveys[claim.survey_id].google_form
    if spec.surveys[claim.survey_id].answer_mode == "google_form" and form is not None:
        return f"{form.url}?{urlencode({'usp': 'pp_url', form.token_entry: token})}"
    return f"{base_url.rstrip('/')}/survey/{token}"


def baseline_links(
    spec: ProgramSpec, base_url: str, member_id: str, enrolled_on: date
) -> dict[str, object]:
    """`baseline_url` and `baseline_title` (by language) for the welcome mail, when the spec has
    a baseline survey: the "before" of before/after is asked on enrolment."""
    for occurrence in enrolment_occurrences(spec, enrolled_on):
        survey = spec.surveys[occurrence.survey_id]
        claim = claim_for(spec, member_id, survey.id, occurrence.occurrence, occurrence.due_on)
        titles = {
            lang: in_language(survey.title, lang) if survey.title else survey.id
            for lang in ("de", "en")
        }
        return {"baseline_url": survey_url(base_url, spec, claim), "baseline_title": titles}
    return {}
