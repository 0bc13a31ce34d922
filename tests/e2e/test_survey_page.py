"""Issue 10: the survey page in headless Chromium, German and English, with axe-core checks.

Fill and submit, a validation message, a second submission, keyboard-only use; axe-core (from npm,
installed by scripts/axe.sh) is injected with selenium into every page state and must report no
serious or critical violation.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from mentorflow.store.tables import survey_responses, survey_stories
from tests.e2e.conftest import serving
from tests.e2e.test_unsubscribe_page import browser  # noqa: F401  (the Chromium fixture)
from tests.survey_support import link, survey_site

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def web(tmp_path):
    app, engine, spec, _ = survey_site(f"sqlite:///{tmp_path / 'store.db'}")
    with serving(app) as base_url:
        yield engine, spec, base_url


def _axe(driver) -> list[tuple[str, str]]:
    """Serious and critical axe-core violations of the page as it is now: (rule, impact)."""
    if os.environ.get("MENTORFLOW_AXE_SKIP") or not AXE.is_file():
        pytest.skip(f"axe-core not installed: {os.environ.get('MENTORFLOW_AXE_SKIP', AXE)}")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => [v.id, v.impact])))"
        ".catch(e => done([['axe-error', String(e)]]));"
    )
    return [(rule, impact) for rule, impact in found if impact in ("serious", "critical", None)]


def _answers(engine):
    with engine.connect() as conn:
        return {
            (r.member_id, r.survey_id): r.answers for r in conn.execute(select(survey_responses))
        }


def _message(driver, expected: str) -> str:
    """The page's #message once it says `expected` (the page before may have a #message too)."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d):  # type: ignore[no-untyped-def]
        try:
            text = d.find_element(By.ID, "message").text
        except WebDriverException as error:  # Chromium, mid-navigation: the node's page is gone
            if "does not belong to the document" not in str(error):
                raise
            return False
        return text if expected in text else False

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, 10, ignored_exceptions=ignored).until(shown)


def _present(driver, selector: str):  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    located = expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector))
    return WebDriverWait(driver, 10).until(located)


def test_german_page_validation_keyboard_only_and_second_submission(web, browser):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    engine, spec, base = web
    url = link(spec, "m_mentor1", "fit", base=base)
    browser.set_window_size(390, 844)  # a phone
    browser.get(url)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "de"
    assert "Wie gut passt Dein Match zu Dir?" in browser.find_element(By.TAG_NAME, "main").text
    assert _axe(browser) == []
    browser.find_element(By.ID, "submit").click()  # nothing answered: the required one is missing
    alert = _present(browser, "[role=alert]")  # the answer page, once it has loaded
    assert "Bitte beantworte diese Frage." in alert.text
    fieldset = browser.find_element(By.ID, "q_fit")
    assert "q_fit-error" in fieldset.get_attribute("aria-describedby")
    assert _axe(browser) == [] and _answers(engine) == {}

    browser.get(url)  # keyboard only: Tab into the rating, arrows pick, Tab on, Enter sends
    keys = ActionChains(browser)
    keys.send_keys(Keys.TAB, Keys.SPACE, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    keys.send_keys(Keys.TAB, "Passt gut", Keys.TAB, Keys.ENTER).perform()
    assert "Deine Antworten sind gespeichert" in _message(
        browser, "Deine Antworten sind gespeichert"
    )
    assert _axe(browser) == []
    assert _answers(engine) == {("m_mentor1", "fit"): {"fit": 4, "note": "Passt gut"}}

    browser.get(url)  # the second visit shows the answer; a second submission updates it
    assert browser.find_element(By.ID, "q_fit-4").is_selected()
    browser.find_element(By.CSS_SELECTOR, "label[for=q_fit-5]").click()
    browser.find_element(By.ID, "submit").click()
    assert "Deine Antworten sind aktualisiert" in _message(
        browser, "Deine Antworten sind aktualisiert"
    )
    assert _answers(engine)[("m_mentor1", "fit")]["fit"] == 5


def test_english_page_fill_submit_story_and_invalid_link(web, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    engine, spec, base = web
    url = link(spec, "m_mentee1", "pulse", base=base)
    browser.get(url)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert _axe(browser) == []
    browser.find_element(By.CSS_SELECTOR, "label[for=q_quality-10]").click()
    browser.find_element(By.CSS_SELECTOR, "label[for=q_topics-0]").click()
    browser.find_element(By.CSS_SELECTOR, "label[for=q_topics-2]").click()
    browser.find_element(By.ID, "submit").click()
    assert "Your answers are saved" in _message(browser, "Your answers are saved")
    assert _axe(browser) == []  # the story request
    browser.find_element(By.ID, "story").send_keys("I gave my first talk.")
    browser.find_element(By.CSS_SELECTOR, "label[for=share]").click()
    browser.find_element(By.ID, "story-submit").click()
    assert "Thank you for your story" in _message(browser, "Thank you for your story")
    assert _answers(engine) == {
        ("m_mentee1", "pulse"): {"quality": 10, "topics": ["Career", "Community"]}
    }
    with engine.connect() as conn:
        (story,) = conn.execute(select(survey_stories)).all()
    assert story.share and story.text == "I gave my first talk."
    browser.get(url[:-4] + "AAAA")
    assert "not valid or has expired" in _message(browser, "not valid or has expired")
    assert _axe(browser) == []
