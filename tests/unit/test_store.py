"""The store on SQLite and PostgreSQL: migrations, constraints and round trips."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from mentorflow.store import repo
from mentorflow.store.bulk import insert_many
from mentorflow.store.db import migrate, open_store
from mentorflow.store.tables import enrolments, events, members, metadata, outbox

NOW = datetime(2027, 1, 8, 21, 38, 39, tzinfo=UTC)


def _member(conn, program_id: str, email: str) -> str:
    member_id = repo.new_member_id()
    conn.execute(
        insert(members).values(
            id=member_id,
            program_id=program_id,
            email=email,
            name="Jürgen Groß",
            language="de",
            timezone="Europe/Berlin",
            consent_at=NOW,
            consent_version="2027-01",
            created_at=NOW,
            updated_at=NOW,
        )
    )
    return member_id


@pytest.fixture
def engine(store_url):
    engine = open_store(store_url)
    yield engine
    engine.dispose()


def test_migrations_create_every_table_and_are_idempotent(engine):
    migrate(engine)  # a second run changes nothing and does not fail
    names = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= names
    assert "alembic_version" in names


def test_cycle_is_created_once_per_label(engine):
    with engine.begin() as conn:
        repo.ensure_program(conn, "demo", "Demo", NOW)
        first = repo.ensure_cycle(conn, "demo", "2027-02", date(2027, 2, 1), date(2027, 4, 26), NOW)
        again = repo.ensure_cycle(conn, "demo", "2027-02", date(2027, 2, 1), date(2027, 4, 26), NOW)
    assert first == again
    assert first.status == "intake"
    assert first.ends_on == date(2027, 4, 26)


def test_one_member_per_email_and_program(engine):
    with engine.begin() as conn:
        repo.ensure_program(conn, "demo", "Demo", NOW)
        _member(conn, "demo", "ada@example.org")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _member(conn, "demo", "ada@example.org")


def test_outbox_key_is_unique_forever(engine):
    row = dict(
        key="demo:2027-02:m_x:welcome:1",
        program_id="demo",
        purpose="welcome",
        template="welcome",
        language="de",
        headers={},
        status="pending",
        created_at=NOW,
        updated_at=NOW,
    )
    with engine.begin() as conn:
        repo.ensure_program(conn, "demo", "Demo", NOW)
        conn.execute(insert(outbox).values(**row))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(outbox).values(**row))


def test_answers_umlauts_and_aware_times_round_trip(engine):
    answers = {"goals": ["Python", "Öffentlichkeitsarbeit"], "seniority": 3, "capacity": 2}
    with engine.begin() as conn:
        repo.ensure_program(conn, "demo", "Demo", NOW)
        cycle = repo.ensure_cycle(conn, "demo", "c1", date(2027, 2, 1), date(2027, 3, 1), NOW)
        member_id = _member(conn, "demo", "jurgen@example.org")
        conn.execute(
            insert(enrolments).values(
                cycle_id=cycle.id,
                member_id=member_id,
                role="mentor",
                status="enrolled",
                answers=answers,
                capacity=2,
                submitted_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        repo.log_event(
            conn,
            program_id="demo",
            kind="intake.accepted",
            at=NOW,
            member_id=member_id,
            data={"row": 2},
        )
    with engine.connect() as conn:
        stored = conn.execute(select(enrolments.c.answers)).scalar_one()
        member = conn.execute(select(members)).one()
        event = conn.execute(select(events)).one()
    assert stored == answers
    assert member.name == "Jürgen Groß"
    assert member.consent_at.replace(tzinfo=member.consent_at.tzinfo or UTC) == NOW
    assert event.data == {"row": 2}
    with engine.connect() as conn:
        contact = repo.member_contact(conn, member_id)
    assert contact == ("jurgen@example.org", "Jürgen Groß", "de")


def test_json_is_stored_compact_and_reads_the_same_as_the_spaced_form(engine):
    data = {"answers": {"goals": ["Führung", "Python"], "utc_offset": 5.5}, "reasons": []}
    with engine.begin() as conn:
        repo.ensure_program(conn, "demo", "Demo", NOW)
        insert_many(conn, events, [_event(data)])
    before = create_engine(engine.url)  # JSON as written before it went compact: `json.dumps`
    with before.begin() as conn:
        conn.execute(insert(events).values(_event(data)))
    before.dispose()
    with engine.connect() as conn:
        stored = [row.data for row in conn.execute(select(events).order_by(events.c.id))]
        texts = conn.execute(text("SELECT CAST(data AS TEXT) FROM events ORDER BY id")).scalars()
        assert list(texts) == [
            '{"answers":{"goals":["F\\u00fchrung","Python"],"utc_offset":5.5},"reasons":[]}',
            json.dumps(data),
        ]
    assert stored == [data, data]


def _event(data: dict) -> dict:
    return {"program_id": "demo", "kind": "test", "data": data, "at": NOW}


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(enrolments).values(
                cycle_id=999,
                member_id="m_missing",
                role="mentee",
                status="enrolled",
                answers={},
                capacity=1,
                created_at=NOW,
                updated_at=NOW,
            )
        )


def test_default_url_follows_the_environment(monkeypatch, tmp_path):
    from mentorflow.store.db import default_url

    monkeypatch.delenv("MENTORFLOW_DB_URL", raising=False)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    assert default_url() == f"sqlite:///{tmp_path / 'mentorflow.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", "postgresql://u:p@db/x")
    assert default_url() == "postgresql://u:p@db/x"
