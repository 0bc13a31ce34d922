"""After approval: introduction and waitlist mails into the outbox, and the organizer's export."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from mentorflow.clock import Clock
from mentorflow.engagement.links import member_links
from mentorflow.mail.outbox import enqueue
from mentorflow.mail.settings import MailRuntime
from mentorflow.matching import store_io
from mentorflow.matching.result import Match, MatchResult
from mentorflow.paths import home
from mentorflow.spec.model import Expectations, ProgramSpec

DEFAULT = Expectations()  # the spec says nothing: mentorflow's default kick-off expectations

NO_WAITLIST_MAIL = ("held_back", "address_bounced")
EXPORT_HEADER = ["match", "round", "score", "member_id", "side", "name", "email", "explanation"]


@dataclass(frozen=True)
class Handover:
    introductions: int
    waitlisted: int
    export: Path


def introduction_context(
    match: Match,
    member_id: str,
    people: dict[str, tuple[str, str, str]],
    language: str,
    expectations: Expectations = DEFAULT,
) -> dict[str, Any]:
    """Template context for one member's introduction: partners, why, kickoff expectations."""
    lang = "de" if language == "de" else "en"
    side = dict(match.members)[member_id]
    partners = [
        {
            "id": other,
            "name": people.get(other, ("", "", ""))[0],
            "email": people.get(other, ("", "", ""))[1],
            "role": other_side,
        }
        for other, other_side in match.members
        if other != member_id
    ]
    why = [
        c.detail_de if lang == "de" else c.detail_en
        for e in match.explanation
        if member_id in (e.a, e.b)
        for c in e.contributions
        if c.score > 0
    ]
    meeting = expectations.in_language(lang)
    return {
        "role": side,
        "partners": partners,
        "why": why,
        "meeting": meeting,
        "score": match.score,
    }


def introduce(
    engine: Engine,
    spec: ProgramSpec,
    mail: MailRuntime,
    cycle_id: int,
    result: MatchResult,
    match_ids: dict[str, str],
    clock: Clock,
) -> tuple[int, int]:
    """`queue_mails` for an approved result of `spec`'s cycle: its expectations and rounds.

    The spec describes one cycle and says nothing of a next one, so no mail promises one. The
    matching flow, the tick's rematches and its rotational rounds all introduce through here.
    """
    return queue_mails(
        engine,
        mail=mail,
        program_id=spec.program.id,
        cycle_id=cycle_id,
        cycle_label=spec.cycle.label,
        result=result,
        match_ids=match_ids,
        clock=clock,
        expectations=spec.expectations,
        rounds=spec.model.rounds,
    )


def queue_mails(
    engine: Engine,
    *,
    mail: MailRuntime,
    program_id: str,
    cycle_id: int,
    cycle_label: str,
    result: MatchResult,
    match_ids: dict[str, str],
    clock: Clock,
    next_cycle_starts: date | None = None,
    expectations: Expectations = DEFAULT,
    rounds: Sequence[date] = (),
) -> tuple[int, int]:
    """Introductions to everyone matched, waitlist mails to the unmatched; (queued, waitlisted).

    An introduction's occurrence is its match id, so a member matched again after a rematch
    gets a new introduction while a re-run of the same approval sends nothing twice.
    The waitlist mail promises only what is known: the next round when one remains (`rounds`:
    the start dates of the cycle's rounds), the next cycle only when `next_cycle_starts` is
    given. Members matched in an earlier round of this cycle hear that nobody *new* fits them
    this round, and gain no waitlist priority (they were matched this cycle).
    """
    everyone = [i for m in result.matches for i in m.member_ids]
    with engine.connect() as conn:
        people = store_io.contacts(conn, everyone)
    queued = 0
    for match in result.matches:
        for member_id in match.member_ids:
            language = people.get(member_id, ("", "", ""))[2] or mail.default_language
            queued += enqueue(
                engine,
                settings=mail,
                cycle_id=cycle_id,
                cycle_label=cycle_label,
                member_id=member_id,
                purpose="introduction",
                template="introduction",
                clock=clock,
                occurrence=match_ids.get(match.key, match.key),
                context={
                    **introduction_context(match, member_id, people, language, expectations),
                    **member_links(mail.base_url, member_id, cycle_label),
                },
            )
    # held back: the organizers decide; bounced: no mail can reach them
    waiting = [u.member_id for u in result.unmatched if u.reason not in NO_WAITLIST_MAIL]
    with engine.connect() as conn:
        seen = store_io.matched_in_earlier_rounds(conn, cycle_id, result.round, waiting)
    next_round = rounds[result.round] if result.round < len(rounds) else None
    for member_id in waiting:
        enqueue(
            engine,
            settings=mail,
            cycle_id=cycle_id,
            cycle_label=cycle_label,
            member_id=member_id,
            purpose="waitlist",
            template="waitlist",
            clock=clock,
            occurrence=f"r{result.round}",
            context={
                "next_cycle_starts": next_cycle_starts,
                "next_round_starts": next_round,
                "matched_before": member_id in seen,
                "rotational": len(rounds) > 1,
            },
        )
    with engine.begin() as conn:
        first_time = [m for m in waiting if m not in seen]
        store_io.mark_waitlisted(conn, program_id, cycle_id, first_time, clock.now())
    return queued, len(waiting)


def export_rows(
    engine: Engine, result: MatchResult, match_ids: dict[str, str], *, language: str = "en"
) -> list[list[str]]:
    """Rows for the organizer's file and sheet (names and e-mails belong there, nowhere else);
    explanations in the program's `language`."""
    with engine.connect() as conn:
        people = store_io.contacts(conn, [i for m in result.matches for i in m.member_ids])
    rows = [EXPORT_HEADER]
    for m in result.matches:
        for member_id, side in m.members:
            name, email, _ = people.get(member_id, ("", "", ""))
            rows.append(
                [
                    match_ids.get(m.key, m.key),
                    str(m.round),
                    f"{m.score:.3f}",
                    member_id,
                    side,
                    name,
                    email,
                    m.text("de" if language == "de" else "en"),
                ]
            )
    return rows


# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection");
# a leading ' makes it text. Plain numbers (a score, a negative one) stay numbers.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def neutralise_cell(cell: str) -> str:
    """`cell`, with a leading ' when a spreadsheet would read it as a formula."""
    if cell.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.match(cell):
        return "'" + cell
    return cell


def export_csv(rows: list[list[str]], program_id: str, cycle_label: str) -> Path:
    """Write `$MENTORFLOW_HOME/exports/<program>/<cycle>-matches.csv`, formulas neutralised."""
    path = home() / "exports" / program_id / f"{cycle_label}-matches.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([neutralise_cell(c) for c in row] for row in rows)
    return path


def export_sheet(client: Any, key: str, rows: list[list[str]], title: str = "Matches") -> None:
    """Replace the "Matches" worksheet of the organizer's spreadsheet (idempotent: rewrite)."""
    import gspread

    book = client.open_by_key(key)
    try:
        sheet = book.worksheet(title)
        sheet.clear()
    except gspread.WorksheetNotFound:
        sheet = book.add_worksheet(title, rows=max(len(rows), 1), cols=len(EXPORT_HEADER))
    sheet.update(rows, "A1")
