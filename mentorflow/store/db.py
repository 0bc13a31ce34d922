"""Engine creation and schema migrations: SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

import json
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import OperationalError

from mentorflow.errors import StoreUnavailableError
from mentorflow.paths import home

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# JSON columns stored without the blanks after `,` and `:` (an enrolment's answers are ~8% smaller,
# and this encoder is faster than `json.dumps` with its defaults); readers parse the text, so
# they see the same values, whichever way a row was written. Still ASCII-only, as before.
_JSON_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def default_url() -> str:
    """MENTORFLOW_DB_URL, else a SQLite file in the working folder."""
    return os.environ.get("MENTORFLOW_DB_URL") or f"sqlite:///{home() / 'mentorflow.db'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default: `default_url()`), without touching the schema."""
    url = url or default_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # hide_parameters: a failed statement must not put addresses into logs or Prefect.
    engine = create_engine(url, future=True, hide_parameters=True, json_serializer=_JSON_ENCODE)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "handle_error", _unavailable)
    return engine


def _unavailable(context: ExceptionContext) -> None:
    """A store locked past the busy timeout or a server that does not answer becomes one clear
    StoreUnavailableError (no traceback for the organizer; the URL's password never shows)."""
    error = context.original_exception
    if not isinstance(context.sqlalchemy_exception, OperationalError):
        return
    url = context.engine.url if context.engine is not None else None
    where = f"{url.host}:{url.port}/{url.database}" if url is not None and url.host else "file"
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "locked" in text or "busy" in text:
        raise StoreUnavailableError(
            f"the store ({where}) is locked by another writer: {text}; try again later"
        ) from context.sqlalchemy_exception
    if context.is_disconnect or "connect" in text or "Connection refused" in text:
        raise StoreUnavailableError(
            f"the store ({where}) cannot be reached: {text}; try again later"
        ) from context.sqlalchemy_exception


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def open_store(url: str | None = None) -> Engine:
    """An engine whose schema is at the newest migration."""
    engine = make_engine(url)
    migrate(engine)
    return engine
