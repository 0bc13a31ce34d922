"""Data protection around closure: one member's data as JSON (right of access), retention runs,
and the member's certificate files, which erasure deletes with the rest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from mentorflow.closure.certificates import FOLDER
from mentorflow.errors import UnknownMemberError
from mentorflow.paths import home
from mentorflow.store.erasure import erase_certificates, erase_expired, erase_mail_files
from mentorflow.store.tables import (
    checkins,
    cycles,
    enrolments,
    events,
    match_members,
    matches,
    member_pauses,
    members,
    outbox,
    survey_responses,
    survey_stories,
)

# mail as the member can ask for it: what was sent, when, and how it ended; the bodies stay
_MAIL = ("key", "purpose", "template", "language", "subject", "status", "created_at", "sent_at")


def export_member(conn: Connection, program_id: str, member_id: str) -> dict[str, Any]:
    """Everything the store holds about one member of the program, as JSON-ready data."""
    member = conn.execute(
        select(members).where(members.c.id == member_id, members.c.program_id == program_id)
    ).first()
    if member is None:
        raise UnknownMemberError(f"no member {member_id} in program {program_id}")
    pairs = select(match_members.c.match_id).where(match_members.c.member_id == member_id)
    labels = dict(conn.execute(select(cycles.c.id, cycles.c.label)).all())
    return {
        "member": _plain(member._mapping),
        "enrolments": _all(conn, enrolments, enrolments.c.member_id == member_id, labels),
        "matches": [
            {
                **_plain(row._mapping),
                "cycle": labels.get(row.cycle_id),
                "members": _sides(conn, row.id),
            }
            for row in conn.execute(select(matches).where(matches.c.id.in_(pairs)))
        ],
        "check_ins": _all(conn, checkins, checkins.c.member_id == member_id, labels),
        "pauses": _all(conn, member_pauses, member_pauses.c.member_id == member_id, labels),
        "survey_responses": _all(
            conn, survey_responses, survey_responses.c.member_id == member_id, labels
        ),
        "stories": _all(conn, survey_stories, survey_stories.c.member_id == member_id, labels),
        "mails": [
            _plain({name: row._mapping[name] for name in _MAIL})
            for row in conn.execute(
                select(outbox).where(outbox.c.member_id == member_id).order_by(outbox.c.id)
            )
        ],
        "events": _all(conn, events, events.c.member_id == member_id, labels),
        "certificates": [str(p) for p in certificate_files(program_id, member_id)],
    }


def export_json(engine: Engine, program_id: str, member_id: str) -> str:
    with engine.connect() as conn:
        return json.dumps(export_member(conn, program_id, member_id), ensure_ascii=False, indent=2)


def certificate_files(program_id: str, member_id: str) -> list[Path]:
    folder = home() / FOLDER / program_id
    return sorted(folder.glob(f"*/{member_id}.pdf")) if folder.is_dir() else []


def _sides(conn: Connection, match_id: str) -> list[dict[str, str]]:
    rows = conn.execute(select(match_members).where(match_members.c.match_id == match_id))
    return [{"member_id": r.member_id, "side": r.side} for r in rows]


def _all(conn: Connection, table: Table, where: Any, labels: dict[int, str]) -> list[dict]:
    found = []
    for row in conn.execute(select(table).where(where).order_by(table.c[_order(table)])):
        item = _plain(row._mapping)
        if "cycle_id" in item:
            item["cycle"] = labels.get(item["cycle_id"])
        found.append(item)
    return found


def _order(table: Table) -> str:
    return "id" if "id" in table.c else table.primary_key.columns.keys()[0]


def _plain(mapping: Any) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in mapping.items()}


@dataclass(frozen=True)
class ErasedFiles:
    """What the store's erasure cannot reach, removed for one member."""

    mail_files: int  # .eml files of or naming the member
    certificates: int
    stories: int  # shared stories cut from the retrospective reports


def erase_files(program_id: str, member_id: str, address: str | None) -> ErasedFiles:
    """The member's mail files, certificates and quoted stories, gone: `erase` and retention."""
    from mentorflow.retrospective.erasure import erase_stories

    return ErasedFiles(
        erase_mail_files(home() / "outbox" / program_id, member_id, address),
        erase_certificates(home() / FOLDER / program_id, member_id),
        erase_stories(home() / "reports" / program_id, member_id),
    )


def run_retention(
    engine: Engine, program_id: str, retention_days: int, today: date, now: datetime
) -> list[str]:
    """`erase --expired` as one call (the retention flow): `erase_expired` in one transaction,
    then each erased member's mail files (named by id), certificates and stories; their ids."""
    with engine.begin() as conn:
        found = erase_expired(conn, program_id, retention_days, today, now=now)
    for member_id in found:
        erase_files(program_id, member_id, None)
    return found
