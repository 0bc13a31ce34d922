"""Realistic sample data for every template: what `mentorflow preview` renders, and its docs.

Each entry lists the variables a stage must pass to `enqueue` for that template (on top of the
standard ones: member, program, cycle_label, base_url, contact_email, unsubscribe_url).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

_PARTNER = {"name": "Jürgen Müller", "email": "juergen@example.org", "role": "mentor"}


_ENGLISH: dict[str, dict[str, Any]] = {
    "fix_signup": {
        "reasons": [
            'time zone "Berlin" is not an IANA time zone (e.g. Europe/Berlin)',
            'availability "evenings" is not a time slot like "Mon 18-20"',
        ]
    },
    "introduction": {
        "why": [
            "You both want to contribute to open source (shared goals: 2 of 3)",
            "Jürgen offers code review and API design, exactly what you are looking for",
            "You are both free on Tuesday evenings (3 shared hours a week)",
        ],
        "meeting": {
            "cadence": "one hour every two weeks, by video or in a café",
            "topics": [
                "What you hope to get out of the twelve weeks",
                "A first small issue you can work on",
                "How you keep in touch between meetings",
            ],
            "success": "your first merged pull request in a project of your choice",
        },
    },
    "kickoff": {"cadence": "one hour every two weeks"},
    "reminder": {"topic": "your next meeting is not scheduled yet"},
    "survey_invitation": {"survey_name": "Midpoint"},
    "survey_nudge": {"survey_name": "Midpoint"},
    "closure": {
        "recognition": {"mentees": 2, "meetings": 11, "badge": "Mentor 2027", "certificate": True},
        "reflection": ("What did you set out to do?", "What will you take with you?"),
    },
    "organizer_digest": {
        "period": "week 7",
        "counts": {"Active pairs": 42, "Check-ins answered": 35, "Bounces": 1},
        "attention": ["2 pairs have not reported a meeting for three weeks"],
    },
}


def sample_context(
    template: str,
    base_url: str = "http://127.0.0.1:8000",
    language: str = "de",
    timezone: str = "UTC",
) -> dict[str, Any]:
    """Template-specific sample variables (an empty dict for unknown templates).

    The check-in time is shown in `timezone`, the program's time zone.
    """
    samples: dict[str, dict[str, Any]] = {
        "welcome": {
            "role": "mentee",
            "intake_closes": date(2027, 1, 25),
            "cycle_starts": date(2027, 2, 1),
        },
        "not_enrolled": {"intake_closes": date(2027, 1, 25), "signup_url": f"{base_url}/signup"},
        "fix_signup": {
            "reasons": [
                "Zeitzone „Berlin“ ist keine IANA-Zeitzone (z. B. Europe/Berlin)",
                "Verfügbarkeit „abends“ ist kein Zeitfenster wie „Mo 18-20“",
            ],
            "intake_closes": date(2027, 1, 25),
            "signup_url": f"{base_url}/signup",
        },
        "introduction": {
            "role": "mentee",
            "partners": [_PARTNER],
            "why": [
                "Ihr wollt beide an Open-Source-Beiträgen arbeiten (gemeinsame Ziele: 2 von 3)",
                "Jürgen bietet Code-Reviews und API-Design an, genau das suchst Du",
                "Ihr habt dienstags abends beide Zeit (3 gemeinsame Stunden pro Woche)",
            ],
            "meeting": {
                "cadence": "alle zwei Wochen eine Stunde, per Video oder im Café",
                "topics": [
                    "Was Ihr Euch von den zwölf Wochen erhofft",
                    "Ein erstes kleines Issue, an dem Du arbeiten kannst",
                    "Wie Ihr Euch zwischen den Treffen austauscht",
                ],
                "success": "Dein erster gemergter Pull Request in einem Projekt Deiner Wahl",
            },
        },
        "waitlist": {"next_cycle_starts": date(2027, 9, 1)},
        "kickoff": {
            "partners": [_PARTNER],
            "cycle_ends": date(2027, 4, 26),
            "cadence": "alle zwei Wochen eine Stunde",
        },
        "check_in": {
            "partners": [_PARTNER],
            "checkin_at": datetime(2027, 2, 16, 17, 0, tzinfo=UTC).astimezone(ZoneInfo(timezone)),
            "checkin_url": f"{base_url}/checkin/SAMPLE",
            "answer_urls": {
                answer: f"{base_url}/checkin/SAMPLE-{answer}"
                for answer in ("met", "not_yet", "cannot")
            },
        },
        "reminder": {
            "topic": "Euer nächstes Treffen ist noch nicht vereinbart",
            "due": date(2027, 3, 1),
            "action_url": f"{base_url}/checkin/SAMPLE",
        },
        "survey_invitation": {
            "survey_name": "Halbzeit",
            "survey_url": f"{base_url}/survey/SAMPLE",
            "due": date(2027, 3, 20),
        },
        "survey_nudge": {
            "survey_name": "Halbzeit",
            "survey_url": f"{base_url}/survey/SAMPLE",
            "due": date(2027, 3, 20),
        },
        "rematch_offer": {"rematch_url": f"{base_url}/rematch/SAMPLE"},
        "closure": {
            "ending": "cycle",
            "role": "mentor",
            "recognition": {
                "mentees": 2,
                "meetings": 11,
                "badge": "Mentor:in 2027",
                "certificate": True,
            },
            "reflection": ("Was hattest Du Dir vorgenommen?", "Was nimmst Du mit?"),
            "final_meeting": "",
            "survey_url": f"{base_url}/survey/SAMPLE",
            "survey_urls": [{"url": f"{base_url}/survey/SAMPLE", "title": "Abschluss"}],
        },
        "alumni_invitation": {
            "signup_url": f"{base_url}/alumni/SAMPLE-YES",
            "yes_url": f"{base_url}/alumni/SAMPLE-YES",
            "no_url": f"{base_url}/alumni/SAMPLE-NO",
            "next_cycle_starts": date(2027, 9, 1),
        },
        "organizer_signin": {
            "signin_url": f"{base_url}/organizer/sign-in/eyJvIjoiYW5uYUBleGFtcGxlLm9yZyJ9.sample",
            "valid_minutes": 15,
        },
        "run_failed": {
            "stage": "tick",
            "run_name": "demo-mentoring/tick/2027-spring",
            "run_id": "0a1b2c3d-sample",
            "state": "Failed",
            "detail": "SmtpUnreachableError: mail.example.org:587 did not answer",
            "run_url": "http://127.0.0.1:4200/runs/flow-run/0a1b2c3d-sample",
        },
        "answer_reminder": {
            "stage": "matching",
            "question": "approval",
            "run_name": "demo-mentoring/matching/2027-spring",
            "run_id": "0a1b2c3d-sample",
            "waited_hours": 52,
            "review_url": f"{base_url}/organizer/demo-mentoring/proposal",
            "command": "mentorflow approve program_specs/one_to_one.yaml --all",
            "run_url": "http://127.0.0.1:4200/runs/flow-run/0a1b2c3d-sample",
            "expires_hours": 116,
        },
        "organizer_digest": {
            "period": "KW 7",
            "counts": {"Aktive Paare": 42, "Check-ins beantwortet": 35, "Bounces": 1},
            "attention": ["2 Paare haben seit drei Wochen kein Treffen gemeldet"],
            "dashboard_url": f"{base_url}/",
        },
    }
    sample = samples.get(template, {})
    if language != "de":
        sample = {**sample, **_ENGLISH.get(template, {})}
    return sample


SAMPLE_MEMBER = {"id": "m_sample000000", "name": "Zoë Schäfer", "language": "de"}
