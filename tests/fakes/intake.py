"""Builders for intake tests: a spec like a German Google Form's, and rows to write as CSV."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mentorflow.spec import model as m

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


def intake_spec(csv_path: Path, *, program_id: str = "demo", **changes: Any) -> m.ProgramSpec:
    """The typed spec intake reads; `changes` replace options of `spec.intake`."""
    intake = m.Intake(
        source=m.CsvSource(csv_path),
        closes=date(2027, 1, 25),
        form_url=None,
        timestamp_format="%d.%m.%Y %H:%M:%S",
        list_separator=",",
        columns=MappingProxyType(COLUMNS),
        values=MappingProxyType(
            {
                "role": {"Mentor:in": "mentor", "Mentee": "mentee", "beides": "both"},
                "language": {"Deutsch": "de", "Englisch": "en"},
            }
        ),
        consent=m.Consent("Einwilligung", ("Ja, ich stimme zu",), "2027-01"),
        screening=False,
        remind_fixable=False,
        fields=MappingProxyType({}),
    )
    return m.ProgramSpec(
        path=csv_path.parent / "spec.yaml",
        sha256="0" * 64,
        version=1,
        program=m.Program(program_id, "Demo-Mentoring", "de", "Europe/Berlin", ()),
        sender=m.Sender("Demo", "mentoring@example.org", None, None, None, 500, False),
        model=m.Model("one_to_one", None, None, (date(2027, 2, 1),)),
        cycle=m.Cycle(date(2027, 2, 1), timedelta(weeks=12)),
        intake=replace(intake, **changes),
        matching=m.Matching(
            objective="max_score",
            approval="automatic",
            capacity=m.Capacity("capacity", 1),
            seed=0,
            criteria=(),
            hard_rules=m.HardRules((), True),
        ),
        milestones=(),
        surveys=MappingProxyType({}),
        closure=m.Closure(recognition=False, badge=None, invite_alumni=False),
        retention=m.Retention(365),
        templates=MappingProxyType({}),
    )


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
