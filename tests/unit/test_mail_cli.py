"""`mentorflow preview` and `mentorflow send` as an organizer uses them."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from typer.testing import CliRunner

from mentorflow.cli.main import app
from mentorflow.clock import FixedClock
from mentorflow.mail.outbox import enqueue
from mentorflow.mail.settings import mail_runtime
from mentorflow.spec import load_spec
from mentorflow.store.repo import ensure_cycle, ensure_program
from tests.mail_support import NOW, add_member, make_store

SPEC = Path(__file__).resolve().parents[2] / "program_specs" / "one_to_one.yaml"
runner = CliRunner()


def test_preview_shows_subject_text_and_the_html_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    result = runner.invoke(app, ["preview", str(SPEC), "introduction", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Subject: Demo-Mentoring Berlin: meet Jürgen Müller" in result.output
    assert "Why you were matched:" in result.output
    assert "1. What you hope to get out of the twelve weeks" in result.output
    html = Path(result.output.strip().splitlines()[-1].removeprefix("HTML: "))
    assert html.is_file() and "<h3" in html.read_text()


def test_preview_names_an_unknown_template(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    result = runner.invoke(app, ["preview", str(SPEC), "nope"])
    assert result.exit_code == 1 and "nope" in result.output


def test_preview_suggests_the_template_meant(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    result = runner.invoke(app, ["preview", str(SPEC), "introdution"])
    assert result.exit_code == 1
    assert "unknown template `introdution`: did you mean `introduction`?" in result.stderr


def test_preview_refuses_a_language_it_has_no_templates_for(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    result = runner.invoke(app, ["preview", str(SPEC), "introduction", "--lang", "fr"])
    assert result.exit_code == 2
    assert "'fr' is not one of 'de', 'en'" in result.stderr
    assert "Subject:" not in result.output


def test_preview_shows_the_check_in_time_in_the_programs_time_zone(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    result = runner.invoke(app, ["preview", str(SPEC), "check_in", "--lang", "de"])
    assert result.exit_code == 0, result.output
    assert "16. Februar 2027, 18:00 Uhr (CET)" in result.output  # 17:00 UTC in Europe/Berlin


def test_send_without_smtp_writes_eml_files_once_and_says_none_was_sent(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    spec = load_spec(SPEC)
    settings = mail_runtime(spec)
    engine, _ = make_store(url)
    with engine.begin() as conn:
        ensure_program(conn, spec.program.id, spec.program.name, NOW)
        cycle = ensure_cycle(
            conn, spec.program.id, "2027-1", spec.cycle.start, spec.cycle.start, NOW
        )
    add_member(engine, "m_zoe", "zoe@example.org", "Zoë Schäfer", "de")
    enqueue(
        engine,
        settings=settings,
        cycle_id=cycle.id,
        cycle_label="2027-1",
        member_id="m_zoe",
        purpose="welcome",
        template="welcome",
        clock=FixedClock(NOW),
        context={"role": "mentor", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"},
    )
    dry = runner.invoke(app, ["send", str(SPEC), "--dry-run"])
    assert dry.exit_code == 0 and "1 due mail(s) written" in dry.output
    assert "none sent, all still pending" in dry.output
    first = runner.invoke(app, ["send", str(SPEC)])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(
        "1 mail written as files, none sent (no sender.smtp in the spec)"
    )
    assert f"mentorflow outbox {SPEC} --requeue-files" in first.output
    again = runner.invoke(app, ["send", str(SPEC)])
    assert again.output.startswith("0 mails written as files, none sent")
    (eml,) = (tmp_path / "outbox" / "demo-mentoring").glob("*.eml")
    mail = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert mail["Subject"] == "Willkommen bei Demo-Mentoring Berlin, Zoë!"
    assert "als Mentor:in" in mail.get_body(("plain",)).get_content()
