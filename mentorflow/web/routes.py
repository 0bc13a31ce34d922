"""Routes of the web app. A GET never changes state (mail scanners follow every link)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from mentorflow.errors import TokenError
from mentorflow.mail.tokens import UNSUBSCRIBE, read_token
from mentorflow.store.repo import log_event
from mentorflow.store.tables import members
from mentorflow.web.app import page, state

TEXTS = {
    "de": {
        "title": "Abmelden",
        "confirm": "Möchtest Du keine optionalen Mails mehr von uns bekommen?",
        "explain": "Erinnerungen, Umfragen und Einladungen bleiben dann aus. Mails, die Dein "
        "laufendes Mentoring direkt betreffen (Vorstellung und Abschluss), bekommst Du weiterhin.",
        "button": "Ja, abmelden",
        "done": "Du bist abgemeldet. Du bekommst keine optionalen Mails mehr von uns.",
        "already": "Du bist bereits abgemeldet.",
    },
    "en": {
        "title": "Unsubscribe",
        "confirm": "Do you want to stop receiving optional mail from us?",
        "explain": "Reminders, surveys and invitations will stop. Mail that directly concerns "
        "your current mentoring (introduction and closure) still reaches you.",
        "button": "Yes, unsubscribe",
        "done": "You are unsubscribed. You will not get optional mail from us any more.",
        "already": "You are already unsubscribed.",
    },
}
INVALID = "Dieser Link ist ungültig oder abgelaufen. / This link is not valid or has expired."


def _member(request: Request) -> tuple[Any, str]:
    """(member row or None, language) for the token in the path."""
    engine, key, _ = state(request)
    try:
        member_id = read_token(UNSUBSCRIBE, request.path_params["token"], key)
    except TokenError:
        return None, "en"
    with engine.connect() as conn:
        row = conn.execute(select(members).where(members.c.id == member_id)).first()
    if row is None or row.erased_at is not None:
        return None, "en"
    return row, row.language if row.language in TEXTS else "en"


def _invalid() -> Response:
    return page("message.html", 400, lang="en", title="mentorflow", message=INVALID)


async def unsubscribe_form(request: Request) -> Response:
    """GET: show what unsubscribing means and a button; change nothing."""
    row, lang = await run_in_threadpool(_member, request)
    if row is None:
        return _invalid()
    texts = TEXTS[lang]
    if row.unsubscribed_at is not None:
        return page("message.html", lang=lang, title=texts["title"], message=texts["already"])
    return page("unsubscribe.html", lang=lang, t=texts, action=request.url.path)


async def unsubscribe(request: Request) -> Response:
    """POST from the page or the RFC 8058 one-click POST: unsubscribe from optional mail."""
    row, lang = await run_in_threadpool(_member, request)
    if row is None:  # checked before any of the body is read: a bogus token costs nothing
        return _invalid()
    await request.body()  # either `confirm=yes` or `List-Unsubscribe=One-Click`: both act
    await run_in_threadpool(_unsubscribe, request, row)
    texts = TEXTS[lang]
    return page("message.html", lang=lang, title=texts["title"], message=texts["done"])


def _unsubscribe(request: Request, row: Any) -> None:
    """Set unsubscribed_at once (a second POST changes nothing) and log it."""
    engine, _, clock = state(request)
    now = clock.now()
    with engine.begin() as conn:
        changed = conn.execute(
            update(members)
            .where(members.c.id == row.id, members.c.unsubscribed_at.is_(None))
            .values(unsubscribed_at=now, updated_at=now)
        ).rowcount
        if changed:
            log_event(
                conn,
                program_id=row.program_id,
                kind="unsubscribed",
                at=now,
                member_id=row.id,
                data={"channel": "web"},
            )


async def health(_: Request) -> Response:
    return PlainTextResponse("ok")


def routes() -> list[Route]:
    return [
        Route("/unsubscribe/{token}", unsubscribe_form, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
        Route("/healthz", health, methods=["GET"]),
    ]
