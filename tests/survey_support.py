"""Shared setup for the survey tests (issue 10): a program with pairs, the app, token links."""

from __future__ import annotations

from datetime import UTC, date, datetime

from starlette.testclient import TestClient

from mentorflow.clock import FixedClock
from mentorflow.spec.model import ProgramSpec
from mentorflow.surveys.links import claim_for, survey_url
from mentorflow.web.app import create_app
from mentorflow.web.survey_routes import register_spec
from tests.engagement_support import Person, setup_program

SPEC = "../issue10/surveys.yaml"
NOW = datetime(2027, 3, 15, 9, tzinfo=UTC)
DUE = date(2027, 3, 15)
KEY = "test-secret-key-not-for-production"
BASE = "http://testserver"
PAIRS = [
    (Person("m_mentor1", "mentor", "Europe/Berlin", "de"), Person("m_mentee1", "mentee", "UTC")),
    (Person("m_mentor2", "mentor", "UTC"), Person("m_mentee2", "mentee", "UTC", "de")),
]


def survey_site(url: str, now: datetime = NOW):  # type: ignore[no-untyped-def]
    engine, spec, cycle_id = setup_program(url, SPEC, PAIRS)
    app = create_app(engine, secret_key=KEY, clock=FixedClock(now))
    register_spec(app, spec)
    return app, engine, spec, cycle_id


def link(
    spec: ProgramSpec,
    member_id: str,
    survey_id: str,
    occurrence: str = "1",
    due: date = DUE,
    match_id: str = "",
    base: str = BASE,
) -> str:
    claim = claim_for(spec, member_id, survey_id, occurrence, due, match_id)
    return survey_url(base, spec, claim, KEY)


def client(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, base_url=BASE)
