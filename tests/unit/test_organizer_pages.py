"""Issue 12: the organizer's sign-in and review pages, through Starlette's TestClient.

Sign-in links: expired, reused, forged, for another program, member tokens of every kind
refused; the session cookie's flags; CSRF and cross-site refusals; names on the pages; the
pages' answers reach `Decisions` exactly as chosen.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from mentorflow.clock import FixedClock
from mentorflow.engagement.links import CHECK_IN, LEAVE, make_link_token
from mentorflow.errors import TokenError
from mentorflow.mail.tokens import UNSUBSCRIBE, make_token
from mentorflow.store.tables import events, match_members, members, outbox
from mentorflow.surveys.links import claim_for
from mentorflow.surveys.tokens import make_survey_token
from mentorflow.web.app import create_app
from mentorflow.web.organizer_auth import SESSION_COOKIE, make_signin_token, review_url
from mentorflow.web.survey_routes import register_spec
from tests.organizer_support import (
    KEY,
    NOW,
    ORGANIZER,
    PROGRAM,
    ROOT,
    RecordedDecisions,
    load,
    organizer_spec,
    save_proposal,
    seed_pool,
    seed_problems,
)


@pytest.fixture
def site(tmp_path):
    spec = load(organizer_spec(tmp_path))
    engine, cycle_id = seed_pool(f"sqlite:///{tmp_path / 'store.db'}")
    decisions = RecordedDecisions()
    clock = FixedClock(NOW)
    app = create_app(engine, secret_key=KEY, clock=clock, decisions=decisions)
    register_spec(app, spec)
    return app, engine, spec, cycle_id, decisions, clock


def _client(app, base_url: str = "http://testserver") -> TestClient:
    return TestClient(app, base_url=base_url, follow_redirects=False)


def _sign_in(client: TestClient, spec) -> str:
    """Follow a fresh link (GET, then its button's POST); the page's CSRF token."""
    token = make_signin_token(spec, ORGANIZER, KEY, NOW)
    assert client.get(f"/organizer/sign-in/{token}").status_code == 200
    answer = client.post(f"/organizer/sign-in/{token}")
    assert answer.status_code == 303 and answer.headers["location"] == f"/organizer/{PROGRAM}/"
    shown = client.get(f"/organizer/{PROGRAM}/proposal")
    assert shown.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', shown.text).group(1)  # type: ignore[union-attr]


def test_pages_refuse_anyone_without_a_session(site):
    app, *_ = site
    client = _client(app)
    for path in ("", "applicants", "proposal", "quarantine", "mail"):
        answer = client.get(f"/organizer/{PROGRAM}/{path}")
        assert answer.status_code == 401 and "organizer-link" in answer.text
        assert "Person Nummer" not in answer.text


def test_the_link_signs_in_once_and_the_cookie_is_strict_and_http_only(site):
    app, engine, spec, *_ = site
    client = _client(app)
    token = make_signin_token(spec, ORGANIZER, KEY, NOW)
    form = client.get(f"/organizer/sign-in/{token}")
    assert form.status_code == 200 and "Set-Cookie" not in form.headers  # a GET spends nothing
    answer = client.post(f"/organizer/sign-in/{token}")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/organizer/" in cookie
    assert "Secure" not in cookie  # plain http on loopback, base_url http
    with engine.connect() as conn:
        used = conn.execute(select(events).where(events.c.kind == "organizer_signin")).all()
    assert len(used) == 1 and used[0].member_id is None and set(used[0].data) == {"nonce"}
    again = _client(app).post(f"/organizer/sign-in/{token}")
    assert again.status_code == 400 and "used already" in again.text
    assert "set-cookie" not in again.headers


def test_the_cookie_is_secure_over_https_or_with_an_https_base_url(site, tmp_path):
    app, _, spec, *_ = site
    token = make_signin_token(spec, ORGANIZER, KEY, NOW)
    over_https = _client(app, "https://testserver").post(f"/organizer/sign-in/{token}")
    assert over_https.status_code == 303 and "Secure" in over_https.headers["set-cookie"]
    https_spec = load(organizer_spec(tmp_path / "https", "https://mentoring.example.org"))
    register_spec(app, https_spec)
    token = make_signin_token(https_spec, ORGANIZER, KEY, NOW)
    answer = _client(app).post(f"/organizer/sign-in/{token}")
    assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]


def test_an_expired_link_is_refused(site):
    app, _, spec, _, _, clock = site
    token = make_signin_token(spec, ORGANIZER, KEY, NOW)
    clock.at = NOW + timedelta(minutes=16)
    for answer in (
        _client(app).get(f"/organizer/sign-in/{token}"),
        _client(app).post(f"/organizer/sign-in/{token}"),
    ):
        assert answer.status_code == 400 and "expired" in answer.text


def test_forged_and_foreign_links_and_member_tokens_are_refused(site):
    app, engine, spec, *_ = site
    token = make_signin_token(spec, ORGANIZER, KEY, NOW)
    other_key = make_signin_token(spec, ORGANIZER, "another-key", NOW)
    with engine.begin() as conn:
        member_id = conn.execute(select(members.c.id).limit(1)).scalar_one()
    claim = claim_for(spec, member_id, "halbzeit", "1", NOW.date())
    member_tokens = [
        make_token(UNSUBSCRIBE, member_id, KEY),
        make_link_token(CHECK_IN, member_id, KEY, p="p_001", o="week2", a="met"),
        make_link_token(LEAVE, member_id, KEY, c=spec.cycle.label),
        make_survey_token(claim, KEY),
    ]
    forged = [token[:-2] + ("AA" if not token.endswith("AA") else "BB"), other_key]
    for bad in [*forged, *member_tokens]:
        client = _client(app)
        assert client.get(f"/organizer/sign-in/{bad}").status_code == 400
        answer = client.post(f"/organizer/sign-in/{bad}")
        assert answer.status_code == 400 and "set-cookie" not in answer.headers
        # nor does any token work as the session cookie itself
        client.cookies.set(SESSION_COOKIE, bad, path="/organizer/")
        assert client.get(f"/organizer/{PROGRAM}/proposal").status_code == 401
    # a sign-in token is no session either, and a session for another program opens nothing
    client = _client(app)
    client.cookies.set(SESSION_COOKIE, token, path="/organizer/")
    assert client.get(f"/organizer/{PROGRAM}/").status_code == 401
    with pytest.raises(TokenError):
        make_signin_token(spec, "member@example.org", KEY, NOW)


def test_a_signed_in_organizer_sees_names_and_the_answer_reaches_the_run(site):
    app, engine, spec, cycle_id, decisions, _ = site
    ids = save_proposal(engine, spec, cycle_id)
    client = _client(app)
    csrf = _sign_in(client, spec)
    shown = client.get(f"/organizer/{PROGRAM}/proposal").text
    assert "Person Nummer" in shown and "@example.org" not in shown
    match_id = sorted(ids.values())[0]
    assert f'value="{match_id}"' in shown
    answer = client.post(
        f"/organizer/{PROGRAM}/proposal",
        data={"csrf": csrf, "drop": match_id, "action": "revise"},
    )
    assert answer.status_code == 200 and "answered flow run run-1" in answer.text
    assert decisions.calls == [
        ("matching", {"approve_all": False, "drop": [match_id], "hold_back": []})
    ]
    answer = client.post(f"/organizer/{PROGRAM}/proposal", data={"csrf": csrf, "action": "approve"})
    assert answer.status_code == 200
    assert decisions.calls[-1] == ("matching", {"approve_all": True, "drop": [], "hold_back": []})


def test_a_post_without_the_csrf_token_or_from_another_site_changes_nothing(site):
    app, engine, spec, cycle_id, decisions, _ = site
    save_proposal(engine, spec, cycle_id)
    client = _client(app)
    csrf = _sign_in(client, spec)
    url = f"/organizer/{PROGRAM}/proposal"
    refused = [
        client.post(url, data={"action": "approve"}),
        client.post(url, data={"action": "approve", "csrf": "guessed"}),
        client.post(
            url,
            data={"action": "approve", "csrf": csrf},
            headers={"Origin": "https://evil.example"},
        ),
        client.post(
            url, data={"action": "approve", "csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert decisions.calls == []
    token = make_signin_token(spec, ORGANIZER, KEY, NOW)
    cross = _client(app).post(
        f"/organizer/sign-in/{token}", headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    same = client.post(
        url, data={"action": "approve", "csrf": csrf}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code == 200 and len(decisions.calls) == 1


def test_applicants_quarantine_mail_and_overview_pages_show_names_and_reasons(site):
    app, engine, spec, cycle_id, decisions, _ = site
    waiting = seed_problems(engine, cycle_id)
    with engine.connect() as conn:
        names = dict(conn.execute(select(members.c.id, members.c.name)).all())
    client = _client(app)
    csrf = _sign_in(client, spec)
    page = client.get(f"/organizer/{PROGRAM}/applicants").text
    assert all(names[m] in page for m in waiting) and "goals" in page
    answer = client.post(
        f"/organizer/{PROGRAM}/applicants",
        data={"csrf": csrf, f"decide:{waiting[0]}": "approve", f"decide:{waiting[1]}": "decline"},
    )
    assert answer.status_code == 200
    assert decisions.calls == [("intake", {"approve": [waiting[0]], "decline": [waiting[1]]})]
    quarantine = client.get(f"/organizer/{PROGRAM}/quarantine").text
    assert "e-mail address is missing" in quarantine and ">7<" in quarantine
    mail = client.get(f"/organizer/{PROGRAM}/mail").text
    assert names[waiting[0]] in mail and "welcome" in mail
    overview = client.get(f"/organizer/{PROGRAM}/")
    assert overview.status_code == 200 and 'id="pairs">0<' in overview.text


def test_review_addresses_carry_the_program_id_only(site):
    _, _, spec, *_ = site
    assert review_url(spec, "proposal") == f"http://127.0.0.1:8000/organizer/{PROGRAM}/proposal"
    assert review_url(spec, "applicants") == f"http://127.0.0.1:8000/organizer/{PROGRAM}/applicants"


def test_without_a_base_url_in_the_spec_links_use_mentorflow_base_url(tmp_path, monkeypatch):
    """The README's walkthrough serves the pages of program_specs/peer.yaml (no base_url) at the
    address in MENTORFLOW_BASE_URL: the review links and the sign-in link must point there."""
    from typer.testing import CliRunner

    from mentorflow.cli.main import app as cli
    from mentorflow.spec import load_spec

    monkeypatch.delenv("MENTORFLOW_BASE_URL", raising=False)
    spec = load_spec(ROOT / "program_specs" / "peer.yaml")
    assert spec.sender.base_url is None
    assert review_url(spec, "proposal") is None  # no address known: no link at all
    monkeypatch.setenv("MENTORFLOW_BASE_URL", "http://127.0.0.1:8123/")
    expected = f"http://127.0.0.1:8123/organizer/{spec.program.id}/proposal"
    assert review_url(spec, "proposal") == expected
    printed = CliRunner().invoke(cli, ["organizer-link", str(spec.path)])
    assert printed.exit_code == 0, printed.output
    assert printed.output.strip().startswith("http://127.0.0.1:8123/organizer/sign-in/")


# --- `mentorflow organizer-link` ----------------------------------------------------------


def _two_organizers(tmp_path):
    path = organizer_spec(tmp_path)
    text = path.read_text(encoding="utf-8")
    one = "    - {name: Orga-Team, email: orga@example.org}\n"
    assert one in text
    path.write_text(
        text.replace(one, one + "    - {name: Bea Second, email: bea@example.org}\n"), "utf-8"
    )
    return path


def test_organizer_link_prints_a_link_for_the_organizer_asked_for(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from mentorflow.cli.main import app as cli
    from mentorflow.web.organizer_auth import read_signin_token

    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", KEY)
    path = _two_organizers(tmp_path / "two")
    printed = CliRunner().invoke(
        cli, ["organizer-link", str(path), "--organizer", "bea@example.org"]
    )
    assert printed.exit_code == 0, printed.output
    link = printed.output.strip()
    assert link.startswith("http://127.0.0.1:8000/organizer/sign-in/")
    email, program, _ = read_signin_token(link.rsplit("/", 1)[1], KEY, datetime.now(UTC))
    assert (email, program) == ("bea@example.org", PROGRAM)
    refused = CliRunner().invoke(cli, ["organizer-link", str(path), "--organizer", "x@example.org"])
    assert refused.exit_code == 1 and "is not an organizer" in refused.output


def test_organizer_link_mail_goes_to_that_organizer_only(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from mentorflow.cli.main import app as cli

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine, _ = seed_pool(url)
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    path = _two_organizers(tmp_path)
    args = ["organizer-link", str(path), "--organizer", "bea@example.org", "--mail"]
    printed = CliRunner().invoke(cli, args)
    assert printed.exit_code == 0, printed.output
    link = printed.output.strip().splitlines()[-1]
    with engine.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.purpose == "organizer_signin")).all()
    assert [(r.to_addr, r.template, r.member_id) for r in rows] == [
        ("bea@example.org", "organizer_signin", None)
    ]
    assert link in rows[0].text_body and "15 Minuten" in rows[0].text_body


def test_a_link_used_at_once_from_several_places_signs_in_only_once(site):
    from concurrent.futures import ThreadPoolExecutor

    from mentorflow.web.organizer_auth import use_signin_token

    _, engine, spec, *_ = site
    token = make_signin_token(spec, ORGANIZER, KEY, NOW)

    def use(_: int) -> bool:
        try:
            use_signin_token(engine, spec, token, KEY, NOW)
        except TokenError:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(use, range(8)))
    assert outcomes.count(True) == 1


def test_the_access_log_never_records_a_sign_in_token():
    from mentorflow.web.server import redact_path

    assert redact_path("/organizer/sign-in/eyJvIjoiYSJ9.sig") == "/organizer/<token>"


def test_a_session_opens_its_own_program_only(site, tmp_path):
    app, _, spec, *_ = site
    path = organizer_spec(tmp_path / "other")
    text = path.read_text(encoding="utf-8").replace("id: demo-mentoring", "id: other-program", 1)
    path.write_text(text, encoding="utf-8")
    other = load(path)
    register_spec(app, other)
    client = _client(app)
    _sign_in(client, spec)
    assert client.get("/organizer/other-program/proposal").status_code == 401
    token = make_signin_token(other, ORGANIZER, KEY, NOW)
    assert client.post(f"/organizer/sign-in/{token}").status_code == 303
    assert client.get("/organizer/other-program/proposal").status_code == 200
    assert client.get(f"/organizer/{PROGRAM}/proposal").status_code == 401  # one at a time


def test_the_overview_counts_pairs_and_names_the_bounced(site):
    from mentorflow.matching.store_io import approve

    app, engine, spec, cycle_id, *_ = site
    ids = save_proposal(engine, spec, cycle_id)
    with engine.begin() as conn:
        approve(conn, PROGRAM, cycle_id, NOW)
        member_id, name = conn.execute(
            select(members.c.id, members.c.name)
            .join(match_members, match_members.c.member_id == members.c.id)
            .limit(1)
        ).one()
        conn.execute(update(members).where(members.c.id == member_id).values(bounced_at=NOW))
    client = _client(app)
    _sign_in(client, spec)
    overview = client.get(f"/organizer/{PROGRAM}/").text
    assert f'id="pairs">{len(ids)}<' in overview
    bounced = overview.split("<h2>Bounced</h2>")[1].split("<h2>")[0]
    assert name in bounced
