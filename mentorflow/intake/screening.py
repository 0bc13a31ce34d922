"""Optional screening: applicants wait in `pending_approval` until the organizer decides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, update

from mentorflow.clock import Clock
from mentorflow.spec.model import ProgramSpec
from mentorflow.store import repo
from mentorflow.store.tables import enrolments

PENDING = "pending_approval"
_SHOWN = ("role", "goals", "offers", "seeks", "skills", "languages", "timezone", "capacity")


@dataclass(frozen=True)
class Applicant:
    """A pending applicant as the organizer sees it: member id and answers, no address or name."""

    member_id: str
    role: str
    answers: dict[str, Any]


@dataclass(frozen=True)
class ScreeningOutcome:
    approved: tuple[str, ...]
    declined: tuple[str, ...]
    unknown: tuple[str, ...]  # ids in the decision that are not pending: left alone


def pending_applicants(engine: Engine, spec: ProgramSpec) -> list[Applicant]:
    return waiting(engine, spec.program.id, spec.cycle.label)


def waiting(engine: Engine, program_id: str, cycle_label: str) -> list[Applicant]:
    """The applicants of this program's cycle who wait for the organizer's decision."""
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, program_id, cycle_label)
        if cycle is None:
            return []
        query = (
            select(enrolments.c.member_id, enrolments.c.role, enrolments.c.answers)
            .where(enrolments.c.cycle_id == cycle.id, enrolments.c.status == PENDING)
            .order_by(enrolments.c.id)
        )
        return [Applicant(r.member_id, r.role, dict(r.answers)) for r in conn.execute(query)]


def describe_pending(applicants: list[Applicant]) -> str:
    """Markdown for the Prefect pause form: one line per applicant, by member id."""
    lines = [
        f"**{len(applicants)} applicant(s) wait for approval.** Put member ids into `approve` or "
        "`decline`, or tick `approve_all` (with `decline`: all but those). Undecided ones stay "
        "pending for the next run. Submitting with nothing chosen keeps this run waiting.",
        "",
        "| member | role | answers |",
        "|---|---|---|",
    ]
    for applicant in applicants:
        shown = "; ".join(
            f"{key}: {_text(applicant.answers[key])}"
            for key in _SHOWN
            if key in applicant.answers and key != "role"
        )
        lines.append(f"| `{applicant.member_id}` | {applicant.role} | {shown} |")
    return "\n".join(lines)


def decides_anything(
    pending: Iterable[str], approve: list[str], decline: list[str], approve_all: bool
) -> bool:
    """Whether a decision approves or declines at least one pending applicant.

    The Prefect form submits its defaults (nothing chosen) when the organizer just presses
    Submit; such an answer, or one naming nobody who waits, is no decision.
    """
    named = set(approve) | set(decline)
    return bool(set(pending) and (approve_all or named & set(pending)))


def _text(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text.replace("|", "/")


def apply_decision(
    engine: Engine,
    spec: ProgramSpec,
    clock: Clock,
    *,
    approve: list[str],
    decline: list[str],
    approve_all: bool = False,
    shown: Iterable[str] | None = None,
) -> ScreeningOutcome:
    """Pending -> enrolled or declined; each decision is logged as an event.

    `approve_all` covers the applicants the organizer was `shown` (all pending ones when None):
    someone who signed up while the question waited is not approved unseen.
    """
    pending = {a.member_id for a in pending_applicants(engine, spec)}
    declined = [m for m in dict.fromkeys(decline) if m in pending]
    seen = pending if shown is None else pending & set(shown)
    chosen = seen - set(declined) if approve_all else set(approve) & pending
    approved = [m for m in sorted(chosen)]
    unknown = [m for m in dict.fromkeys([*approve, *decline]) if m not in pending]
    now = clock.now()
    with engine.begin() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
        assert cycle is not None or not pending
        for status, ids in (("enrolled", approved), ("declined", declined)):
            for member_id in ids:
                assert cycle is not None
                conn.execute(
                    update(enrolments)
                    .where(enrolments.c.cycle_id == cycle.id, enrolments.c.member_id == member_id)
                    .values(status=status, updated_at=now)
                )
                repo.log_event(
                    conn,
                    program_id=spec.program.id,
                    cycle_id=cycle.id,
                    member_id=member_id,
                    kind=f"intake.{'approved' if status == 'enrolled' else 'declined'}",
                    at=now,
                )
    return ScreeningOutcome(tuple(approved), tuple(declined), tuple(unknown))
