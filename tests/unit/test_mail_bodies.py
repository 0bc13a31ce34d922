"""Mails rendered together store their shared text once (mail_stamps) and their own values per
row; what is sent, previewed and erased is exactly what rendering each mail alone gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mentorflow.clock import FixedClock
from mentorflow.mail.bodies import BODY_COLUMNS, Bodies
from mentorflow.mail.outbox import deliver_pending, enqueue_many, standard_context
from mentorflow.mail.sender import sender_for
from mentorflow.mail.templates import render
from mentorflow.store.erasure import ErasureReport, erase_member
from mentorflow.store.tables import mail_stamps, metadata, outbox
from tests.mail_support import NOW, PROGRAM, add_member, make_store, settings_for, smtp_settings
from tests.smtp_support import SmtpServer

CLOCK = FixedClock(NOW)
WELCOME = {"role": "mentee", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"}
PEOPLE = [  # names HTML escapes, braces str.format would read, accents
    ("m_zoe", "zoe@example.org", "Zoë Schäfer"),
    ("m_bo", "bo@example.org", "<Bo> {0} & Co"),
    ("m_kim", "kim@example.org", "Kim O'Neil"),
    ("m_ada", "ada@example.org", "Ada Lovelace"),
]


@pytest.fixture
def store(store_url):
    engine, cycle = make_store(store_url)
    yield engine, cycle
    engine.dispose()


def _add(engine, people, language="de") -> None:
    for member_id, email, name in people:
        add_member(engine, member_id, email, name, language)


def _queue(engine, cycle, settings, people, context=WELCOME) -> int:
    return enqueue_many(
        engine,
        settings=settings,
        cycle_id=cycle.id,
        cycle_label=cycle.label,
        purpose="welcome",
        template="welcome",
        mails=[(member_id, dict(context)) for member_id, *_ in people],
        clock=CLOCK,
    )


def _rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(outbox).order_by(outbox.c.id)).all()


def _bodies(engine) -> dict[str, tuple[str | None, str | None]]:
    with engine.connect() as conn:
        read = Bodies(conn)
        query = select(outbox.c.member_id, *BODY_COLUMNS).order_by(outbox.c.id)
        return {row.member_id: read.of(row) for row in conn.execute(query)}


def _alone(settings, cycle, row, name, context=WELCOME):
    """The mail `render` gives this member alone (its unsubscribe link read from the row)."""
    unsubscribe = row.headers["List-Unsubscribe"].strip("<>")
    full = standard_context(
        settings,
        member_id=row.member_id,
        name=name,
        cycle_label=cycle.label,
        unsubscribe=unsubscribe,
    )
    return render(
        "welcome",
        {**full, **context},
        language=row.language,
        default_language=settings.default_language,
        overrides=settings.spec.templates,
    )


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_a_batch_stores_its_shared_text_once_and_each_member_gets_the_mail_rendered_alone(
    store, tmp_path
):
    engine, cycle = store
    _add(engine, PEOPLE)
    server = SmtpServer()
    server.start()
    try:
        settings = settings_for(tmp_path, smtp=smtp_settings(server))
        assert _queue(engine, cycle, settings, PEOPLE) == 4
        rows = _rows(engine)
        assert {row.stamp_id for row in rows} != {None} and len({r.stamp_id for r in rows}) == 1
        assert all(row.text_body is None and row.html_body is None for row in rows)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(mail_stamps)).scalar_one() == 1
            pattern = conn.execute(select(mail_stamps.c.text_pattern)).scalar_one()
        assert all(name not in pattern for *_, name in PEOPLE)  # no member's own value in it
        names = {member_id: name for member_id, _, name in PEOPLE}
        stored = _bodies(engine)
        for row in rows:
            alone = _alone(settings, cycle, row, names[row.member_id])
            assert stored[row.member_id] == (alone.text, alone.html)
            assert row.subject == alone.subject
        report = deliver_pending(
            engine, settings=settings, sender=sender_for(settings), clock=CLOCK
        )
        assert report.sent == 4
        received = {str(m["To"]).rsplit("<", 1)[1].rstrip(">"): m for m in server.messages}
    finally:
        server.stop()
    for row in rows:
        text, html = _parts(received[row.to_addr])
        assert text.replace("\r\n", "\n") == stored[row.member_id][0]
        assert html.replace("\r\n", "\n").rstrip("\n") == (stored[row.member_id][1] or "").rstrip()


def test_preview_files_hold_the_same_text(store, tmp_path):
    from mentorflow.mail.outbox import preview_pending

    engine, cycle = store
    _add(engine, PEOPLE[:2], "en")
    settings = settings_for(tmp_path)
    _queue(engine, cycle, settings, PEOPLE[:2])
    assert preview_pending(engine, settings=settings, clock=CLOCK) == 2
    files = sorted((settings.outbox_dir / "preview").glob("*.eml"))
    assert len(files) == 2
    texts = "".join(f.read_text(encoding="utf-8", errors="replace") for f in files)
    assert "Hi Zo" in texts and "See you soon" in texts


def _everywhere(engine, needle: str) -> list[str]:
    """table.column where `needle` appears, case ignored, JSON read as stored."""
    found = set()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if needle.lower() in repr(value).lower():
                        found.add(f"{table.name}.{column}")
    return sorted(found)


def _erase(engine, member_id: str) -> ErasureReport:
    with engine.begin() as conn:
        return erase_member(conn, PROGRAM, member_id, NOW + timedelta(days=1), "request")


def test_erasing_a_member_clears_its_values_and_the_shared_text_goes_with_the_last(store, tmp_path):
    engine, cycle = store
    _add(engine, PEOPLE[:3])
    settings = settings_for(tmp_path)
    _queue(engine, cycle, settings, PEOPLE[:3])
    _erase(engine, "m_zoe")
    assert _everywhere(engine, "Schäfer") == []
    stored = _bodies(engine)
    assert stored["m_zoe"] == (None, None)
    assert "Hallo Kim" in (stored["m_kim"][0] or "") and "&lt;Bo&gt;" in (stored["m_bo"][1] or "")
    _erase(engine, "m_bo")
    _erase(engine, "m_kim")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(mail_stamps)).scalar_one() == 0


def _buddy_template(tmp_path: Path) -> dict[str, Path]:
    """A welcome naming another member: as a value put in (`buddy`) and in the shared text."""
    folder = tmp_path / "welcome"
    folder.mkdir()
    (folder / "de.subject.txt").write_text("Hallo {{ member.first_name }}")
    body = "Hallo {{ member.first_name }}, {{ buddy }} und {{ mentor|upper }} warten auf Dich."
    body += " Abmelden: {{ unsubscribe_url }}"  # a value of each member's own, as every mail has
    (folder / "de.txt").write_text(body)
    (folder / "de.html").write_text(f"<p>{body}</p>")
    return {"welcome": folder}


@pytest.mark.parametrize("where", ["buddy", "mentor"])
def test_erasure_finds_a_name_in_other_members_shared_mails(store, tmp_path, where):
    """Ada's name in mails to others, in their own values or in the text they share: cleared."""
    engine, cycle = store
    _add(engine, PEOPLE)
    base = settings_for(tmp_path)
    settings = replace(base, spec=replace(base.spec, templates=_buddy_template(tmp_path)))
    context = {"buddy": "Grace Hopper", "mentor": "Grace Hopper", where: "Ada Lovelace"}
    _queue(engine, cycle, settings, PEOPLE[:3], context)
    rows = _rows(engine)
    assert {row.stamp_id for row in rows} != {None}
    assert all(
        "Ada Lovelace".lower() in (text or "").lower() for text, _ in _bodies(engine).values()
    )
    report = _erase(engine, "m_ada")
    assert report.mentions_cleared == 3
    assert _everywhere(engine, "Ada Lovelace") == []
    assert {row.status for row in _rows(engine)} == {"suppressed"}
