"""Survey pages: GET and HEAD show the form in the member's language, POST records the answers.

A second POST updates the member's answer for the occurrence. A tampered, expired, unknown or
foreign token gets the plain invalid-link page and changes nothing. The body is read up to
MAX_BODY_BYTES whatever the app's own limit is, so the page is safe with or without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Connection, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from mentorflow.errors import MentorflowError, TokenError
from mentorflow.spec.model import ProgramSpec
from mentorflow.store.tables import members, programs
from mentorflow.surveys import definitions, responses
from mentorflow.surveys.tokens import SurveyClaim, read_survey_token
from mentorflow.web.app import page, state

MAX_BODY_BYTES = 64 * 1024
INVALID = "Dieser Link ist ungültig oder abgelaufen. / This link is not valid or has expired."


def register_spec(app: Starlette, spec: ProgramSpec) -> None:
    """Serve the surveys of `spec` (else the spec file the program was last run with is read)."""
    specs = getattr(app.state, "survey_specs", None) or {}
    specs[spec.program.id] = spec
    app.state.survey_specs = specs


@dataclass(frozen=True)
class Visit:
    spec: ProgramSpec
    claim: SurveyClaim
    cycle_id: int
    language: str


def spec_for(request: Request, conn: Connection, program_id: str) -> ProgramSpec | None:
    specs: dict[str, ProgramSpec] = getattr(request.app.state, "survey_specs", None) or {}
    if program_id in specs:
        return specs[program_id]
    path = conn.execute(select(programs.c.spec_path).where(programs.c.id == program_id)).scalar()
    if not path or not Path(path).is_file():
        return None
    from mentorflow.spec import load_spec

    try:
        spec = load_spec(path)
    except MentorflowError:
        return None
    register_spec(request.app, spec)
    return spec


def _visit(request: Request) -> Visit | None:
    """The checked visit for the token in the path, or None (then the page says: invalid)."""
    engine, _, _ = state(request)
    with engine.connect() as conn:
        found = _checked(request, conn)
    return found[0] if found else None


def _checked(request: Request, conn: Connection) -> tuple[Visit, tuple[Any, int]] | None:
    _, key, clock = state(request)
    try:
        claim = read_survey_token(request.path_params["token"], clock.now(), key)
    except TokenError:
        return None
    program_id = conn.execute(
        select(members.c.program_id).where(members.c.id == claim.member_id)
    ).scalar()
    spec = spec_for(request, conn, program_id) if program_id else None
    checked = responses.check_claim(conn, spec, claim) if spec else None
    if spec is None or checked is None:
        return None
    member, cycle_id = checked
    language = member.language if member.language in definitions.LANGUAGES else "en"
    return Visit(spec, claim, cycle_id, language), checked


def _invalid() -> Response:
    return page("message.html", 400, lang="en", title="mentorflow", message=INVALID)


def _form_page(
    request: Request,
    visit: Visit,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    notice: str = "",
    status_code: int = 200,
) -> Response:
    survey = visit.spec.surveys[visit.claim.survey_id]
    return page(
        "survey.html",
        status_code,
        lang=visit.language,
        t=definitions.texts(visit.language),
        heading=definitions.title(survey, visit.language),
        fields=definitions.fields(survey, visit.language),
        values=values,
        errors=errors,
        notice=notice,
        action=request.url.path,
        max_text=definitions.MAX_TEXT,
    )


async def show(request: Request) -> Response:
    """GET and HEAD: the form, with the member's earlier answers filled in; nothing changes."""
    visit = await run_in_threadpool(_visit, request)
    if visit is None:
        return _invalid()
    stored = await run_in_threadpool(_stored, request, visit)
    survey = visit.spec.surveys[visit.claim.survey_id]
    values = definitions.form_values(survey, stored or {}, visit.spec.program.language)
    return _form_page(request, visit, values, {})


def _stored(request: Request, visit: Visit) -> dict[str, Any] | None:
    engine, _, _ = state(request)
    with engine.connect() as conn:
        return responses.stored_answers(conn, visit.cycle_id, visit.claim)


async def read_form(request: Request) -> dict[str, list[str]] | None:
    """The urlencoded body, or None when it is larger than MAX_BODY_BYTES or cut off."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    try:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_BODY_BYTES:
                return None
    except ClientDisconnect:
        return None
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=False)


def _too_large() -> Response:
    return page("message.html", 413, lang="en", title="mentorflow", message="Too large.")


async def submit(request: Request) -> Response:
    """POST: check the answers; errors show the form again, announced; else record or update."""
    form = await read_form(request)
    if form is None:
        return _too_large()
    found = await run_in_threadpool(_submit, request, form)
    if found is None:
        return _invalid()
    visit, outcome, story, errors = found
    texts = definitions.texts(visit.language)
    if errors:
        values = {k[2:]: set(v) for k, v in form.items() if k.startswith("q_")}
        return _form_page(request, visit, values, errors, status_code=422)
    notice = f"{texts['thanks' if outcome == responses.RECORDED else 'updated']} {texts['again']}"
    if story:
        return page(
            "story.html",
            lang=visit.language,
            t=texts,
            notice=notice,
            action=f"{request.url.path}/story",
            max_text=definitions.MAX_TEXT,
        )
    return page("message.html", lang=visit.language, title=texts["thanks"], message=notice)


def _submit(
    request: Request, form: dict[str, list[str]]
) -> tuple[Visit, str, bool, dict[str, str]] | None:
    """Check the link and the answers and record them, in one transaction (one thread hop)."""
    engine, _, clock = state(request)
    with engine.begin() as conn:
        found = _checked(request, conn)
        if found is None:
            return None
        visit, checked = found
        survey = visit.spec.surveys[visit.claim.survey_id]
        answers, errors = definitions.check_answers(survey, form, visit.spec.program.language)
        if errors:
            return visit, "", False, errors
        outcome, story = responses.record(
            conn, visit.spec, visit.claim, answers, "web", clock.now(), checked
        )
    return visit, outcome, story, {}


async def story(request: Request) -> Response:
    """POST of the story form: only after a top pulse score; the share box is its own consent."""
    form = await read_form(request)
    if form is None:
        return _too_large()
    visit = await run_in_threadpool(_visit, request)
    if visit is None:
        return _invalid()
    text = (form.get("story") or [""])[0].strip()[: definitions.MAX_TEXT]
    share = (form.get("share") or [""])[0] == "yes"
    saved = await run_in_threadpool(_story, request, visit, text, share)
    if not saved:
        return _invalid()
    texts = definitions.texts(visit.language)
    return page(
        "message.html",
        lang=visit.language,
        title=texts["story_title"],
        message=texts["story_thanks"],
    )


def _story(request: Request, visit: Visit, text: str, share: bool) -> bool:
    engine, _, clock = state(request)
    survey = visit.spec.surveys[visit.claim.survey_id]
    with engine.begin() as conn:
        stored = responses.stored_answers(conn, visit.cycle_id, visit.claim)
        if survey.kind != "pulse" or not stored or not responses.asks_story(survey, stored):
            return False
        if not text:
            return True  # nothing to keep: a story is never required
        version = f"story-share:{visit.claim.survey_id}:1"
        responses.save_story(conn, visit.cycle_id, visit.claim, text, share, version, clock.now())
    return True


def routes() -> list[Route]:
    """GET routes answer HEAD too (Starlette adds it)."""
    return [
        Route("/survey/{token}", show, methods=["GET"]),
        Route("/survey/{token}", submit, methods=["POST"]),
        Route("/survey/{token}/story", story, methods=["POST"]),
    ]
