"""Builders for intake tests: settings like a German Google Form's, and rows to write as CSV."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from mentorflow.intake.settings import ConsentSettings, CsvSource, IntakeSettings

HEADER = [
    "Zeitstempel",
    "E-Mail-Adresse",
    "Name",
    "Rolle",
    "Sprache",
    "Zeitzone",
    "Wann hast du Zeit?",
    "Ziele",
    "Sprachen",
    "Kapazität",
    "Einwilligung",
]
COLUMNS = {
    "Zeitstempel": "submitted_at",
    "E-Mail-Adresse": "email",
    "Name": "name",
    "Rolle": "role",
    "Sprache": "language",
    "Zeitzone": "timezone",
    "Wann hast du Zeit?": "availability",
    "Ziele": "goals",
    "Sprachen": "languages",
    "Kapazität": "capacity",
}
YES = "Ja, ich stimme zu (Stand Januar 2027)"


def intake_settings(csv_path: Path, **changes: Any) -> IntakeSettings:
    base = IntakeSettings(
        program_id="demo",
        program_name="Demo-Mentoring",
        language="de",
        timezone="Europe/Berlin",
        cycle_label="2027-02-01",
        cycle_start=date(2027, 2, 1),
        cycle_end=date(2027, 4, 26),
        source=CsvSource(csv_path),
        columns=COLUMNS,
        values={
            "role": {"Mentor:in": "mentor", "Mentee": "mentee", "beides": "both"},
            "language": {"Deutsch": "de", "Englisch": "en"},
        },
        consent=ConsentSettings("Einwilligung", ("Ja, ich stimme zu",), "2027-01"),
        closes=date(2027, 1, 25),
        timestamp_format="%d.%m.%Y %H:%M:%S",
    )
    return replace(base, **changes)


def answer(
    email: str = "ada@example.org",
    *,
    at: str = "08.01.2027 22:38:39",
    name: str = "Ada Lovelace",
    role: str = "Mentor:in",
    language: str = "Deutsch",
    timezone: str = "Europe/Berlin",
    availability: str = "Mo 18-20, Mi 19-21",
    goals: str = "Karriere, Python",
    languages: str = "Deutsch, Englisch",
    capacity: str = "2",
    consent: str = YES,
) -> list[str]:
    """One form row in HEADER order; every answer can be changed by keyword."""
    return [
        at,
        email,
        name,
        role,
        language,
        timezone,
        availability,
        goals,
        languages,
        capacity,
        consent,
    ]


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",", bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path
