"""The Starlette app factory: routes, page rendering and the headers every page carries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mentorflow.clock import Clock, SystemClock
from mentorflow.mail.tokens import secret_key as default_secret_key

if TYPE_CHECKING:
    from mentorflow.web.organizer_routes import Decisions

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# The pages take a one-line form at most; anything larger is refused before it is buffered.
MAX_BODY_BYTES = 64 * 1024
# Answer pages hold tokens: never cache them, never leak them in a Referer header.
SECURITY_HEADERS = {
    b"cache-control": b"no-store",
    b"referrer-policy": b"no-referrer",
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"content-security-policy": (
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
}


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS.items() if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """ASGI middleware: bodies over MAX_BODY_BYTES get 413, whether declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared(scope) > self.limit:
            await _too_large(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:  # chunked, or more than Content-Length said
                raise HTTPException(413, "request body too large")
            return message

        await self.app(scope, counted, send)

    @staticmethod
    def _declared(scope: Scope) -> int:
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-length":
                return int(value) if value.isdigit() else 1 << 62
        return 0


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("request body too large", status_code=413)(scope, receive, send)


class _App(Starlette):
    """Starlette with SECURITY_HEADERS outside its error middleware, so a 500 carries them too."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


_pages = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def page(name: str, status_code: int = 200, **context: object) -> Response:
    """An HTML page from mentorflow/web/templates/ (autoescaped)."""
    return HTMLResponse(_pages.get_template(name).render(**context), status_code=status_code)


def create_app(
    engine: Engine,
    *,
    secret_key: str | None = None,
    clock: Clock | None = None,
    decisions: Decisions | None = None,
) -> Starlette:
    """The web app over the store `engine`; `secret_key` verifies link tokens.

    `decisions` answers paused flow runs from the organizer pages (`mentorflow serve` passes
    one backed by Prefect); without it those pages only show.
    """
    from mentorflow.web.engagement_routes import routes as engagement_routes
    from mentorflow.web.organizer_routes import routes as organizer_routes
    from mentorflow.web.routes import routes
    from mentorflow.web.survey_routes import routes as survey_routes

    app = _App(routes=[*routes(), *engagement_routes(), *survey_routes(), *organizer_routes()])
    app.state.engine = engine
    app.state.decisions = decisions
    app.state.secret_key = secret_key or default_secret_key()
    app.state.clock = clock or SystemClock()
    app.add_middleware(BodyLimit)
    return app


def state(request: Request) -> tuple[Engine, str, Clock]:
    s = request.app.state
    return s.engine, s.secret_key, s.clock
