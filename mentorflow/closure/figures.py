"""Per-mentor figures for recognition: mentees accompanied and meetings held, from the store.

How they are counted (docs/closure.md says the same):
- a pair counts when it was approved at some point in the cycle (status approved, active or
  ended; proposed and dropped proposals never started);
- mentees: distinct members on the mentee side of the mentor's counted pairs, all rounds;
- meetings: distinct (pair, check-in occurrence) with at least one `met` answer in the
  `checkins` table; a check-in both members answered `met` is one meeting, not two.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from mentorflow.store.tables import checkins, match_members, matches

STARTED = ("approved", "active", "ended")


@dataclass(frozen=True)
class MentorFigures:
    member_id: str
    mentees: int
    meetings: int


def mentor_figures(conn: Connection, cycle_id: int) -> dict[str, MentorFigures]:
    """Mentor id -> figures, for every mentor with a pair that started in the cycle."""
    rows = conn.execute(
        select(match_members.c.match_id, match_members.c.member_id, match_members.c.side)
        .join(matches, matches.c.id == match_members.c.match_id)
        .where(matches.c.cycle_id == cycle_id, matches.c.status.in_(STARTED))
    ).all()
    met = {
        (r.match_id, r.occurrence)
        for r in conn.execute(
            select(checkins.c.match_id, checkins.c.occurrence).where(
                checkins.c.cycle_id == cycle_id, checkins.c.answer == "met"
            )
        )
    }
    mentors: dict[str, set[str]] = {}
    mentees: dict[str, set[str]] = {}
    for row in rows:
        target = mentors if row.side == "mentor" else mentees
        target.setdefault(row.match_id, set()).add(row.member_id)
    pairs_of: dict[str, set[str]] = {}
    for match_id, ids in mentors.items():
        for mentor in ids:
            pairs_of.setdefault(mentor, set()).add(match_id)
    return {
        mentor: MentorFigures(
            mentor,
            len({m for pair in pairs for m in mentees.get(pair, ())}),
            sum(1 for pair, _ in met if pair in pairs),
        )
        for mentor, pairs in pairs_of.items()
    }
