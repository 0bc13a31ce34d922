"""`mentorflow preview`, `send`, `outbox` and `serve`: see mail before it goes out, deliver the
outbox, settle what it could not (unconfirmed mail, mail written only as files), and serve the
pages behind links in mails (unsubscribe).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mentorflow.errors import MentorflowError, StoreUnavailableError, TemporaryMailError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mentorflow.mail.outbox import DeliveryReport
    from mentorflow.mail.review import OpenMail
    from mentorflow.mail.settings import MailRuntime

SpecArg = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, help="The program spec (YAML)."),
]


class Language(StrEnum):  # mentorflow.mail.templates.LANGUAGES; importing it here costs jinja2
    de = "de"
    en = "en"


def register(app: typer.Typer) -> None:
    app.command("preview")(preview)
    app.command("send")(send)
    app.command("outbox")(outbox)
    app.command("serve")(serve)


def _fail(error: MentorflowError, code: int = 1) -> None:
    typer.secho(str(error), err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _member_context(member_id: str) -> tuple[str, str | None]:
    """(name, language) of a member from the store (MENTORFLOW_DB_URL)."""
    from mentorflow.store.db import open_store
    from mentorflow.store.repo import member_contact

    with open_store().connect() as conn:
        email, name, language = member_contact(conn, member_id)
    if email is None and name is None:
        raise typer.BadParameter(f"no member {member_id} in the store", param_hint="--member")
    return name or "", language


def _check_template(name: str, overrides: Mapping[str, Path]) -> None:
    """Raise TemplateError for a name that is neither built in nor in the spec's `templates`."""
    import difflib

    from mentorflow.errors import TemplateError
    from mentorflow.mail.templates import TEMPLATE_NAMES

    known = sorted({*TEMPLATE_NAMES, *overrides})
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean `{close[0]}`? " if close else ""
    raise TemplateError(f"unknown template `{name}`: {hint}(one of {', '.join(known)})")


def preview(
    spec: SpecArg,
    template: Annotated[str, typer.Argument(help="Template name, e.g. introduction.")],
    member: Annotated[str | None, typer.Option(help="Render for this member id.")] = None,
    lang: Annotated[
        Language | None, typer.Option(help="Language; default: member/program.")
    ] = None,
) -> None:
    """Render a template with realistic sample data (or a real member) and show it."""
    from mentorflow.mail.outbox import standard_context
    from mentorflow.mail.samples import SAMPLE_MEMBER, sample_context
    from mentorflow.mail.settings import mail_runtime
    from mentorflow.mail.templates import render
    from mentorflow.paths import home
    from mentorflow.spec import load_spec

    try:
        settings = mail_runtime(load_spec(spec), with_smtp=False)
        _check_template(template, settings.spec.templates)
        member_id, name, language = SAMPLE_MEMBER["id"], SAMPLE_MEMBER["name"], None
        if member:
            member_id, (name, language) = member, _member_context(member)
        if lang is not None:
            language = lang.value
        sample_lang = language or settings.default_language
        context = {
            **standard_context(settings, member_id=member_id, name=name, cycle_label="preview"),
            **sample_context(
                template, settings.base_url, sample_lang, settings.spec.program.timezone
            ),
        }
        mail = render(
            template,
            context,
            language=language,
            default_language=settings.default_language,
            overrides=settings.spec.templates,
        )
    except MentorflowError as error:
        _fail(error)
        return
    out = home() / "preview" / settings.program_id / f"{template}.{mail.language}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(mail.html, encoding="utf-8")
    typer.echo(f"Subject: {mail.subject}\nLanguage: {mail.language}\n\n{mail.text}")
    typer.echo(f"HTML: {out}")


def send(
    spec: SpecArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write due mail as .eml files; send nothing.")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Send at most this many.")] = None,
) -> None:
    """Deliver the program's pending mail (SMTP, or .eml files when no server is configured)."""
    from mentorflow.clock import SystemClock
    from mentorflow.mail.outbox import deliver_pending, preview_pending
    from mentorflow.mail.sender import sender_for
    from mentorflow.mail.settings import mail_runtime
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    try:
        settings = mail_runtime(load_spec(spec), with_smtp=not dry_run)
        engine = open_store()
        if dry_run:
            written = preview_pending(engine, settings=settings, clock=SystemClock(), limit=limit)
            typer.echo(
                f"dry run: {written} due mail(s) written to {settings.outbox_dir / 'preview'}, "
                "none sent, all still pending"
            )
            return
        sender = sender_for(settings)
        report = deliver_pending(
            engine, settings=settings, sender=sender, clock=SystemClock(), limit=limit
        )
    except (TemporaryMailError, StoreUnavailableError) as error:
        _fail(error, 75)  # EX_TEMPFAIL: run again later
        return
    except MentorflowError as error:
        _fail(error)
        return
    for line in summary_lines(report, settings, spec, files=not sender.delivers):
        typer.echo(line)
    if sender.delivers:
        _hint_files(engine, settings.program_id, spec)


