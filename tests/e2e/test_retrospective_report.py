"""Issue 11: the retrospective report in headless Chromium: no console error, every section and
figure there, every image embedded (a data URI) and actually decoded by the browser."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from mentorflow.retrospective.run import run_retrospective
from tests.e2e.test_unsubscribe_page import browser  # noqa: F401  (the Chromium fixture)
from tests.unit.test_retrospective import _twelve_pairs

pytestmark = pytest.mark.browser


def test_report_opens_without_console_errors_and_shows_its_figures(
    tmp_path,
    monkeypatch,
    browser,  # noqa: F811
):
    from selenium.webdriver.common.by import By

    from tests.retrospective_support import DATA

    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    shutil.copytree(DATA, tmp_path / "spec")
    b = _twelve_pairs(f"sqlite:///{tmp_path / 'store.db'}", tmp_path / "spec" / "retro.yaml")
    outcome = run_retrospective(b.engine, b.spec, datetime(2027, 6, 1, tzinfo=UTC))
    browser.get(outcome.report_html.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    titles = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
    for title in ("Summary", "Participation", "Retention", "Before and after", "Surveys"):
        assert title in titles
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "25 of 25 (100%)" not in main  # the waiting mentee is unmatched
    assert "24 of 25 (96%)" in main  # matched of enrolled, count beside the share
    assert b.spec.sha256 in main
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) >= 4
    for image in images:
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        width = browser.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", image
        )
        assert width and width > 100  # decoded, not a broken image
