"""`mentorflow erase`: erase one member's personal data, or everyone past the retention period."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mentorflow.cli._flows import fail
from mentorflow.errors import MentorflowError, UnknownMemberError
from mentorflow.store import repo

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mentorflow.spec import ProgramSpec
    from mentorflow.store.erasure import ErasureReport

SpecArg = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, help="The program spec (YAML)."),
]


def register(app: typer.Typer) -> None:
    app.command("erase")(erase)


def erase(
    spec: SpecArg,
    member: Annotated[str | None, typer.Option(help="Erase this member id (m_...).")] = None,
    email: Annotated[
        str | None, typer.Option(help="Erase the member with this address (case ignored).")
    ] = None,
    expired: Annotated[
        bool, typer.Option("--expired", help="Erase everyone past retention.days_after_cycle_end.")
    ] = False,
    row: Annotated[
        int | None,
        typer.Option(
            help="Erase the stored copy of this sheet row (as `mentorflow run intake` lists it) "
            "of the current cycle: for rows that have no member, such as an invalid address.",
            min=2,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase personal data (address, name, answers, mail content) for good; ids and matches stay."""
    if sum((member is not None, email is not None, expired, row is not None)) != 1:
        typer.echo("give exactly one of --member, --email, --row or --expired", err=True)
        raise typer.Exit(2)
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    try:
        program = load_spec(spec)
        engine = open_store()
        if row is not None:
            _erase_row(engine, program, row, yes)
        elif expired:
            days = program.retention.days_after_cycle_end
            _erase_expired(engine, program.program.id, days, program.program.zone, yes)
        else:
            _erase_one(engine, program.program.id, member, email, yes)
    except MentorflowError as error:
        fail(error)


def _erase_one(
    engine: Engine, program_id: str, member: str | None, email: str | None, yes: bool
) -> None:
    from mentorflow.clock import SystemClock
    from mentorflow.store.erasure import erase_member, find_member

    with engine.connect() as conn:
        member_id = member if member is not None else find_member(conn, program_id, email or "")
    if member_id is None:  # never echo the address: the terminal may be shared or logged
        raise UnknownMemberError(f"no member with that address in program {program_id}")
    if not yes:
        typer.confirm(f"Erase the personal data of {member_id} for good?", abort=True)
    with engine.begin() as conn:
        address = repo.member_contact(conn, member_id)[0]
        report = erase_member(conn, program_id, member_id, SystemClock().now(), "request")
    typer.echo(_describe(report))
    _erase_files(program_id, member_id, address)


def _erase_row(engine: Engine, program: ProgramSpec, row: int, yes: bool) -> None:
    from mentorflow.clock import SystemClock
    from mentorflow.store.erasure import erase_form_row

    source = program.intake.source.label
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, program.program.id, program.cycle.label)
    if cycle is None:
        typer.echo(f"nothing stored: no intake has run for cycle {program.cycle.label}")
        return
    if not yes:
        typer.confirm(f"Erase the stored copy of sheet row {row} ({source}) for good?", abort=True)
    with engine.begin() as conn:
        found = erase_form_row(conn, cycle.id, source, row, SystemClock().now())
    for member_id in found.members:
        typer.echo(f"sheet row {row} belongs to {member_id}: erase the person with --member")
    if found.cleared:
        typer.echo(f"erased sheet row {row}: cells and reasons of {found.cleared} stored copy(ies)")
    elif not found.members:
        typer.echo(f"nothing stored for sheet row {row} of {source} in cycle {cycle.label}")


def _erase_expired(engine: Engine, program_id: str, days: int, zone: tzinfo, yes: bool) -> None:
    from mentorflow.clock import SystemClock
    from mentorflow.store.erasure import erase_member, expired_members

    now = SystemClock().now()
    with engine.connect() as conn:
        found = expired_members(conn, program_id, days, now.astimezone(zone).date())
    if not found:
        typer.echo(f"nobody past retention ({days} days after their last cycle ended)")
        return
    if not yes:
        typer.confirm(
            f"Erase the personal data of {len(found)} member(s) past retention for good?",
            abort=True,
        )
    with engine.begin() as conn:
        for member_id in found:
            address = repo.member_contact(conn, member_id)[0]
            typer.echo(_describe(erase_member(conn, program_id, member_id, now, "retention")))
            _erase_files(program_id, member_id, address)
    typer.echo(f"erased {len(found)} member(s) past retention ({days} days after cycle end)")


def _erase_files(program_id: str, member_id: str, address: str | None) -> None:
    from mentorflow.closure.protection import erase_files

    erased = erase_files(program_id, member_id, address)
    if erased.mail_files:
        typer.echo(f"deleted {erased.mail_files} .eml file(s) of or naming {member_id}")
    if erased.stories:
        typer.echo(f"cut {erased.stories} shared story(ies) of {member_id} from the reports")
    if erased.certificates:
        typer.echo(f"deleted {erased.certificates} certificate(s) of {member_id}")


def _describe(report: ErasureReport) -> str:
    if report.already_erased and not report.changed:
        return f"{report.member_id} was erased before; nothing left to erase"
    return (
        f"erased {report.member_id}: address, name and time zone; "
        f"answers of {report.enrolments} enrolment(s); {report.intake_rows} form row(s); "
        f"{report.mails_cleared} mail(s) to them ({report.mails_suppressed} pending, now never "
        f"sent); {report.mentions_cleared} mail(s) to others naming them; "
        f"{report.survey_responses} survey response(s) deleted; "
        f"data of {report.events} event(s). Kept: id, consent time and version, matches."
    )