def summary_lines(
    report: DeliveryReport, settings: MailRuntime, spec: Path, *, files: bool
) -> list[str]:
    """What `send` did, in the organizer's words; unconfirmed mail is never folded into sent."""
    if files:
        why = (
            "sender.dry_run is set"
            if settings.spec.sender.dry_run
            else "no sender.smtp in the spec"
        )
        lines = [
            f"{_mails(report.as_files)} written as files, none sent ({why}): {settings.outbox_dir}"
        ]
        if report.as_files:
            lines.append(
                f"to send them once SMTP is configured: mentorflow outbox {spec} --requeue-files"
            )
        return lines
    counts = [
        f"{report.sent} sent",
        f"{report.unconfirmed} unconfirmed",
        f"{report.bounced} bounced",
        f"{report.failed} failed",
        f"{report.deferred} deferred by the daily limit",
    ]
    lines = [", ".join(counts)]
    if report.resent:
        lines.append(
            f"{report.resent} unconfirmed introduction(s) queued again with the same Message-ID"
        )
    if report.unconfirmed - report.resent > 0:
        lines.append(
            "unconfirmed: handed to the server without a reply, sent or lost; "
            f"see mentorflow outbox {spec} --unconfirmed"
        )
    return lines


def _mails(count: int) -> str:
    return f"{count} mail" if count == 1 else f"{count} mails"


def _hint_files(engine: Engine, program_id: str, spec: Path) -> None:
    from mentorflow.mail.review import count_files

    waiting = count_files(engine, program_id)
    if waiting:
        typer.echo(
            f"{waiting} mail(s) were written as files earlier and never sent; "
            f"mentorflow outbox {spec} --requeue-files queues them for sending"
        )


def outbox(
    spec: SpecArg,
    unconfirmed: Annotated[
        bool, typer.Option("--unconfirmed", help="List mails handed over without a reply.")
    ] = False,
    resend: Annotated[
        list[int] | None,
        typer.Option("--resend", help="Queue this unconfirmed (or failed) mail again; repeatable."),
    ] = None,
    requeue_files: Annotated[
        bool,
        typer.Option("--requeue-files", help="Queue mails that were only written as files again."),
    ] = False,
) -> None:
    """Look at mail the outbox could not settle alone, and decide what happens to it."""
    from mentorflow.clock import SystemClock
    from mentorflow.mail import review
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    try:
        program_id = load_spec(spec).program.id
        engine = open_store()
    except MentorflowError as error:
        _fail(error)
        return
    now = SystemClock().now()
    if resend:
        _resend(review.resend(engine, program_id, resend, now), spec)
    if requeue_files:
        count = review.requeue_files(engine, program_id, now)
        typer.echo(f"{count} mail(s) written as files queued for sending: mentorflow send {spec}")
    if unconfirmed or not (resend or requeue_files):
        _list_unconfirmed(review.unconfirmed(engine, program_id))


def _resend(outcome: dict[int, str | None], spec: Path) -> None:
    for mail_id, problem in outcome.items():
        if problem is not None:
            typer.secho(f"mail {mail_id} not queued again: {problem}", err=True, fg="red")
    queued = sum(problem is None for problem in outcome.values())
    typer.echo(f"{queued} mail(s) queued again with their Message-ID: mentorflow send {spec}")
    if queued < len(outcome):
        raise typer.Exit(1)


def _list_unconfirmed(mails: list[OpenMail]) -> None:
    typer.echo(f"{len(mails)} unconfirmed mail(s)")
    for mail in mails:
        at = mail.at.isoformat(timespec="seconds") if mail.at else "-"
        who = mail.member_id or "organizer"
        typer.echo(f"  {mail.id:>6}  {mail.template:<18} {at}  {who}")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    spec: Annotated[
        list[Path] | None,
        typer.Option(
            "--spec", help="A spec whose survey and organizer pages to serve (repeatable)."
        ),
    ] = None,
) -> None:
    """Serve the pages behind links in mails (unsubscribe, check-ins, surveys) and the organizer
    review pages (sign in with `mentorflow organizer-link SPEC`)."""
    from mentorflow.cli._decisions import PrefectDecisions
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store
    from mentorflow.web import create_app
    from mentorflow.web.server import serve as serve_app
    from mentorflow.web.survey_routes import register_spec

    app = create_app(open_store(), decisions=PrefectDecisions())
    for path in spec or []:
        try:
            register_spec(app, load_spec(path))
        except MentorflowError as error:
            _fail(error)
    serve_app(app, host=host, port=port)
