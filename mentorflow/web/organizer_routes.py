"""The organizer's review pages: sign-in, applicants, the matching proposal, quarantine, mail.

Names show here and nowhere else. Every page but the sign-in needs the session cookie of an
organizer of that program; every POST needs the session's CSRF token and a same-site request.
Answers to a paused flow run go through `Decisions`, which the CLI provides (the web core
never imports Prefect): the same code path as `mentorflow approve` and `mentorflow screen`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mentorflow.errors import MentorflowError, TokenError
from mentorflow.mail.settings import configured_base_url
from mentorflow.spec.model import ProgramSpec
from mentorflow.web import organizer_auth as auth
from mentorflow.web import organizer_views as views
from mentorflow.web.app import page, state
from mentorflow.web.survey_routes import spec_for

SIGN_IN_HINT = "Sign in with a link from `mentorflow organizer-link SPEC` (valid 15 minutes, once)."
NAV = (
    ("", "Overview"),
    ("applicants", "Applicants"),
    ("proposal", "Matching proposal"),
    ("quarantine", "Quarantined rows"),
    ("mail", "Unconfirmed mail"),
)


@dataclass(frozen=True)
class WaitingRun:
    """A paused flow run as the pages need it: its id and the matching round it solves."""

    id: str
    round_no: int = 1


class Decisions(Protocol):
    """Answers a paused flow run of the spec's program and cycle (provided by the CLI)."""

    def waiting(self, flow_name: str, spec: ProgramSpec) -> WaitingRun | None: ...

    def approve_matches(
        self, spec: ProgramSpec, *, approve_all: bool, drop: list[str], hold_back: list[str]
    ) -> str: ...

    def screen(self, spec: ProgramSpec, *, approve: list[str], decline: list[str]) -> str: ...


def _message(title: str, message: str, status: int = 200, **extra: Any) -> Response:
    return page("organizer/message.html", status, lang="en", title=title, message=message, **extra)


def _spec(request: Request, program_id: str) -> ProgramSpec | None:
    engine, _, _ = state(request)
    with engine.connect() as conn:
        return spec_for(request, conn, program_id)


def _session(request: Request) -> auth.Organizer | None:
    _, key, clock = state(request)
    return auth.read_session(request.cookies.get(auth.SESSION_COOKIE), key, clock.now())


def _signed_in(request: Request) -> tuple[auth.Organizer, ProgramSpec] | Response:
    """The organizer and spec of this page's program, or the page that refuses."""
    program_id = request.path_params["program"]
    who = _session(request)
    spec = _spec(request, program_id) if who else None
    if who is None or spec is None or who.program_id != program_id:
        return _message("Sign in", SIGN_IN_HINT, 401)
    if not auth.organizer_listed(spec, who.email):  # removed from the spec since: out
        return _message("Sign in", SIGN_IN_HINT, 401)
    return who, spec


View = Callable[[Request, auth.Organizer, ProgramSpec], Awaitable[Response]]


def signed_in(view: View) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint that shows `view` to an organizer of the page's program, and no one else."""

    async def endpoint(request: Request) -> Response:
        found = await run_in_threadpool(_signed_in, request)
        if isinstance(found, Response):
            return found
        return await view(request, *found)

    return endpoint


Answer = Callable[[Request, ProgramSpec, FormData], Awaitable[Response]]
REFUSED = "This form was not sent from this page: nothing changed."


def checked_post(answer: Answer) -> Callable[[Request], Awaitable[Response]]:
    """The POST endpoint: `answer` runs for a same-site form of the session (CSRF token)."""

    @signed_in
    async def endpoint(request: Request, who: auth.Organizer, spec: ProgramSpec) -> Response:
        form = await request.form()
        if not _same_site(request) or not auth.csrf_ok(who, form.get("csrf")):
            return _message("Refused", REFUSED, 403)
        return await answer(request, spec, form)

    return endpoint


def _same_site(request: Request) -> bool:
    host = f"{request.url.scheme}://{request.url.netloc}"
    return auth.same_site(dict(request.headers), host)


def _render(name: str, who: auth.Organizer, spec: ProgramSpec, here: str, **context: Any):
    return page(
        f"organizer/{name}",
        lang="en",
        program=spec.program,
        cycle_label=spec.cycle.label,
        csrf=who.csrf,
        action=auth.review_path(spec.program.id, here),
        nav=[(auth.review_path(spec.program.id, p), label, p == here) for p, label in NAV],
        **context,
    )


def _decisions(request: Request) -> Decisions | None:
    return getattr(request.app.state, "decisions", None)


# --- sign-in -------------------------------------------------------------------------------


async def signin_form(request: Request) -> Response:
    """GET: a button only (mail scanners open links; the link is spent by the POST)."""
    _, key, clock = state(request)
    try:
        auth.read_signin_token(request.path_params["token"], key, clock.now())
    except TokenError as error:
        return _message("Sign in", f"{error}. {SIGN_IN_HINT}", 400)
    return page("organizer/signin.html", lang="en", action=request.url.path)


