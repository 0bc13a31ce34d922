"""Issue 12: an organizer reviews a paused matching run in headless Chromium and answers it.

A real matching flow run pauses for approval under the Prefect test harness; `mentorflow
organizer-link` prints a sign-in link; the browser signs in, reads the proposal with names,
drops one pair, then approves the new proposal, and the flow run completes. Every organizer
page (and the answer pages) passes axe-core with no serious or critical violation; Prefect's
artifacts link to the review page and hold no name.
"""

from __future__ import annotations

import threading
import time

import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import serving
from tests.e2e.test_survey_page import _axe, _message
from tests.e2e.test_unsubscribe_page import browser  # noqa: F401  (the Chromium fixture)
from tests.flows.test_matching_flow import _stored
from tests.organizer_support import PROGRAM, load, organizer_spec, seed_pool, seed_problems

pytestmark = [pytest.mark.browser, pytest.mark.flow]
PAGES = ("", "applicants", "quarantine", "mail", "proposal")


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _paused(after=None, deadline: float = 90.0):
    """(run id, pause time) of the paused matching run of PROGRAM, paused later than `after`."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    wanted = FlowRunFilter(state=state, tags=FlowRunFilterTags(all_=[f"program:{PROGRAM}"]))
    began = time.monotonic()
    with get_client(sync_client=True) as client:
        while time.monotonic() - began < deadline:
            for run in client.read_flow_runs(flow_run_filter=wanted):
                if run.state and (after is None or run.state.timestamp > after):
                    return run.id, run.state.timestamp
            time.sleep(0.3)
    raise AssertionError("the matching run never paused for approval")


def _pairs(engine, status: str) -> dict[str, frozenset[str]]:
    return {k: frozenset(v) for k, v in _stored(engine, status).items()}


def _artifact_texts() -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        found = client.read_artifacts()
    return "\n".join(f"{a.description or ''}\n{a.data}" for a in found)


def _clean_axe(driver) -> None:  # type: ignore[no-untyped-def]
    assert _axe(driver) == [], driver.current_url


def test_sign_in_review_drop_a_pair_approve_and_the_run_completes(
    prefect_server,
    browser,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from flows.matching import matching
    from mentorflow.cli._decisions import PrefectDecisions
    from mentorflow.cli.main import app as cli
    from mentorflow.web import create_app
    from mentorflow.web.survey_routes import register_spec

    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    engine, cycle_id = seed_pool(url)
    seed_problems(engine, cycle_id)  # so that every page shows its table, not its empty state
    web = create_app(engine, decisions=PrefectDecisions())
    with serving(web) as base:
        spec_path = organizer_spec(tmp_path, base)
        register_spec(web, load(spec_path))
        outcome: dict = {}
        runner = threading.Thread(
            target=lambda: outcome.update(matching(str(spec_path), 1, 300, 1)), daemon=True
        )
        runner.start()
        run_id, paused_at = _paused()
        review = f"{base}/organizer/{PROGRAM}/proposal"
        shown_in_prefect = _artifact_texts()
        assert review in shown_in_prefect and "Person Nummer" not in shown_in_prefect

        printed = CliRunner().invoke(cli, ["organizer-link", str(spec_path)])
        assert printed.exit_code == 0, printed.output
        link = printed.output.strip().splitlines()[-1]
        assert link.startswith(f"{base}/organizer/sign-in/")

        browser.get(link)
        _clean_axe(browser)
        browser.find_element(By.ID, "sign-in").click()
        WebDriverWait(browser, 10).until(lambda d: d.current_url == f"{base}/organizer/{PROGRAM}/")
        for name in PAGES:  # every organizer page, signed in, with its table filled
            browser.get(f"{base}/organizer/{PROGRAM}/{name}")
            assert browser.find_element(By.TAG_NAME, "h1").text
            assert name == "" or browser.find_elements(By.TAG_NAME, "tbody"), name
            _clean_axe(browser)
        main = browser.find_element(By.TAG_NAME, "main").text
        assert "Person Nummer" in main and "@example.org" not in main

        first = _pairs(engine, "proposed")
        dropped_id, dropped = sorted(first.items())[0]
        browser.find_element(By.CSS_SELECTOR, f"label[for=drop-{dropped_id}]").click()
        browser.find_element(By.ID, "revise").click()
        assert str(run_id) in _message(browser, "answered flow run")  # waits for the answer
        _clean_axe(browser)

        _paused(after=paused_at)  # solved again without the dropped pair, waiting again
        browser.get(review)
        second = _pairs(engine, "proposed")
        assert second and dropped not in second.values()
        assert browser.find_elements(By.ID, f"match-{dropped_id}") == []
        browser.find_element(By.ID, "approve").click()
        assert str(run_id) in _message(browser, "'approve_all': True")
        runner.join(timeout=120)

    assert not runner.is_alive()
    approved = _pairs(engine, "approved")
    assert outcome["approved"] == len(approved) == len(second)
    assert set(approved.values()) == set(second.values())
    assert _pairs(engine, "dropped") == {dropped_id: dropped}
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).state.is_completed()
