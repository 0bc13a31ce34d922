"""Running the web app under uvicorn, with an access log that never records a link's token."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from starlette.types import ASGIApp

# uvicorn's access record: (client, method, path with query, HTTP version, status).
_PATH_ARG = 2
# Every path but the bare ones (`/healthz`) carries a token after its first part.
_TOKEN_PART = re.compile(r"^(/[^/?]*)(?:/[^?]*)?")


def redact_path(path: str) -> str:
    """`/unsubscribe/abc?x=1` -> `/unsubscribe/<token>?<query>`: the route stays, the rest goes."""
    head = _TOKEN_PART.match(path)
    route = head.group(1) if head else "/"
    tail = path[len(head.group(0)) :] if head else path
    redacted = route + ("/<token>" if head and head.group(0) != route else "")
    return redacted + ("?<query>" if tail.startswith("?") else "")


class RedactTokens(logging.Filter):
    """Rewrites uvicorn's access records so paths keep their route but lose tokens and queries."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        path = args[_PATH_ARG] if isinstance(args, tuple) and len(args) > _PATH_ARG else None
        if isinstance(args, tuple) and isinstance(path, str):
            record.args = (*args[:_PATH_ARG], redact_path(path), *args[_PATH_ARG + 1 :])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with RedactTokens on the access handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": f"{__name__}.RedactTokens"}
    config["handlers"]["access"]["filters"] = ["redact_tokens"]
    return config


def serve(app: ASGIApp, host: str, port: int) -> None:
    """Serve `app` until interrupted (proxy headers trusted, as behind a reverse proxy)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_config=log_config())
