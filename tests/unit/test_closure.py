"""Closure (issue 11): the cycle closes once, mails go once, the exit survey is sent once,
mentors get their figures and certificate, mentees' yes to mentoring reaches the next intake."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from mentorflow.closure import alumni
from mentorflow.closure.certificates import certificate_path
from mentorflow.closure.run import close_cycle, close_ended_pairs
from mentorflow.engagement import links
from mentorflow.engagement import run as tick
from mentorflow.store.tables import (
    checkins,
    cycles,
    engagement_skips,
    enrolments,
    events,
    matches,
    members,
    outbox,
)
from mentorflow.web import create_app
from tests.engagement_support import Person, setup_program
from tests.engagement_support import settings as mail_settings
from tests.survey_support import client

SPEC = "../issue11/closure.yaml"
MENTOR = Person("m_mentor000001", "mentor", "Europe/Berlin")
MENTEE = Person("m_mentee000001", "mentee", "Europe/Berlin")
MENTOR2 = Person("m_mentor000002", "mentor", "Europe/Berlin")
MENTEE2 = Person("m_mentee000002", "mentee", "Europe/Berlin")
END = datetime(2027, 5, 24, 9, 30, tzinfo=UTC)  # the last day, inside the send window


@pytest.fixture
def program(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    engine, spec, cycle_id = setup_program(
        f"sqlite:///{tmp_path}/c.db", SPEC, [(MENTOR, MENTEE), (MENTOR2, MENTEE2)]
    )
    return engine, spec, cycle_id, mail_settings(spec, tmp_path)


def _met(engine, cycle_id: int, match_id: str, member_id: str, occurrence: str) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            insert(checkins).values(
                cycle_id=cycle_id,
                match_id=match_id,
                member_id=member_id,
                occurrence=occurrence,
                answer="met",
                answered_at=END - timedelta(days=30),
            )
        )


def _rows(engine, **where: str) -> list:  # type: ignore[no-untyped-def]
    query = select(outbox)
    for name, value in where.items():
        query = query.where(outbox.c[name] == value)
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(outbox.c.key)))


def test_nothing_happens_before_the_last_day(program) -> None:  # type: ignore[no-untyped-def]
    engine, spec, _, settings = program
    summary = close_cycle(engine, spec, settings, END - timedelta(days=1))
    assert summary.not_due == "the cycle ends on 2027-05-24"
    assert _rows(engine, purpose="closure") == []


def test_closure_ends_pairs_closes_the_cycle_and_mails_everyone_once(program) -> None:  # type: ignore[no-untyped-def]
    engine, spec, cycle_id, settings = program
    _met(engine, cycle_id, "p_001", MENTOR.id, "checkin-1")
    _met(engine, cycle_id, "p_001", MENTEE.id, "checkin-1")  # the same meeting: counts once
    _met(engine, cycle_id, "p_001", MENTEE.id, "checkin-2")
    first = close_cycle(engine, spec, settings, END)
    assert first.cycle_closed and first.pairs_ended == 2
    assert first.counts()["closure_mails"] == 4
    assert first.counts()["alumni_invited"] == 2
    assert first.certificates == 2
    assert first.exit_links == 4
    with engine.connect() as conn:
        cycle = conn.execute(select(cycles).where(cycles.c.id == cycle_id)).one()
        reasons = set(conn.execute(select(matches.c.end_reason)).scalars())
    assert cycle.status == "closed" and cycle.closed_at is not None
    assert reasons == {"cycle closed"}
    mentor_mail = _rows(engine, purpose="closure", member_id=MENTOR.id)[0]
    assert "mentored 1 mentee(s)" in mentor_mail.text_body
    assert "2 meetings" in mentor_mail.text_body  # checkin-1 (both answered) + checkin-2
    assert "/survey/" in mentor_mail.text_body
    assert "A last meeting: Meet once more and plan your next step together." in (
        mentor_mail.text_body
    )
    assert mentor_mail.attachments == [f"certificates/closure-2027/2027-03-01/{MENTOR.id}.pdf"]
    mentee_mail = _rows(engine, purpose="closure", member_id=MENTEE.id)[0]
    assert "mentored" not in mentee_mail.text_body and mentee_mail.attachments is None
    again = close_cycle(engine, spec, settings, END + timedelta(hours=5))
    assert again.already_closed and not again.cycle_closed
    assert again.counts()["closure_mails"] == 0 and again.certificates == 0
    assert len(_rows(engine, purpose="closure")) == 4
    assert len(_rows(engine, purpose="alumni_invitation")) == 2


def test_the_exit_survey_goes_once_and_only_its_nudges_follow(program) -> None:  # type: ignore[no-untyped-def]
    engine, spec, _, settings = program
    tick.run_tick(engine, spec, settings, END)  # the tick closes the cycle on its last day
    assert len(_rows(engine, purpose="closure")) == 4
    assert _rows(engine, purpose="survey") == []  # the invitation went with the closure mail
    with engine.connect() as conn:
        carried = conn.execute(
            select(func.count()).where(engagement_skips.c.reason == "closure")
        ).scalar_one()
    assert carried == 4
    for day in range(1, 12):  # every hour-ish tick after closure for eleven days
        tick.run_tick(engine, spec, settings, END + timedelta(days=day))
    purposes = {row.purpose for row in _rows(engine) if row.member_id}
    assert purposes == {"closure", "alumni_invitation", "survey_nudge"}
    assert len(_rows(engine, purpose="survey_nudge")) == 4  # max_nudges: 1, per member


def test_a_pair_that_ended_early_gets_its_closure_mail_once(program) -> None:  # type: ignore[no-untyped-def]
    engine, spec, _, settings = program
    with engine.begin() as conn:
        conn.execute(
            matches.update()
            .where(matches.c.id == "p_002")
            .values(status="ended", ended_at=END - timedelta(days=20), end_reason="left")
        )
    moment = END - timedelta(days=19)
    assert close_ended_pairs(engine, spec, settings, moment).queued["closure"] == 2
    assert close_ended_pairs(engine, spec, settings, moment).queued["closure"] == 0
    row = _rows(engine, purpose="closure", member_id=MENTEE2.id)[0]
    assert row.key.endswith(":closure:p_002")
    assert "before the end of the cycle" in row.text_body
    assert "A last meeting" not in row.text_body  # the pair is over: no meeting to plan


def test_alumni_yes_is_recorded_once_and_carried_into_the_next_cycle(program, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine, spec, cycle_id, settings = program
    close_cycle(engine, spec, settings, END)
    app = create_app(engine)
    web = client(app)
    yes = links.alumni_url("", MENTEE.id, spec.cycle.label, "yes")
    no = links.alumni_url("", MENTEE2.id, spec.cycle.label, "no")
    assert "count me in" in web.get(yes).text
    with engine.connect() as conn:  # GET changes nothing (mail scanners open links)
        assert alumni.answer_of(conn, cycle_id, MENTEE.id) is None
    assert "noted you down" in web.post(yes, data={"confirm": "yes"}).text
    assert "already" in web.post(yes, data={"confirm": "yes"}).text
    web.post(no, data={"confirm": "yes"})
    forged = links.alumni_url("", MENTOR.id, spec.cycle.label, "yes")  # never invited
    assert web.post(forged, data={"confirm": "yes"}).status_code == 400
    with engine.connect() as conn:
        found = conn.execute(
            select(events.c.member_id, events.c.cycle_id, events.c.data).where(
                events.c.kind == "alumni_answer"
            )
        ).all()
    assert sorted((r.member_id, r.cycle_id, r.data["answer"]) for r in found) == [
        (MENTEE.id, cycle_id, "yes"),
        (MENTEE2.id, cycle_id, "no"),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(cycles).values(
                program_id=spec.program.id,
                label="2027-09-01",
                starts_on=datetime(2027, 9, 1).date(),
                ends_on=datetime(2027, 11, 24).date(),
                status="intake",
                created_at=END,
            )
        )
        nxt = conn.execute(select(cycles.c.id).where(cycles.c.label == "2027-09-01")).scalar()
        assert alumni.carry_alumni(conn, spec.program.id, nxt, END) == [MENTEE.id]
        assert alumni.carry_alumni(conn, spec.program.id, nxt, END) == []
        row = conn.execute(select(enrolments).where(enrolments.c.cycle_id == nxt)).one()
    assert (row.member_id, row.role, row.status) == (MENTEE.id, "mentor", "pending_consent")


@pytest.mark.skipif(
    not Path("/usr/bin/pdftotext").exists(), reason="pdftotext (poppler) is not installed"
)
def test_the_certificate_names_the_mentor_with_unicode(program) -> None:  # type: ignore[no-untyped-def]
    engine, spec, _, settings = program
    with engine.begin() as conn:
        conn.execute(
            members.update().where(members.c.id == MENTOR.id).values(name="Zoë Łukasiewicz-Öztürk")
        )
    close_cycle(engine, spec, settings, END)
    path = certificate_path(spec.program.id, spec.cycle.label, MENTOR.id)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Zoë Łukasiewicz-Öztürk" in text
    assert "Closure Mentoring" in text and "Mentees accompanied: 1" in text
    assert "1 March 2027" in text and "24 May 2027" in text


def test_nobody_who_left_is_written_to(program) -> None:  # type: ignore[no-untyped-def]
    from mentorflow.store.tables import member_pauses

    engine, spec, cycle_id, settings = program
    with engine.begin() as conn:
        conn.execute(
            insert(member_pauses).values(
                cycle_id=cycle_id,
                member_id=MENTEE2.id,
                kind="leave",
                starts_at=END - timedelta(days=2),
                reason="no_time",
                created_at=END,
            )
        )
    summary = close_cycle(engine, spec, settings, END)
    assert summary.skipped == {"left": 1}
    assert _rows(engine, member_id=MENTEE2.id) == []


def test_export_lists_one_members_data_and_certificates(program) -> None:  # type: ignore[no-untyped-def]
    import json

    from mentorflow.closure.protection import export_json

    engine, spec, _, settings = program
    close_cycle(engine, spec, settings, END)
    found = json.loads(export_json(engine, spec.program.id, MENTOR.id))
    assert found["member"]["email"] == f"{MENTOR.id}@example.org"
    assert [m["id"] for m in found["matches"]] == ["p_001"]
    assert {m["purpose"] for m in found["mails"]} == {"closure"}
    assert found["certificates"][0].endswith(f"/2027-03-01/{MENTOR.id}.pdf")
    assert MENTEE2.id not in json.dumps(found)  # nobody else's data


def test_erasure_after_closure_leaves_no_name_or_address(program, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mentorflow.closure.protection import erase_files
    from mentorflow.paths import home
    from mentorflow.store.erasure import erase_member

    engine, spec, _, settings = program
    with engine.begin() as conn:
        conn.execute(members.update().where(members.c.id == MENTOR.id).values(name="Ada Quist"))
    close_cycle(engine, spec, settings, END)
    with engine.begin() as conn:
        erase_member(conn, spec.program.id, MENTOR.id, END, "request")
    erase_files(spec.program.id, MENTOR.id, f"{MENTOR.id}@example.org")
    needles = ("Ada Quist", f"{MENTOR.id}@example.org")
    with engine.connect() as conn:  # every text of every table
        from mentorflow.store.tables import metadata

        tables = metadata.sorted_tables
        dump = "".join(str(tuple(r)) for t in tables for r in conn.execute(select(t)))
    assert not any(n in dump for n in needles)
    files = [p for p in home().rglob("*") if p.is_file()]
    assert not any(MENTOR.id in p.name for p in files)  # the certificate is gone
    for path in files:
        data = path.read_bytes()
        assert not any(n.encode() in data for n in needles), path


def test_retention_erases_the_closed_cycle_and_its_certificates_when_due(program) -> None:  # type: ignore[no-untyped-def]
    from mentorflow.closure.protection import run_retention

    engine, spec, _, settings = program
    close_cycle(engine, spec, settings, END)
    path = certificate_path(spec.program.id, spec.cycle.label, MENTOR.id)
    assert path.is_file()
    day_before = spec.retention.erase_on(spec.cycle) - timedelta(days=1)
    assert run_retention(engine, spec.program.id, 365, day_before, END) == []
    assert path.is_file()
    erased = run_retention(engine, spec.program.id, 365, spec.retention.erase_on(spec.cycle), END)
    assert sorted(erased) == sorted([MENTOR.id, MENTEE.id, MENTOR2.id, MENTEE2.id])
    assert not path.exists()
    with engine.connect() as conn:
        assert (
            conn.execute(select(members.c.email).where(members.c.id == MENTOR.id)).scalar() is None
        )
        assert set(conn.execute(select(outbox.c.attachments)).scalars()) == {None}


def test_certificates_off_keeps_the_figures_and_makes_no_file(program) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    engine, spec, _, settings = program
    spec = replace(spec, closure=replace(spec.closure, certificates=False))
    settings = replace(settings, spec=spec)
    summary = close_cycle(engine, spec, settings, END)
    assert summary.certificates == 0
    assert not certificate_path(spec.program.id, spec.cycle.label, MENTOR.id).exists()
    mail = _rows(engine, purpose="closure", member_id=MENTOR.id)[0]
    assert "mentored 1 mentee(s)" in mail.text_body and "attached" not in mail.text_body
    assert mail.attachments is None


def test_a_rotational_round_change_sends_each_member_a_round_closure_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    people = [
        Person(f"m_{r}{n}", r, "UTC", "en", ("Tue 18:00-20:00",), (42, 43))
        for n in (1, 2)
        for r in ("mentor", "mentee")
    ]
    pairs = [(people[0], people[1]), (people[2], people[3])]
    engine, spec, _ = setup_program(f"sqlite:///{tmp_path / 's.db'}", "rotation.yaml", pairs)
    mail = mail_settings(spec, tmp_path)
    first = tick.run_tick(engine, spec, mail, datetime(2027, 3, 15, 9, tzinfo=UTC))
    tick.run_tick(engine, spec, mail, datetime(2027, 3, 15, 10, tzinfo=UTC))
    rows = _rows(engine, purpose="closure")
    assert first.closure["closure_mails"] == 4
    assert sorted(r.key.split(":", 3)[3] for r in rows) == sorted(
        f"closure:{pair}" for pair in ("p_001", "p_002") for _ in range(2)
    )
    assert all("this round" in r.text_body and "A last meeting" in r.text_body for r in rows)


def test_both_message_builders_attach_the_certificate_the_same_way() -> None:
    from email import message_from_bytes, policy

    from mentorflow.mail.message import (
        Attachment,
        OutgoingMail,
        build_message,
        fast_wire_bytes,
        wire_bytes,
    )

    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 20
    mail = OutgoingMail(
        "k", "<a@b>", "From", "f@x.org", "t@x.org", "Zoë", "Dänke", "text ü", "<p>h</p>",
        headers={"Reply-To": "r@x.org"}, attachments=(Attachment("m_x.pdf", pdf),),
    )  # fmt: skip
    parsed = [
        message_from_bytes(raw.replace(b"\r\n..", b"\r\n."), policy=policy.default)
        for raw in (fast_wire_bytes(mail), wire_bytes(build_message(mail)))
    ]
    for message in parsed:
        assert [p.get_content_type() for p in message.walk()] == [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "application/pdf",
        ]
        assert message.get_body(("plain",)).get_content().strip() == "text ü"
        (attached,) = message.iter_attachments()
        assert (attached.get_filename(), attached.get_content()) == ("m_x.pdf", pdf)
