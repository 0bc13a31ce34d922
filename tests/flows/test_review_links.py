"""Issue 12: a paused run's notice links to its organizer review page (ids only in Prefect)."""

from __future__ import annotations

from flows.pauses import NOTICE_LOGGER, notice


def test_the_notice_names_the_review_page_when_there_is_one():
    review = "https://mentoring.example.org/organizer/demo-mentoring/proposal"
    text = notice(
        "approval of 4 proposed matches of demo-mentoring", "mentorflow approve x", 7, review
    )
    assert f"Review with names (organizer sign-in): {review}" in text
    assert "Review with names" not in notice("approval", "mentorflow approve x", 7)


def test_the_applicants_page_answers_the_paused_intake_run(tmp_path, store, caplog):
    import logging
    import re
    import threading
    from datetime import UTC, datetime

    from starlette.testclient import TestClient

    from flows.intake import intake
    from mentorflow.cli._decisions import PrefectDecisions
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store
    from mentorflow.web import create_app
    from mentorflow.web.organizer_auth import make_signin_token
    from mentorflow.web.survey_routes import register_spec
    from tests.flows.test_intake_flow import _screening_run, _statuses, demo_spec

    caplog.set_level(logging.INFO, logger=NOTICE_LOGGER)
    spec_path = demo_spec(tmp_path, screening=True)
    spec = load_spec(spec_path)
    result: dict = {}
    runner = threading.Thread(
        target=lambda: result.update(intake(str(spec_path), screening_poll_seconds=1)), daemon=True
    )
    runner.start()
    run = _screening_run()
    review = "Review with names (organizer sign-in): http://127.0.0.1:8000/organizer/"
    review += "demo-mentoring/applicants"
    assert any(review in r.getMessage() for r in caplog.records if r.name == NOTICE_LOGGER)
    assert review in _form_description(run)  # the pause form in the Prefect UI links it too
    waiting = [m for m, status in _statuses(store).items() if status == "pending_approval"]
    app = create_app(open_store(), decisions=PrefectDecisions())
    register_spec(app, spec)
    client = TestClient(app, follow_redirects=False)
    token = make_signin_token(spec, spec.program.organizers[0].email, _key(), datetime.now(UTC))
    assert client.post(f"/organizer/sign-in/{token}").status_code == 303
    page = client.get("/organizer/demo-mentoring/applicants").text
    assert (
        'id="send-screening"' in page
        and "disabled" not in page.split('id="send-screening"')[1][:12]
    )
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/organizer/demo-mentoring/applicants",
        data={"csrf": csrf, f"decide:{waiting[0]}": "approve", f"decide:{waiting[1]}": "decline"},
    )
    assert answer.status_code == 200 and f"flow run {run.id}" in answer.text
    runner.join(timeout=60)
    assert not runner.is_alive()
    statuses = _statuses(store)
    assert [statuses[m] for m in waiting[:2]] == ["enrolled", "declined"]
    assert all(statuses[m] == "pending_approval" for m in waiting[2:])


def _key() -> str:
    from mentorflow.mail.tokens import secret_key

    return secret_key()


def _form_description(run) -> str:  # type: ignore[no-untyped-def]
    import json

    from prefect.client.orchestration import get_client
    from prefect.input.run_input import keyset_from_paused_state

    with get_client(sync_client=True) as client:
        key = keyset_from_paused_state(run.state)["description"]
        return str(json.loads(client.read_flow_run_input(run.id, key)))


def test_the_notice_says_whether_the_run_holds_its_process(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        held = notice("approval", "mentorflow approve x", 7)
        suspended = notice("approval", "mentorflow approve x", 7, suspended=True)
    assert "Its process waits until answered" in held and "Suspended" not in held
    assert "its process ends; once answered, the worker runs it again" in suspended
