"""Issue 12: the README's walkthrough, as written, with the Prefect server and the store on
PostgreSQL: server, `PREFECT_API_URL`, work pool, `mentorflow deploy`, worker, intake and matching
run by the worker, `mentorflow serve`, `mentorflow organizer-link`, then the organizer's review in
headless Chromium (drop a pair, solve again, approve). The deployed matching run completes and the
store holds the approved pairs and their introductions.

The fenced block after the walkthrough marker in README.md runs line by line
(tests/walkthrough_support.py). Swapped, each literally and each required to stand in the block:
the ports 4200 (Prefect) and 8000 (`mentorflow serve`) for free loopback ports; /srv/mentorflow for
a temporary folder; the two PostgreSQL URLs and PGPASSWORD for two databases this test creates and
drops (role and password of MENTORFLOW_TEST_PG_URL). The environment the block starts from adds
only its own PREFECT_HOME, offline Prefect settings and PREFECT_WORKER_QUERY_SECONDS=1 (the
worker's poll, 10 s by default). Without PostgreSQL the test skips with the reason
scripts/postgres.sh recorded.
"""

from __future__ import annotations

import os
import secrets
import time

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.engine import URL, make_url

from mentorflow.store.db import make_engine
from mentorflow.store.tables import outbox
from tests.e2e.test_unsubscribe_page import browser  # noqa: F401  (the Chromium fixture)
from tests.flows.test_matching_flow import _stored
from tests.smtp_support import free_port
from tests.walkthrough_support import (
    PROGRAM,
    SHOT_SIZE,
    Shell,
    approve_as_shown,
    base_env,
    completed,
    drop_and_solve_again,
    flow_runs,
    is_png,
    loopback_values,
    proposal_waiting,
    readme_lines,
    screenshot,
    sign_in,
    substituted,
)

pytestmark = [pytest.mark.browser, pytest.mark.flow, pytest.mark.postgres]


@pytest.fixture
def pg_databases():
    """Two new databases, (Prefect's, the store's), on the PostgreSQL of scripts/postgres.sh."""
    url = os.environ.get("MENTORFLOW_TEST_PG_URL")
    if not url:
        reason = os.environ.get(
            "MENTORFLOW_TEST_PG_SKIP", "MENTORFLOW_TEST_PG_URL is not set (run scripts/test.sh)"
        )
        pytest.skip(f"PostgreSQL walkthrough skipped: {reason}")
    import psycopg

    names = [f"walk_{kind}_{secrets.token_hex(4)}" for kind in ("prefect", "store")]
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = make_url(url)
    try:
        yield base.set(database=names[0]), base.set(database=names[1])
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _plain(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def test_the_readme_walkthrough_on_postgresql(pg_databases, browser, tmp_path):  # noqa: F811
    prefect_db, store_db = pg_databases
    values = loopback_values(
        prefect_port=free_port(),
        serve_port=free_port(),
        home=tmp_path / "home",
        prefect_db=_plain(prefect_db.set(drivername="postgresql+asyncpg")),
        store_db=_plain(store_db._replace(password=None)),  # as the README: password apart
        pg_password=str(store_db.password),
    )
    shell = Shell(base_env(tmp_path / "prefect"), tmp_path / "logs")
    try:
        shell.run_all(substituted(readme_lines(), values))
        print(*shell.seconds, sep="\n")
        assert "Completed" in shell.output_of("prefect deployment run intake/")
        api, base = shell.env["PREFECT_API_URL"], shell.env["MENTORFLOW_BASE_URL"]
        link = shell.output_of("mentorflow organizer-link").strip().splitlines()[-1]
        assert link.startswith(f"{base}/organizer/sign-in/")

        reviewed = time.monotonic()
        sign_in(browser, link)
        review = f"{base}/organizer/{PROGRAM}/proposal"
        first = proposal_waiting(browser, review)
        assert "Malte" in browser.page_source  # names here, behind the sign-in ...
        shot = screenshot(browser, tmp_path / "review.png")  # scripts/screenshots.py's step
        assert is_png(shot) == SHOT_SIZE
        (paused,) = [r for r in flow_runs(api, "matching") if r["state_type"] == "PAUSED"]
        assert paused["id"] in drop_and_solve_again(browser, first[0])
        second = proposal_waiting(browser, review, without=first[0])
        assert paused["id"] in approve_as_shown(browser)
        assert completed(api, "matching")["id"] == paused["id"]
        print(f"{time.monotonic() - reviewed:.1f} s from sign-in to the completed run")
        artifacts = requests.post(f"{api}/artifacts/filter", json={}, timeout=10).json()
        shown = "\n".join(f"{a['description']}\n{a['data']}" for a in artifacts)
        assert review in shown and "Malte" not in shown  # ... ids only in Prefect
    finally:
        shell.close()

    engine = make_engine(_plain(store_db))
    approved = _stored(engine, "approved")
    assert set(approved) == set(second) and first[0] not in approved
    assert set(_stored(engine, "dropped")) == {first[0]}
    with engine.connect() as conn:
        introduced = set(
            conn.execute(
                select(outbox.c.member_id).where(outbox.c.purpose == "introduction")
            ).scalars()
        )
    assert introduced == set().union(*approved.values())
    mails = list((tmp_path / "home" / "outbox").rglob("*_introduction_*.eml"))
    assert len(mails) == len(introduced)
    engine.dispose()
