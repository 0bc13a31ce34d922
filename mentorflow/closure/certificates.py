"""Mentor certificates as PDF files (fpdf2), one per mentor and cycle, under MENTORFLOW_HOME.

`home()/certificates/<program id>/<cycle label>/<member id>.pdf`: the path names ids only; the
file names the person and is deleted when the member is erased (`erase_certificates`). The text
uses DejaVu Sans, the font matplotlib ships, so any name in Unicode prints.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from mentorflow.mail.templates import format_date
from mentorflow.paths import home

FOLDER = "certificates"

TEXTS = {
    "en": {
        "title": "Certificate of mentoring",
        "intro": "This certifies that",
        "body": "mentored in {program} from {start} to {end}.",
        "mentees": "Mentees accompanied: {count}",
        "meetings": "Meetings held (check-ins answered 'we met'): {count}",
        "badge": "Badge: {badge}",
        "thanks": "Thank you for your time and care.",
    },
    "de": {
        "title": "Mentoring-Urkunde",
        "intro": "Hiermit bestätigen wir, dass",
        "body": "von {start} bis {end} bei {program} als Mentor:in mitgewirkt hat.",
        "mentees": "Begleitete Mentees: {count}",
        "meetings": "Treffen (Check-ins mit „wir haben uns getroffen“): {count}",
        "badge": "Abzeichen: {badge}",
        "thanks": "Danke für Deine Zeit und Dein Engagement.",
    },
}


@dataclass(frozen=True)
class Certificate:
    """What one certificate says; `name` is personal data (never logged)."""

    member_id: str
    name: str
    language: str
    program_name: str
    starts_on: date
    ends_on: date
    mentees: int
    meetings: int
    badge: str | None = None


def certificate_path(program_id: str, cycle_label: str, member_id: str) -> Path:
    return home() / FOLDER / program_id / cycle_label / f"{member_id}.pdf"


def relative(path: Path) -> str:
    """The path as the outbox stores it: relative to MENTORFLOW_HOME."""
    return path.relative_to(home()).as_posix()


@lru_cache(maxsize=1)
def font_file() -> Path:
    """matplotlib's bundled DejaVu Sans, found without importing matplotlib (about a second)."""
    found = importlib.util.find_spec("matplotlib")
    for folder in (found.submodule_search_locations or []) if found else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return path
    import matplotlib  # an unusual layout: ask matplotlib itself

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def render_pdf(cert: Certificate) -> bytes:
    """The certificate as PDF bytes: one A4 landscape page."""
    from fpdf import FPDF

    texts = TEXTS.get(cert.language, TEXTS["en"])
    lang = cert.language if cert.language in TEXTS else "en"
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title(texts["title"])
    pdf.set_creator("mentorflow")
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(font_file()))
    pdf.set_draw_color(91, 75, 219)
    pdf.set_line_width(1.5)
    pdf.rect(12, 12, pdf.w - 24, pdf.h - 24)

    def line(text: str, size: int, height: float) -> None:
        pdf.set_font("DejaVu", size=size)
        pdf.multi_cell(0, height, text, align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(35)
    line(texts["title"], 30, 16)
    pdf.ln(8)
    line(texts["intro"], 14, 8)
    pdf.ln(2)
    line(cert.name, 28, 16)
    pdf.ln(2)
    period = {"start": format_date(cert.starts_on, lang), "end": format_date(cert.ends_on, lang)}
    line(texts["body"].format(program=cert.program_name, **period), 14, 8)
    pdf.ln(6)
    line(texts["mentees"].format(count=cert.mentees), 13, 8)
    line(texts["meetings"].format(count=cert.meetings), 13, 8)
    if cert.badge:
        line(texts["badge"].format(badge=cert.badge), 13, 8)
    pdf.ln(8)
    line(texts["thanks"], 13, 8)
    return bytes(pdf.output())


def write_certificate(program_id: str, cycle_label: str, cert: Certificate) -> tuple[Path, bool]:
    """(path, made now): an existing file is kept, so closing again makes nothing twice."""
    path = certificate_path(program_id, cycle_label, cert.member_id)
    if path.is_file():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_bytes(render_pdf(cert))
    temp.replace(path)  # never a half-written certificate under the final name
    return path, True
