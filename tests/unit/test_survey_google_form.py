"""Issue 10: Google Form answers read through gspread from the local Sheets fake.

Valid tokens are accepted and the latest row per member and occurrence wins; every other row is
quarantined with a reason, counted, never dropped; a rerun stores nothing twice.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from mentorflow.store.tables import rematch_requests, survey_quarantine, survey_responses
from mentorflow.surveys import google_form
from mentorflow.surveys.tokens import SurveyClaim, make_survey_token
from tests.fakes.sheets import FakeSheets
from tests.survey_support import KEY, NOW, link, survey_site

HEADER = ["Timestamp", "How happy are you?", "Token"]


@pytest.fixture
def site(tmp_path):
    return survey_site(f"sqlite:///{tmp_path / 's.db'}")


def _token(spec, member_id, survey_id="form", **extra):
    url = link(spec, member_id, survey_id, **extra)
    if survey_id != "form":
        return url.rsplit("/", 1)[1]
    return parse_qs(urlsplit(url).query)["entry.111"][0]


def _run(engine, spec, sheets):
    survey = spec.surveys["form"]
    values = google_form.read_worksheet(sheets.client(), survey)
    roster = google_form.load_roster(engine, spec.program.id, 1)
    check = google_form.check_rows(spec, survey, values, roster, NOW, KEY)
    return google_form.store_checked(
        engine, spec, survey, check, google_form.source_label(survey), NOW
    )


def test_the_invitation_is_a_prefilled_form_link(site):
    _, _, spec, _ = site
    url = link(spec, "m_mentee1", "form")
    assert url.startswith("https://docs.google.com/forms/d/e/FORM/viewform?usp=pp_url&entry.111=")
    assert "@" not in url


def test_rows_are_accepted_latest_wins_and_the_rest_is_quarantined_with_reasons(site):
    _, engine, spec, _ = site
    good = _token(spec, "m_mentee1")
    foreign_key = make_survey_token(
        SurveyClaim("m_mentee2", "form", "1", spec.cycle.label, NOW.replace(year=2028)), "other"
    )
    rows = [
        HEADER,
        ["15.03.2027 10:00:00", "2", good],
        ["15.03.2027 10:05:00", "4", good],  # the same member again: this one wins
        ["15.03.2027 10:06:00", "5", _token(spec, "m_mentor1")],
        ["15.03.2027 10:07:00", "3", ""],
        ["15.03.2027 10:08:00", "3", good[:-4] + "AAAA"],
        ["15.03.2027 10:09:00", "3", foreign_key],
        ["15.03.2027 10:10:00", "3", _token(spec, "m_mentee2", "fit")],
        ["15.03.2027 10:11:00", "3", _token(spec, "m_nobody")],
        ["15.03.2027 10:12:00", "9", _token(spec, "m_mentor2")],
    ]
    sheets = FakeSheets()
    sheets.add_spreadsheet("sheet-responses", {"Form Responses 1": rows})
    report = _run(engine, spec, sheets)
    assert report.read == 9 and report.accepted == 2 and report.quarantined == 7
    assert report.read == report.accepted + report.quarantined
    assert report.stored == 2 and report.member_ids == ("m_mentee1", "m_mentor1")
    with engine.connect() as conn:
        answers = {r.member_id: r.answers for r in conn.execute(select(survey_responses))}
        reasons = {r.row_number: r.reason for r in conn.execute(select(survey_quarantine))}
    assert answers == {"m_mentee1": {"happy": 4}, "m_mentor1": {"happy": 5}}
    assert reasons == {
        2: "superseded by the later row 3",
        5: "no token in the row",
        6: "token: the link is not valid",
        7: "token: the link is not valid",
        8: "token of another survey or cycle",
        9: "member unknown, erased or not enrolled",
        10: "answers: happy invalid",
    }
    again = _run(engine, spec, sheets)  # a rerun: nothing new, nothing twice
    assert again.stored == 0 and again.unchanged == 2
    with engine.connect() as conn:
        assert len(conn.execute(select(survey_quarantine)).all()) == 7
        assert len(conn.execute(select(survey_responses)).all()) == 2
        assert conn.execute(select(rematch_requests)).all() == []
