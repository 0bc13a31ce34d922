"""Issue 9: a real browser opens a check-in link, reads the page, clicks, then submits again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mentorflow.engagement import links
from mentorflow.store.tables import checkins
from mentorflow.web import create_app
from tests.e2e.conftest import serving
from tests.e2e.test_unsubscribe_page import browser  # noqa: F401  (the shared Chromium fixture)
from tests.engagement_support import Person, setup_program

pytestmark = pytest.mark.browser
PAIRS = [
    (Person("m_mentor1", "mentor", "Europe/Berlin", "de"), Person("m_mentee1", "mentee", "UTC"))
]


@pytest.fixture
def web(tmp_path):
    engine, _, _ = setup_program(f"sqlite:///{tmp_path / 'store.db'}", "walk.yaml", PAIRS)
    with serving(create_app(engine)) as base_url:
        yield engine, base_url


def test_check_in_link_shows_on_get_records_on_click_and_once_only(web, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    engine, base_url = web
    link = links.check_in_url(base_url, "m_mentor1", "p_001", "checkin-1", "met")

    def answers():
        with engine.connect() as conn:
            return conn.execute(select(checkins.c.member_id, checkins.c.answer)).all()

    browser.get(link)
    assert "getroffen" in browser.find_element(By.TAG_NAME, "main").text
    assert answers() == []  # opening the link (as a mail scanner would) does nothing
    button = browser.find_element(By.ID, "confirm")
    button.send_keys(Keys.ENTER)  # the keyboard is enough: no JavaScript, no mouse
    message = WebDriverWait(browser, 10).until(
        expected_conditions.presence_of_element_located((By.ID, "message"))
    )
    assert "Danke" in message.text
    assert answers() == [("m_mentor1", "met")]
    browser.get(link)
    browser.find_element(By.ID, "confirm").click()  # a second POST changes nothing
    message = WebDriverWait(browser, 10).until(
        expected_conditions.presence_of_element_located((By.ID, "message"))
    )
    assert "nichts geändert" in message.text
    assert answers() == [("m_mentor1", "met")]
