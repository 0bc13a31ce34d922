"""The Starlette app factory: routes, page rendering and the headers every page carries."""

from __future__ import annotations

from pathlib import Path

import jinja2
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mentorflow.clock import Clock, SystemClock
from mentorflow.mail.tokens import secret_key as default_secret_key

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
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


_pages = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def page(name: str, status_code: int = 200, **context: object) -> Response:
    """An HTML page from mentorflow/web/templates/ (autoescaped)."""
    return HTMLResponse(_pages.get_template(name).render(**context), status_code=status_code)


def create_app(
    engine: Engine, *, secret_key: str | None = None, clock: Clock | None = None
) -> Starlette:
    """The web app over the store `engine`; `secret_key` verifies link tokens."""
    from mentorflow.web.engagement_routes import routes as engagement_routes
    from mentorflow.web.routes import routes
    from mentorflow.web.survey_routes import routes as survey_routes

    app = Starlette(routes=[*routes(), *engagement_routes(), *survey_routes()])
    app.state.engine = engine
    app.state.secret_key = secret_key or default_secret_key()
    app.state.clock = clock or SystemClock()
    app.add_middleware(SecurityHeaders)
    return app


def state(request: Request) -> tuple[Engine, str, Clock]:
    s = request.app.state
    return s.engine, s.secret_key, s.clock
