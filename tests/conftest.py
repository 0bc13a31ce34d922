"""Test-wide settings: an isolated Prefect home and mentorflow home per session, offline Prefect."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="mentorflow-tests-"))
os.environ.setdefault("PREFECT_HOME", str(_SESSION_DIR / "prefect"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("MENTORFLOW_HOME", str(_SESSION_DIR / "home"))
os.environ.setdefault("MENTORFLOW_SECRET_KEY", "test-secret-key-not-for-production")

REPO_ROOT = Path(__file__).resolve().parent.parent


import pytest  # noqa: E402


def _reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from mentorflow.store.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path) -> str:
    """A fresh, empty database URL: a SQLite file, and a PostgreSQL database when one runs.

    scripts/test.sh starts PostgreSQL and sets MENTORFLOW_TEST_PG_URL; without it the PostgreSQL
    leg is skipped with the reason the script recorded.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = os.environ.get("MENTORFLOW_TEST_PG_URL")
    if not url:
        reason = os.environ.get(
            "MENTORFLOW_TEST_PG_SKIP", "MENTORFLOW_TEST_PG_URL is not set (run scripts/test.sh)"
        )
        pytest.skip(f"PostgreSQL leg skipped: {reason}")
    _reset_postgres(url)
    return url
