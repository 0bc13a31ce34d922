"""The organizer digest: what went out, who is inactive, bounced or left, what needs a decision.

The mail (to organizers) names people; the Prefect artifact shows member ids only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, func, select

from mentorflow.engagement.state import LIVE, ProgramState
from mentorflow.spec.model import ProgramSpec
from mentorflow.store.tables import (
    engagement_skips,
    matches,
    member_pauses,
    members,
    outbox,
)

LABELS = {
    "en": {
        "sent": "Mails queued",
        "skipped": "Mails skipped",
        "pairs": "Active pairs",
        "met": "Pairs that met",
        "inactive": "Pairs without a meeting for long: {names}",
        "bounced": "Mail bounced: {names}",
        "left": "Left the program: {names}",
        "rematch": "{count} rematch request(s) wait for a new match (mentorflow match)",
        "proposed": "{count} proposed match(es) wait for your approval (mentorflow approve)",
        "unconfirmed": "{count} mail(s) unconfirmed (the sender stopped after handing them over)",
        "thank": "Mentors to thank (their pairs met): {names}",
        "round_unmatched": "Round {round} began on {day} and has no pairs yet: run "
        "`mentorflow match SPEC --round {round}`, then approve it",
        "round_proposed": "Round {round}: {count} proposed match(es) wait for your approval "
        "(mentorflow approve): {ids}",
        "period_week": "the week to {day}",
        "period_tick": "{moment}",
    },
    "de": {
        "sent": "Mails eingereiht",
        "skipped": "Mails übersprungen",
        "pairs": "Aktive Paare",
        "met": "Paare, die sich getroffen haben",
        "inactive": "Paare lange ohne Treffen: {names}",
        "bounced": "Mail kam zurück: {names}",
        "left": "Aus dem Programm ausgestiegen: {names}",
        "rematch": "{count} Wunsch/Wünsche nach neuem Match warten (mentorflow match)",
        "proposed": "{count} vorgeschlagene(s) Match(es) warten auf Eure Freigabe "
        "(mentorflow approve)",
        "unconfirmed": "{count} Mail(s) unbestätigt (der Versand brach nach der Übergabe ab)",
        "thank": "Mentor:innen zum Danken (ihre Paare haben sich getroffen): {names}",
        "round_unmatched": "Runde {round} hat am {day} begonnen und noch keine Paare: "
        "`mentorflow match SPEC --round {round}` ausführen, dann freigeben",
        "round_proposed": "Runde {round}: {count} vorgeschlagene(s) Match(es) warten auf Eure "
        "Freigabe (mentorflow approve): {ids}",
        "period_week": "die Woche bis {day}",
        "period_tick": "{moment}",
    },
}


@dataclass(frozen=True)
class DigestReport:
    """Member ids only; names are looked up when the mail is rendered."""

    since: datetime
    until: datetime
    sent: dict[str, int] = field(default_factory=dict)  # by purpose
    skipped: dict[str, int] = field(default_factory=dict)  # by reason
    pairs: int = 0
    met: int = 0
    inactive: list[list[str]] = field(default_factory=list)  # member ids per pair
    bounced: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    rematch_open: int = 0
    proposed: int = 0
    unconfirmed: int = 0
    thank: list[str] = field(default_factory=list)  # mentors of pairs that met
    # rotational rounds begun and waiting for the organizer: (round, first day, proposed ids)
    rounds_waiting: list[tuple[int, date, list[str]]] = field(default_factory=list)


def build_report(
    conn: Connection, spec: ProgramSpec, state: ProgramState, since: datetime, until: datetime
) -> DigestReport:
    cycle_id = state.cycle_id
    in_period = (outbox.c.created_at >= since) & (outbox.c.created_at <= until)
    sent = conn.execute(
        select(outbox.c.purpose, func.count())
        .where(outbox.c.cycle_id == cycle_id, in_period, outbox.c.status != "suppressed")
        .group_by(outbox.c.purpose)
    ).all()
    skipped = conn.execute(
        select(engagement_skips.c.reason, func.count())
        .where(engagement_skips.c.cycle_id == cycle_id)
        .where(engagement_skips.c.tick_at >= since, engagement_skips.c.tick_at <= until)
        .group_by(engagement_skips.c.reason)
    ).all()
    ids = [p.id for pair in state.pairs for p in pair.people]
    limit = spec.engagement.no_meeting_nudge_after * 2
    inactive = [
        [p.id for p in pair.people]
        for pair in state.pairs
        if pair.id not in state.met
        and max(pair.starts_on, spec.cycle.start) + limit <= until.date()
    ]
    return DigestReport(
        since=since,
        until=until,
        sent=dict(sent),
        skipped=dict(skipped),
        pairs=len(state.pairs),
        met=sum(1 for pair in state.pairs if pair.id in state.met),
        inactive=inactive,
        bounced=_bounced(conn, ids, since, until),
        left=_left(conn, cycle_id, since, until),
        rematch_open=len(state.open_rematches),
        proposed=_count(
            conn,
            select(func.count()).where(
                matches.c.cycle_id == cycle_id, matches.c.status == "proposed"
            ),
        ),
        unconfirmed=_count(
            conn,
            select(func.count()).where(
                outbox.c.cycle_id == cycle_id, outbox.c.last_error.like("unconfirmed%"), in_period
            ),
        ),
        rounds_waiting=rounds_waiting(conn, spec, cycle_id, until),
        thank=sorted(
            {
                p.id
                for pair in state.pairs
                if pair.id in state.met
                for p in pair.people
                if p.side == "mentor"
            }
        ),
    )


def rounds_waiting(
    conn: Connection, spec: ProgramSpec, cycle_id: int, until: datetime
) -> list[tuple[int, date, list[str]]]:
    """Rounds after the first that have begun by `until` with no live pairs (organizer approval:
    the tick only ended the last round), each with the ids of its proposed matches, if any."""
    if spec.model.type != "rotational" or spec.matching.approval == "automatic":
        return []
    today = until.astimezone(spec.program.zone).date()
    begun = [(n, day) for n, day in enumerate(spec.model.rounds[1:], 2) if day <= today]
    if not begun:
        return []
    rows = conn.execute(
        select(matches.c.id, matches.c.round, matches.c.status).where(
            matches.c.cycle_id == cycle_id, matches.c.round.in_([n for n, _ in begun])
        )
    ).all()
    live = {r.round for r in rows if r.status in LIVE}
    found = []
    for number, day in begun:
        if number not in live and not any(r.round > number for r in rows):
            ids = sorted(r.id for r in rows if r.round == number and r.status == "proposed")
            found.append((number, day, ids))
    return found


def _count(conn: Connection, query) -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(query).scalar_one())


def _bounced(conn: Connection, ids: list[str], since: datetime, until: datetime) -> list[str]:
    found: list[str] = []
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(members.c.id).where(
                members.c.id.in_(ids[start : start + 500]),
                members.c.bounced_at >= since,
                members.c.bounced_at <= until,
            )
        )
        found.extend(r.id for r in rows)
    return sorted(found)


def _left(conn: Connection, cycle_id: int, since: datetime, until: datetime) -> list[str]:
    rows = conn.execute(
        select(member_pauses.c.member_id).where(
            member_pauses.c.cycle_id == cycle_id,
            member_pauses.c.kind == "leave",
            member_pauses.c.created_at >= since,
            member_pauses.c.created_at <= until,
        )
    )
    return sorted(r.member_id for r in rows)


def _names(ids: list[str], names: dict[str, str]) -> str:
    return ", ".join(names.get(i) or i for i in ids)


def digest_context(
    report: DigestReport, language: str, names: dict[str, str], weekly: bool
) -> dict[str, object]:
    """Variables of the organizer_digest template, in the program language."""
    t = LABELS.get(language, LABELS["en"])
    until = report.until
    period = (
        t["period_week"].format(day=until.date().isoformat())
        if weekly
        else t["period_tick"].format(moment=until.strftime("%Y-%m-%d %H:%M UTC"))
    )
    counts = {
        t["sent"]: sum(report.sent.values()),
        t["skipped"]: sum(report.skipped.values()),
        t["pairs"]: report.pairs,
        t["met"]: report.met,
    }
    return {"period": period, "counts": counts, "attention": _attention(report, t, names)}


def _attention(report: DigestReport, t: dict[str, str], names: dict[str, str]) -> list[str]:
    items = []
    if report.inactive:
        pairs = ["+".join(names.get(i) or i for i in ids) for ids in report.inactive]
        items.append(t["inactive"].format(names=", ".join(pairs)))
    if report.bounced:
        items.append(t["bounced"].format(names=_names(report.bounced, names)))
    if report.left:
        items.append(t["left"].format(names=_names(report.left, names)))
    if report.rematch_open:
        items.append(t["rematch"].format(count=report.rematch_open))
    if report.proposed:
        items.append(t["proposed"].format(count=report.proposed))
    if report.unconfirmed:
        items.append(t["unconfirmed"].format(count=report.unconfirmed))
    for number, day, ids in report.rounds_waiting:
        if ids:
            text = t["round_proposed"].format(round=number, count=len(ids), ids=", ".join(ids))
        else:
            text = t["round_unmatched"].format(round=number, day=day.isoformat())
        items.append(text)
    if report.thank:
        items.append(t["thank"].format(names=_names(report.thank, names)))
    return items


def artifact_markdown(
    as_of: datetime,
    queued: Counter[str],
    skipped: Counter[str],
    skipped_items: list[tuple[str, str, str]],
    waiting: int,
    report: DigestReport | None,
    dry_run: bool,
) -> str:
    """The tick's Prefect artifact: the same summary as the digest, member ids only."""
    head = "Dry run (nothing sent or recorded)" if dry_run else "Tick"
    lines = [f"# {head} at {as_of:%Y-%m-%d %H:%M} UTC", ""]
    lines += ["| what | count |", "|---|---|"]
    lines += [f"| queued: {k} | {v} |" for k, v in sorted(queued.items())]
    lines += [f"| skipped: {k} | {v} |" for k, v in sorted(skipped.items())]
    lines += [f"| waiting for the member's send window | {waiting} |"]
    if skipped_items:
        lines += ["", "## Skipped", "", "| member | kind | reason |", "|---|---|---|"]
        lines += [f"| {m} | {k} | {r} |" for m, k, r in skipped_items[:200]]
    if report is not None:
        lines += ["", "## Program", ""]
        lines += [f"- active pairs: {report.pairs}, met: {report.met}"]
        lines += [f"- inactive pairs: {', '.join('+'.join(p) for p in report.inactive) or 'none'}"]
        lines += [f"- bounced: {', '.join(report.bounced) or 'none'}"]
        lines += [f"- left: {', '.join(report.left) or 'none'}"]
        lines += [
            f"- open rematch requests: {report.rematch_open}, proposed matches: {report.proposed}"
        ]
        lines += [f"- unconfirmed mails: {report.unconfirmed}"]
        lines += [f"- {_round_line(n, ids)}" for n, _, ids in report.rounds_waiting]
        lines += [f"- mentors to thank: {', '.join(report.thank) or 'none'}"]
    return "\n".join(lines)


def _round_line(number: int, ids: list[str]) -> str:
    waiting = f"proposed {', '.join(ids)}, waiting for approval" if ids else "not matched yet"
    return f"round {number}: {waiting}"
