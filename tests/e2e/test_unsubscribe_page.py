"""A real browser opens an unsubscribe link from a mail, reads the page, then clicks the button."""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import select

from mentorflow.store.tables import members
from mentorflow.web import create_app
from tests.e2e.conftest import serving
from tests.mail_support import add_member, make_store

pytestmark = pytest.mark.browser
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def _skip_reason() -> str | None:
    if os.environ.get("MENTORFLOW_BROWSER_SKIP"):
        return f"browser tests skipped: {os.environ['MENTORFLOW_BROWSER_SKIP']}"
    if not (CHROMIUM and CHROMEDRIVER):
        return "browser tests skipped: chromium or chromedriver is not installed"
    return None


@pytest.fixture
def web(tmp_path):
    engine, _ = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    add_member(engine, "m_zoe", "zoe@example.org", "Zoë Schäfer", "de")
    with serving(create_app(engine)) as base_url:
        yield engine, base_url


@pytest.fixture
def browser():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from tests.walkthrough_support import chromium

    driver = chromium()
    yield driver
    driver.quit()


def test_unsubscribe_link_confirms_on_get_and_acts_on_click(web, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    from mentorflow.mail.outbox import unsubscribe_url
    from tests.mail_support import settings_for

    engine, base_url = web
    link = unsubscribe_url(settings_for(tmp_path, base_url=base_url), "m_zoe")

    def unsubscribed_at():
        with engine.connect() as conn:
            return conn.execute(select(members.c.unsubscribed_at)).scalar_one()

    browser.get(link)
    assert "keine optionalen Mails" in browser.find_element(By.TAG_NAME, "main").text
    assert unsubscribed_at() is None  # opening the link (as a mail scanner would) does nothing
    browser.find_element(By.ID, "unsubscribe").click()
    message = WebDriverWait(browser, 10).until(
        expected_conditions.presence_of_element_located((By.ID, "message"))
    )
    assert "Du bist abgemeldet" in message.text
    assert unsubscribed_at() is not None