async def signin(request: Request) -> Response:
    """POST: spend the link, set the session cookie, go to the program's overview."""
    engine, key, clock = state(request)
    if not _same_site(request):
        return _message("Refused", "Cross-site sign-in refused.", 403)
    token = request.path_params["token"]
    try:
        _, program_id, _ = auth.read_signin_token(token, key, clock.now())
        spec = await run_in_threadpool(_spec, request, program_id)
        if spec is None:
            raise TokenError("the link is not valid")
        cookie = await run_in_threadpool(
            auth.use_signin_token, engine, spec, token, key, clock.now()
        )
    except TokenError as error:
        return _message("Sign in", f"{error}. {SIGN_IN_HINT}", 400)
    response = RedirectResponse(auth.review_path(program_id), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        cookie,
        max_age=auth.SESSION_MAX_AGE,
        path="/organizer/",
        httponly=True,
        samesite="strict",
        secure=auth.cookie_secure(request.url.scheme, configured_base_url(spec.sender.base_url)),
    )
    return response


async def home(request: Request) -> Response:
    who = _session(request)
    if who is None:
        return _message("Sign in", SIGN_IN_HINT, 401)
    return RedirectResponse(auth.review_path(who.program_id), status_code=303)


async def sign_out(request: Request) -> Response:
    who = _session(request)
    form = await request.form()
    if who is None or not _same_site(request) or not auth.csrf_ok(who, form.get("csrf")):
        return _message("Refused", REFUSED, 403)
    response = _message("Signed out", "You are signed out.")
    response.delete_cookie(auth.SESSION_COOKIE, path="/organizer/")
    return response


# --- pages ---------------------------------------------------------------------------------


@signed_in
async def overview(request: Request, who: auth.Organizer, spec: ProgramSpec) -> Response:
    engine, _, clock = state(request)
    shown = await run_in_threadpool(views.overview, engine, spec, clock.now())
    return _render("overview.html", who, spec, "", overview=shown)


@signed_in
async def applicants_page(request: Request, who: auth.Organizer, spec: ProgramSpec) -> Response:
    engine, _, _ = state(request)
    decisions = _decisions(request)
    run = await run_in_threadpool(decisions.waiting, "intake", spec) if decisions else None
    people = await run_in_threadpool(views.applicants, engine, spec)
    return _render("applicants.html", who, spec, "applicants", applicants=people, run=run)


@checked_post
async def answer_applicants(request: Request, spec: ProgramSpec, form: FormData) -> Response:
    decisions = _decisions(request)
    approve: list[str] = []
    decline: list[str] = []
    for key, value in form.multi_items():
        if key.startswith("decide:") and value in ("approve", "decline"):
            (approve if value == "approve" else decline).append(key.removeprefix("decide:"))
    if decisions is None or not (approve or decline):
        return _message("Applicants", "Nothing chosen: nothing was answered.", 400)
    return await _answered(
        spec, "applicants", lambda: decisions.screen(spec, approve=approve, decline=decline)
    )


@signed_in
async def proposal_page(request: Request, who: auth.Organizer, spec: ProgramSpec) -> Response:
    engine, _, _ = state(request)
    decisions = _decisions(request)
    run = await run_in_threadpool(decisions.waiting, "matching", spec) if decisions else None
    pairs = await run_in_threadpool(views.proposal, engine, spec, run.round_no if run else 1)
    return _render("proposal.html", who, spec, "proposal", pairs=pairs, run=run)


@checked_post
async def answer_proposal(request: Request, spec: ProgramSpec, form: FormData) -> Response:
    decisions = _decisions(request)
    drop = [str(v) for v in form.getlist("drop")]
    hold_back = [str(v) for v in form.getlist("hold_back")]
    approve_all = form.get("action") == "approve"
    if approve_all and (drop or hold_back):
        approve_all = False  # the chosen changes first; the new proposal is approved after
    if decisions is None or not (approve_all or drop or hold_back):
        return _message("Matching proposal", "Nothing chosen: nothing was answered.", 400)
    return await _answered(
        spec,
        "proposal",
        lambda: decisions.approve_matches(
            spec, approve_all=approve_all, drop=drop, hold_back=hold_back
        ),
    )


async def _answered(spec: ProgramSpec, here: str, answer: Any) -> Response:
    back = auth.review_path(spec.program.id, here)
    try:
        said = await run_in_threadpool(answer)
    except MentorflowError as error:
        return _message("Not answered", str(error), 409, back=back)
    return _message("Answered", said, back=back)


@signed_in
async def quarantine_page(request: Request, who: auth.Organizer, spec: ProgramSpec) -> Response:
    rows = await run_in_threadpool(views.quarantined, state(request)[0], spec)
    return _render("quarantine.html", who, spec, "quarantine", rows=rows)


@signed_in
async def mail_page(request: Request, who: auth.Organizer, spec: ProgramSpec) -> Response:
    mails = await run_in_threadpool(views.unconfirmed_mail, state(request)[0], spec)
    return _render("mail.html", who, spec, "mail", mails=mails)


def routes() -> list[Route]:
    return [
        Route("/organizer/sign-in/{token}", signin_form, methods=["GET"]),
        Route("/organizer/sign-in/{token}", signin, methods=["POST"]),
        Route("/organizer/sign-out", sign_out, methods=["POST"]),
        Route("/organizer/", home, methods=["GET"]),
        Route("/organizer/{program}/", overview, methods=["GET"]),
        Route("/organizer/{program}/applicants", applicants_page, methods=["GET"]),
        Route("/organizer/{program}/applicants", answer_applicants, methods=["POST"]),
        Route("/organizer/{program}/proposal", proposal_page, methods=["GET"]),
        Route("/organizer/{program}/proposal", answer_proposal, methods=["POST"]),
        Route("/organizer/{program}/quarantine", quarantine_page, methods=["GET"]),
        Route("/organizer/{program}/mail", mail_page, methods=["GET"]),
    ]
