"""Closure through a real SMTP server: the mentor's closure mail arrives with the certificate PDF,
and the PDF, turned into an image with pdftoppm, shows the mentor's name.

What is checked about the image (there is no OCR here): the text layer names the mentor
(pdftotext), the PNG page has ink in the band where the name is printed, and a certificate for
another name differs from it in exactly that band, so the band is the name and not a fixed
decoration. Skipped when MENTORFLOW_PDFTOPPM_SKIP is set (poppler missing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mentorflow.clock import FixedClock
from mentorflow.closure.certificates import Certificate, render_pdf
from mentorflow.closure.run import close_cycle
from mentorflow.mail.outbox import deliver_pending
from mentorflow.mail.sender import sender_for
from mentorflow.store.tables import members
from tests.engagement_support import Person, setup_program
from tests.engagement_support import settings as mail_settings
from tests.mail_support import smtp_settings

NAME = "Zoë Łukasiewicz-Öztürk"
END = datetime(2027, 5, 24, 9, 30, tzinfo=UTC)
MENTOR = Person("m_mentor000001", "mentor", "Europe/Berlin")
MENTEE = Person("m_mentee000001", "mentee", "Europe/Berlin")

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("MENTORFLOW_PDFTOPPM_SKIP")) or shutil.which("pdftoppm") is None,
    reason=os.environ.get("MENTORFLOW_PDFTOPPM_SKIP")
    or "pdftoppm (poppler-utils) is not installed",
)


def _png(pdf: bytes, folder: Path, stem: str):  # type: ignore[no-untyped-def]
    import matplotlib.image

    (folder / f"{stem}.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "50",
            "-singlefile",
            str(folder / f"{stem}.pdf"),
            str(folder / stem),
        ],
        check=True,
    )
    return matplotlib.image.imread(folder / f"{stem}.png")[..., :3].mean(axis=2)  # 0 black, 1 white


def test_the_closure_mail_arrives_with_a_certificate_naming_the_mentor(
    smtp_server, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    engine, spec, _ = setup_program(
        f"sqlite:///{tmp_path}/c.db", "../issue11/closure.yaml", [(MENTOR, MENTEE)]
    )
    with engine.begin() as conn:
        conn.execute(members.update().where(members.c.id == MENTOR.id).values(name=NAME))
    server, login = smtp_settings(smtp_server)
    base = mail_settings(spec, tmp_path)
    settings = replace(
        base, spec=replace(spec, sender=replace(spec.sender, smtp=server)), login=login
    )
    close_cycle(engine, spec, settings, END)
    report = deliver_pending(
        engine, settings=settings, sender=sender_for(settings), clock=FixedClock(END)
    )
    assert report.sent == 3  # two closure mails and one alumni invitation
    (mail,) = [m for m in smtp_server.to(f"{MENTOR.id}@example.org")]
    assert "thank you" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "your certificate is attached" in body and "/survey/" in body
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{MENTOR.id}.pdf"  # ids, not the name, in the file name
    pdf = attachment.get_content()
    assert pdf.startswith(b"%PDF")

    (tmp_path / "cert.pdf").write_bytes(pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "cert.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert NAME in text and "Closure Mentoring" in text

    page = _png(pdf, tmp_path, "received")
    other = Certificate(
        MENTOR.id,
        "A B",
        "en",
        spec.program.name,
        spec.cycle.start,
        spec.cycle.end,
        1,
        0,
        spec.closure.badge,
    )
    differs = abs(page - _png(render_pdf(other), tmp_path, "other")) > 0.2
    rows = differs.any(axis=1).nonzero()[0]
    height = page.shape[0]
    assert rows.size, "the name changes nothing on the page"
    # the name line sits about a third down the landscape page; nothing else changes
    assert rows.min() / height > 0.25 and rows.max() / height < 0.5
    band = page[rows.min() : rows.max() + 1]
    assert (band < 0.5).mean() > 0.01  # ink where the name is
