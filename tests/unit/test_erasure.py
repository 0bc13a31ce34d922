"""Erasure: afterwards a member's address and name are nowhere in the store; no mail goes out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from mentorflow.cli.main import app
from mentorflow.clock import FixedClock
from mentorflow.errors import UnknownMemberError
from mentorflow.intake.service import ingest
from mentorflow.intake.sources import read_csv
from mentorflow.mail.outbox import deliver_pending, enqueue
from mentorflow.mail.samples import sample_context
from mentorflow.mail.sender import RecordingSender
from mentorflow.spec.model import CsvSource
from mentorflow.store.db import open_store
from mentorflow.store.erasure import (
    ERASED_EVENT,
    erase_expired,
    erase_member,
    expired_members,
    find_member,
)
from mentorflow.store.repo import CycleRef, ensure_cycle, ensure_program, get_cycle
from mentorflow.store.tables import (
    enrolments,
    events,
    intake_rows,
    match_members,
    matches,
    members,
    metadata,
    outbox,
    survey_responses,
)
from tests.fakes.intake import answer, intake_spec, write_csv
from tests.mail_support import settings_for

SPEC = Path(__file__).resolve().parents[2] / "program_specs" / "one_to_one.yaml"
DATA = Path(__file__).resolve().parents[1] / "data" / "issue8"
PROGRAM = "demo-mentoring"  # the program id of SPEC
NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
CLOCK = FixedClock(NOW)
INTAKE_CLOCK = FixedClock(datetime(2027, 1, 20, 9, 0, tzinfo=UTC))
ADA, ADA_NAME = "ada@example.org", "Ada Lovelace"
BOB, BOB_NAME = "bob@example.org", "Bob Baumeister"
runner = CliRunner()


@pytest.fixture
def engine(store_url):
    engine = open_store(store_url)
    yield engine
    engine.dispose()


def _intake(engine: Engine, tmp_path: Path, rows: list[list[str]]) -> None:
    settings = intake_spec(write_csv(tmp_path / "form.csv", rows), program_id=PROGRAM)
    assert isinstance(settings.intake.source, CsvSource)
    ingest(engine, read_csv(settings.intake.source), settings, INTAKE_CLOCK)


def _cycle(engine: Engine) -> CycleRef:
    with engine.connect() as conn:
        cycle = get_cycle(conn, PROGRAM, "2027-02-01")
    assert cycle is not None
    return cycle


def _mail(engine: Engine, tmp_path: Path, member_id: str, template: str, context: dict) -> None:
    cycle = _cycle(engine)
    enqueue(
        engine,
        settings=settings_for(tmp_path, program_id=PROGRAM),
        cycle_id=cycle.id,
        cycle_label=cycle.label,
        member_id=member_id,
        purpose=template,
        template=template,
        context=context,
        clock=CLOCK,
        occurrence="1",
    )


def _introduction(partner_name: str, partner_email: str) -> dict[str, Any]:
    context = sample_context("introduction")
    context["partners"] = [{"name": partner_name, "email": partner_email, "role": "mentor"}]
    return context


def _deliver(engine: Engine, tmp_path: Path) -> list[str]:
    sender = RecordingSender()
    deliver_pending(
        engine, settings=settings_for(tmp_path, program_id=PROGRAM), sender=sender, clock=CLOCK
    )
    return [str(message["To"]) for message in sender.sent]


@pytest.fixture
def program(engine, tmp_path) -> dict[str, str]:
    """Ada and Bob as the real intake leaves them, with mail, a match and a survey answer.

    Ada's first sign-up was broken (quarantined before she had a member id, so the row keeps
    her address without her id), then she signed up twice; Bob once.
    """
    broken = answer(" Ada@Example.org ", at="05.01.2027 10:00:00", timezone="Berlin Zeit")
    _intake(engine, tmp_path, [broken])
    _intake(
        engine,
        tmp_path,
        [
            broken,
            answer(ADA, at="08.01.2027 10:00:00", name=ADA_NAME, goals="Alt"),
            answer(ADA, at="10.01.2027 10:00:00", name=ADA_NAME, goals="Neu"),
            answer(BOB, at="09.01.2027 10:00:00", name=BOB_NAME, role="Mentee"),
        ],
    )
    with engine.connect() as conn:
        ids = {"ada": find_member(conn, PROGRAM, ADA), "bob": find_member(conn, PROGRAM, BOB)}
    ada, bob = ids["ada"], ids["bob"]
    assert ada and bob
    welcome = sample_context("welcome")
    _mail(engine, tmp_path, ada, "welcome", welcome)
    _mail(engine, tmp_path, bob, "welcome", welcome)
    assert sorted(_deliver(engine, tmp_path)) == [f"{ADA_NAME} <{ADA}>", f"{BOB_NAME} <{BOB}>"]
    _mail(engine, tmp_path, ada, "introduction", _introduction(BOB_NAME, BOB))  # pending
    _mail(engine, tmp_path, bob, "introduction", _introduction(ADA_NAME, ADA))  # names Ada
    _mail(engine, tmp_path, bob, "reminder", {"topic": "Treffen planen"})
    cycle = _cycle(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(matches).values(
                id="p_test",
                cycle_id=cycle.id,
                round=1,
                status="active",
                score=0.8,
                explanation=[],
                created_at=NOW,
            )
        )
        conn.execute(
            insert(match_members),
            [
                {"match_id": "p_test", "member_id": ada, "side": "mentor"},
                {"match_id": "p_test", "member_id": bob, "side": "mentee"},
            ],
        )
        for member_id, story in ((ada, f"{ADA_NAME} erzählt"), (bob, "Bob erzählt")):
            conn.execute(
                insert(survey_responses).values(
                    cycle_id=cycle.id,
                    member_id=member_id,
                    survey_id="exit",
                    occurrence="1",
                    answers={"satisfaction": 5, "story": story},
                    channel="web",
                    submitted_at=NOW,
                )
            )
    return {"ada": ada, "bob": bob}


def _found(engine: Engine, *needles: str) -> list[str]:
    """Every table.column where any needle appears (case ignored), every value read as text."""
    hits = set()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    text = (
                        value
                        if isinstance(value, str)
                        else json.dumps(value, ensure_ascii=False, default=str)
                    )
                    if any(needle.lower() in text.lower() for needle in needles):
                        hits.add(f"{table.name}.{column}")
    return sorted(hits)


def _rows(engine: Engine, table: Any, *where: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).where(*where)))


def _erase(engine: Engine, member_id: str, reason: str = "request") -> Any:
    with engine.begin() as conn:
        return erase_member(conn, PROGRAM, member_id, NOW + timedelta(days=1), reason)


def test_after_erasure_the_address_and_name_are_nowhere_in_the_store(engine, program):
    before = _found(engine, ADA, ADA_NAME)
    assert {"members.email", "members.name", "intake_rows.raw", "outbox.to_addr"} <= set(before)
    assert {"outbox.text_body", "survey_responses.answers"} <= set(before)
    report = _erase(engine, program["ada"])
    assert _found(engine, ADA, ADA_NAME) == []
    assert (report.intake_rows, report.mentions_cleared, report.survey_responses) == (1, 1, 1)
    (member,) = _rows(engine, members, members.c.id == program["ada"])
    assert (member.email, member.name, member.timezone) == (None, None, None)
    assert member.erased_at is not None
    assert (member.consent_version, member.consent_at is not None) == ("2027-01", True)
    (enrolment,) = _rows(engine, enrolments, enrolments.c.member_id == program["ada"])
    assert (enrolment.status, enrolment.answers, enrolment.role) == ("erased", {}, "mentor")
    kept = _rows(engine, match_members, match_members.c.match_id == "p_test")
    assert sorted(row.member_id for row in kept) == sorted(program.values())


def test_the_erasure_event_holds_only_the_id_and_counts(engine, program):
    _erase(engine, program["ada"])
    (event,) = _rows(engine, events, events.c.kind == ERASED_EVENT)
    assert event.member_id == program["ada"]
    assert event.data["reason"] == "request"
    assert event.data["enrolments"] == 1 and event.data["mails_suppressed"] == 1
    assert all(isinstance(v, int) for k, v in event.data.items() if k != "reason")


def test_pending_mail_to_the_erased_member_is_never_sent(engine, program, tmp_path):
    _erase(engine, program["ada"])
    sent = _deliver(engine, tmp_path)
    assert sent == [f"{BOB_NAME} <{BOB}>"]  # Bob's reminder; his introduction to Ada is not
    ada_rows = _rows(engine, outbox, outbox.c.member_id == program["ada"])
    assert sorted(row.status for row in ada_rows) == ["sent", "suppressed"]
    bob_rows = {
        row.template: row for row in _rows(engine, outbox, outbox.c.member_id == program["bob"])
    }
    assert bob_rows["introduction"].status == "suppressed"
    assert bob_rows["introduction"].last_error == "suppressed: names an erased member"


def test_other_members_are_untouched(engine, program):
    bob = program["bob"]
    tables = (members, enrolments, survey_responses, events)
    column = {members: members.c.id}

    def snapshot() -> list[Any]:
        return [
            _rows(engine, t, column.get(t, getattr(t.c, "member_id", None)) == bob) for t in tables
        ]

    before = snapshot()
    bob_mail = _rows(engine, outbox, outbox.c.member_id == bob, outbox.c.template != "introduction")
    _erase(engine, program["ada"])
    assert snapshot() == before
    assert (
        _rows(engine, outbox, outbox.c.member_id == bob, outbox.c.template != "introduction")
        == bob_mail
    )
    assert _found(engine, BOB, BOB_NAME) != []


def test_erasing_twice_is_harmless(engine, program):
    first = _erase(engine, program["ada"])
    (erased_at,) = [m.erased_at for m in _rows(engine, members, members.c.id == program["ada"])]
    second = _erase(engine, program["ada"])
    assert first.changed and not first.already_erased
    assert second.already_erased and not second.changed
    assert [m.erased_at for m in _rows(engine, members, members.c.id == program["ada"])] == [
        erased_at
    ]
    assert len(_rows(engine, events, events.c.kind == ERASED_EVENT)) == 1


def test_an_unknown_member_id_is_an_error_naming_the_id(engine, program):
    with pytest.raises(UnknownMemberError, match="no member m_nobody in program demo-mentoring"):
        _erase(engine, "m_nobody")


def test_find_member_ignores_case_and_spaces(engine, program):
    with engine.connect() as conn:
        assert find_member(conn, PROGRAM, "  ADA@example.ORG ") == program["ada"]
        assert find_member(conn, PROGRAM, "nobody@example.org") is None
        assert find_member(conn, "other-program", ADA) is None


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def cli_env(engine, store_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_DB_URL", store_url)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    return engine


def test_erase_by_address_with_another_case_erases_and_never_prints_the_address(cli_env, program):
    result = runner.invoke(app, ["erase", str(SPEC), "--email", "Ada@EXAMPLE.org", "--yes"])
    assert result.exit_code == 0, result.output
    assert f"erased {program['ada']}:" in result.output
    assert "ada@" not in result.output.lower() and "Lovelace" not in result.output
    assert _found(cli_env, ADA, ADA_NAME) == []


def test_erase_deletes_the_eml_copies_of_and_naming_the_member(cli_env, program, tmp_path):
    folder = tmp_path / "outbox" / PROGRAM
    folder.mkdir(parents=True)
    own = folder / f"{PROGRAM}_c1_{program['ada']}_welcome_1.eml"
    naming = folder / "other_introduction.eml"
    unrelated = folder / "unrelated.eml"
    own.write_bytes(b"To: someone\n\nhello")
    naming.write_bytes(f"To: bob@example.org\n\nyour partner: {ADA}".encode())
    unrelated.write_bytes(b"To: bob@example.org\n\nhello")
    result = runner.invoke(app, ["erase", str(SPEC), "--member", program["ada"], "--yes"])
    assert result.exit_code == 0, result.output
    assert "deleted 2 .eml file(s)" in result.output
    assert not own.exists() and not naming.exists() and unrelated.exists()


def test_erase_asks_first_and_a_no_changes_nothing(cli_env, program):
    result = runner.invoke(app, ["erase", str(SPEC), "--member", program["ada"]], input="n\n")
    assert result.exit_code == 1
    assert f"Erase the personal data of {program['ada']} for good?" in result.output
    assert _found(cli_env, ADA) != []
    result = runner.invoke(app, ["erase", str(SPEC), "--member", program["ada"]], input="y\n")
    assert result.exit_code == 0 and _found(cli_env, ADA) == []


def test_erase_twice_says_so(cli_env, program):
    runner.invoke(app, ["erase", str(SPEC), "--member", program["ada"], "--yes"])
    result = runner.invoke(app, ["erase", str(SPEC), "--member", program["ada"], "--yes"])
    assert result.exit_code == 0
    assert f"{program['ada']} was erased before; nothing left to erase" in result.output


def test_unknown_id_or_address_is_one_clear_line_and_exit_1(cli_env, program):
    result = runner.invoke(app, ["erase", str(SPEC), "--member", "m_nobody", "--yes"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "no member m_nobody in program demo-mentoring"
    result = runner.invoke(app, ["erase", str(SPEC), "--email", "who@example.org", "--yes"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "no member with that address in program demo-mentoring"
    assert _found(cli_env, ADA) != []


def test_erase_needs_exactly_one_selector(cli_env):
    assert runner.invoke(app, ["erase", str(SPEC)]).exit_code == 2
    both = runner.invoke(app, ["erase", str(SPEC), "--member", "m_x", "--expired"])
    assert both.exit_code == 2 and "exactly one of" in both.stderr


# --- a form row without a member (issue 8) -------------------------------------------------


def _row_intake(engine: Engine, tmp_path: Path) -> None:
    # invalid_address_row.csv: row 3 is Erika, whose address has a comma: no member is made
    path = tmp_path / "one_to_one.csv"  # the source label of SPEC: csv:one_to_one.csv
    path.write_bytes((DATA / "invalid_address_row.csv").read_bytes())
    settings = intake_spec(path, program_id=PROGRAM)
    ingest(engine, read_csv(settings.intake.source), settings, INTAKE_CLOCK)


def test_erasing_a_member_clears_the_reasons_of_their_form_rows_too(engine, program):
    _erase(engine, program["ada"])
    rows = _rows(engine, intake_rows, intake_rows.c.outcome == "quarantined")
    assert [(r.raw, r.reasons) for r in rows] == [(None, ["row: erased"])]


def test_a_row_with_an_invalid_address_is_erased_by_its_sheet_row(cli_env, tmp_path):
    _row_intake(cli_env, tmp_path)
    assert _found(cli_env, "Erika", "example,org") == ["intake_rows.raw"]
    result = runner.invoke(app, ["erase", str(SPEC), "--row", "3", "--yes"])
    assert result.exit_code == 0, result.output
    assert "erased sheet row 3: cells and reasons of 1 stored copy(ies)" in result.output
    assert _found(cli_env, "Erika", "example,org") == []
    (row,) = _rows(cli_env, intake_rows, intake_rows.c.row_number == 3)
    assert (row.outcome, row.reasons, row.raw) == ("quarantined", ["row: erased"], None)
    logged = _rows(cli_env, events, events.c.kind == "intake_row.erased")
    assert [e.data for e in logged] == [
        {"source": "csv:one_to_one.csv", "row_number": 3, "copies": 1}
    ]


def test_a_row_of_a_member_points_to_erasing_the_person(cli_env, tmp_path):
    _row_intake(cli_env, tmp_path)
    result = runner.invoke(app, ["erase", str(SPEC), "--row", "2", "--yes"])
    assert result.exit_code == 0, result.output
    assert "sheet row 2 belongs to m_" in result.output and "--member" in result.output
    assert _found(cli_env, "Olga") != []


# --- retention ------------------------------------------------------------------------------


def _member_in(
    engine: Engine, member_id: str, cycles: list[CycleRef], enrolled: bool = True
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(members).values(
                id=member_id,
                program_id=PROGRAM,
                email=f"{member_id}@example.org",
                name=member_id,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        for cycle in cycles:
            if enrolled:
                conn.execute(
                    insert(enrolments).values(
                        cycle_id=cycle.id,
                        member_id=member_id,
                        role="mentee",
                        status="enrolled",
                        answers={"goals": ["x"]},
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
            else:  # a quarantined sign-up: a form row, no enrolment
                conn.execute(
                    insert(intake_rows).values(
                        cycle_id=cycle.id,
                        source="csv:form.csv",
                        row_number=2,
                        row_hash=member_id,
                        outcome="quarantined",
                        member_id=member_id,
                        reasons=["timezone: ?"],
                        raw={"cells": {"E-Mail-Adresse": f"{member_id}@example.org"}},
                        created_at=NOW,
                    )
                )


def _cycles(engine: Engine, *ends: date) -> list[CycleRef]:
    with engine.begin() as conn:
        ensure_program(conn, PROGRAM, "Demo", NOW)
        return [
            ensure_cycle(conn, PROGRAM, end.isoformat(), end - timedelta(weeks=12), end, NOW)
            for end in ends
        ]


def test_retention_erases_only_members_whose_every_cycle_is_past_it(engine):
    old, boundary, recent = _cycles(engine, date(2025, 1, 1), date(2025, 6, 1), date(2026, 1, 1))
    _member_in(engine, "m_old", [old])
    _member_in(engine, "m_fixless", [old], enrolled=False)
    _member_in(engine, "m_back", [old, recent])  # came back: their data is still in use
    _member_in(engine, "m_recent", [recent])
    _member_in(engine, "m_boundary", [boundary])  # ends 2025-06-01 + 365 days = 2026-06-01
    with engine.begin() as conn:
        assert expired_members(conn, PROGRAM, 365, date(2026, 5, 31)) == ["m_fixless", "m_old"]
        erased = erase_expired(conn, PROGRAM, 365, date(2026, 6, 1), now=NOW)
    assert erased == ["m_boundary", "m_fixless", "m_old"]
    assert _found(engine, *(f"{m}@example.org" for m in erased)) == []
    assert len(_found(engine, "m_back@example.org", "m_recent@example.org")) > 0
    with engine.begin() as conn:
        assert erase_expired(conn, PROGRAM, 365, date(2026, 6, 1), now=NOW) == []
    reasons = [e.data["reason"] for e in _rows(engine, events, events.c.kind == ERASED_EVENT)]
    assert reasons == ["retention"] * 3


def test_erase_expired_command_uses_the_specs_retention(cli_env):
    today = datetime.now(UTC).date()
    old, current = _cycles(cli_env, today - timedelta(days=400), today + timedelta(days=30))
    _member_in(cli_env, "m_old", [old])
    _member_in(cli_env, "m_now", [current])
    result = runner.invoke(app, ["erase", str(SPEC), "--expired", "--yes"])
    assert result.exit_code == 0, result.output
    assert "erased m_old:" in result.output
    assert "erased 1 member(s) past retention (365 days after cycle end)" in result.output
    assert _found(cli_env, "m_old@example.org") == []
    assert _found(cli_env, "m_now@example.org") != []
    again = runner.invoke(app, ["erase", str(SPEC), "--expired", "--yes"])
    assert "nobody past retention" in again.output
