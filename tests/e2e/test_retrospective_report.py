"""Issue 11: the retrospective report in headless Chromium: no console error, every section and
figure there, every image embedded (a data URI) and actually decoded by the browser."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from mentorflow.retrospective.run import run_retrospective
from tests.e2e.test_unsubscribe_page import CHROMEDRIVER, CHROMIUM, _skip_reason
from tests.unit.test_retrospective import _twelve_pairs

pytestmark = pytest.mark.browser


@pytest.fixture
def logging_browser():
    """Chromium that keeps the page's console messages (the shared fixture does not)."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_report_opens_without_console_errors_and_shows_its_figures(
    tmp_path, monkeypatch, logging_browser
):
    from selenium.webdriver.common.by import By

    from tests.retrospective_support import DATA

    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    shutil.copytree(DATA, tmp_path / "spec")
    b = _twelve_pairs(f"sqlite:///{tmp_path / 'store.db'}", tmp_path / "spec" / "retro.yaml")
    outcome = run_retrospective(b.engine, b.spec, datetime(2027, 6, 1, tzinfo=UTC))
    logging_browser.get(outcome.report_html.as_uri())
    errors = [e for e in logging_browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    titles = [h.text for h in logging_browser.find_elements(By.TAG_NAME, "h2")]
    for title in ("Summary", "Participation", "Retention", "Before and after", "Surveys"):
        assert title in titles
    main = logging_browser.find_element(By.TAG_NAME, "main").text
    assert "25 of 25 (100%)" not in main  # the waiting mentee is unmatched
    assert "24 of 25 (96%)" in main  # matched of enrolled, count beside the share
    assert b.spec.sha256 in main
    images = logging_browser.find_elements(By.TAG_NAME, "img")
    assert len(images) >= 4
    for image in images:
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        width = logging_browser.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", image
        )
        assert width and width > 100  # decoded, not a broken image
