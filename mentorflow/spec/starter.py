"""Commented starter specs for `mentorflow init`, one per model type; each validates clean."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

MODEL_TYPES = ("one_to_one", "group", "peer", "reverse", "rotational")

_MODEL_BLOCKS = {
    "one_to_one": "model:\n  type: one_to_one               # one mentor, one mentee\n",
    "group": (
        "model:\n  type: group                    # one mentor with a circle of mentees\n"
        "  group_size: {min: 3, max: 6}   # mentees per mentor\n"
    ),
    "peer": (
        "model:\n  type: peer                     # pairs or small groups from one pool, no roles\n"
        "  group_size: {min: 2, max: 2}   # 2-2: pairs; {min: 2, max: 3} allows trios\n"
    ),
    "reverse": (
        "model:\n  type: reverse                  # the junior person mentors the senior one\n"
    ),
    "rotational": (
        "model:\n  type: rotational               # new partners every round\n"
        "  round_length: 4w\n  rounds: 3                      # 3 x 4w fits into the 12w cycle\n"
    ),
}

# The starter's form, in column order: (form header, member field, comment in the spec).
_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Timestamp", "submitted_at", ""),
    ("Email Address", "email", ""),
    ("Name", "name", ""),
    ("Role", "role", "values mapped below"),
    ("Years of experience", "seniority", ""),
    ("Time zone", "timezone", ""),
    ("Goals", "goals", ""),
    ("I can help with", "offers", ""),
    ("I would like help with", "seeks", ""),
    ("Languages", "languages", ""),
    ("When are you free?", "availability", ""),
)
CONSENT_COLUMN = "Consent"
_ROLE_VALUES = "  values:\n    role: {Mentor: mentor, Mentee: mentee, Both: both}\n"

_CRITERIA = {
    "one_to_one": "    - {kind: coverage, weight: 4}              # offers vs seeks\n",
    "group": "    - {kind: coverage, weight: 4}              # mentor offers what mentees seek\n",
    "peer": "    - {kind: overlap, field: goals, weight: 4}  # peers share goals\n",
    "reverse": (
        "    - {kind: seniority, min_gap: 3, weight: 2}  # flipped: mentee well above the mentor\n"
        "    - {kind: coverage, weight: 4}\n"
    ),
    "rotational": "    - {kind: coverage, weight: 4}\n",
}

_TEMPLATE = """\
# yaml-language-server: $schema={schema}
# A mentorflow program spec. Check it with `mentorflow validate {filename}`.
# Every key is explained in the schema; an editor with the YAML extension completes them.
version: 1

program:
  # The id is stable forever: the store keys everything on it.
  id: {slug}
  name: {title}
  language: en                   # default mail language: de | en
  timezone: Europe/Berlin        # IANA time zone of the organizers
  organizers:
    - {{name: Organizer, email: organizer@example.org}}

sender:
  from_name: {title}
  from_address: mentoring@example.org
  # reply_to: organizer@example.org
  # base_url: https://mentoring.example.org
  # smtp:                        # without smtp, mails are written as .eml files
  #   host: smtp.example.org
  #   username: {{env: SMTP_USER}}
  #   password: {{env: SMTP_PASSWORD}}   # always a reference, never the password

{model}
cycle:
  start: {start}
  duration: 12w                  # <n>d or <n>w

intake:
  source: {{type: csv, path: {form_path}}}   # relative to this file
  closes: {closes}
  columns:                       # form column header -> member field
{columns}\
{role_values}\
  consent:
    column: {consent}
    accept: ["I agree"]
    text_version: "1"

matching:
  approval: organizer            # organizer approves | automatic
  criteria:
    - {{kind: required_common, field: languages}}  # hard: a common language
{criteria}\
    - {{kind: availability, weight: 2}}
    - {{kind: distance, field: utc_offset, scale: 6, weight: 1}}

milestones:
  - {{id: kickoff, at: 0d, action: mail, template: kickoff}}
  - {{id: checkin-1, at: 3w, action: check_in}}
  - {{id: exit, at: 12w, action: survey, survey: exit, to: [mentors, mentees]}}

surveys:
  - id: exit
    questions:
      - {{id: satisfaction, type: rating, text: "How satisfied are you with the program?"}}
      - {{id: recommend, type: scale, text: "How likely are you to recommend it?"}}
      - {{id: story, type: text, text: "What will you take with you?"}}
    nudge_after: 5d
"""


def slugify(name: str) -> str:
    """A program id from a name: lowercase letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "my-program"


def _title(name: str) -> str:
    words = name.replace("-", " ").replace("_", " ").strip()
    if not words:
        return "My Program"
    return words if words != words.lower() else words.title()


def default_start(today: date) -> date:
    """The first Monday at least four weeks after `today`."""
    start = today + timedelta(weeks=4)
    return start + timedelta(days=(7 - start.weekday()) % 7)


def form_path(name: str) -> str:
    """Where the starter spec for `name` expects the form export, relative to the spec file."""
    return f"intake/{slugify(name)}.csv"


def _columns(model: str) -> list[tuple[str, str, str]]:
    skipped = {"role"} if model == "peer" else set()
    if model != "reverse":
        skipped.add("seniority")
    return [column for column in _COLUMNS if column[1] not in skipped]


def form_header(model: str) -> list[str]:
    """The header row of a form export that the starter spec for `model` reads as it is."""
    return [header for header, _, _ in _columns(model)] + [CONSENT_COLUMN]


def starter_form(model: str) -> str:
    """A CSV export with the header row only: where the organizer pastes the form's answers."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(form_header(model))
    return out.getvalue()


def _columns_block(model: str) -> str:
    lines = []
    for header, field, comment in _columns(model):
        line = f"    {header}: {field}"
        lines.append(f"{line.ljust(33)}# {comment}" if comment else line)
    return "".join(f"{line}\n" for line in lines)


def starter_spec(name: str, model: str, start: date, schema: str, filename: str) -> str:
    """The text of a starter spec for `model` (one of MODEL_TYPES)."""
    has_roles = model != "peer"
    return _TEMPLATE.format(
        schema=schema,
        filename=filename,
        slug=slugify(name),
        title=_title(name),
        model=_MODEL_BLOCKS[model],
        start=start.isoformat(),
        closes=(start - timedelta(days=7)).isoformat(),
        form_path=form_path(name),
        columns=_columns_block(model),
        consent=CONSENT_COLUMN,
        role_values=_ROLE_VALUES if has_roles else "",
        criteria=_CRITERIA[model],
    )
