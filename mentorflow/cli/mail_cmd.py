"""`mentorflow preview`, `mentorflow send` and `mentorflow serve`: see mail before it goes out,
deliver the outbox, and serve the pages behind links in mails (unsubscribe).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mentorflow.errors import MentorflowError, TemporaryMailError

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


def _check_template(name: str, overrides: dict[str, Path]) -> None:
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
    from mentorflow.mail.settings import mail_settings_from_spec
    from mentorflow.mail.templates import render
    from mentorflow.paths import home
    from mentorflow.spec import load_spec

    try:
        settings = mail_settings_from_spec(load_spec(spec), with_smtp=False)
        _check_template(template, settings.template_overrides)
        member_id, name, language = SAMPLE_MEMBER["id"], SAMPLE_MEMBER["name"], None
        if member:
            member_id, (name, language) = member, _member_context(member)
        if lang is not None:
            language = lang.value
        sample_lang = language or settings.default_language
        context = {
            **standard_context(settings, member_id=member_id, name=name, cycle_label="preview"),
            **sample_context(template, settings.base_url, sample_lang, settings.timezone),
        }
        mail = render(
            template,
            context,
            language=language,
            default_language=settings.default_language,
            overrides=settings.template_overrides,
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
    from mentorflow.mail.settings import mail_settings_from_spec
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    try:
        settings = mail_settings_from_spec(load_spec(spec), with_smtp=not dry_run)
        engine = open_store()
        if dry_run:
            written = preview_pending(engine, settings=settings, clock=SystemClock(), limit=limit)
            typer.echo(
                f"dry run: {written} due mail(s) written to {settings.outbox_dir / 'preview'}"
            )
            return
        report = deliver_pending(
            engine, settings=settings, sender=sender_for(settings), clock=SystemClock(), limit=limit
        )
    except TemporaryMailError as error:
        _fail(error, 75)  # EX_TEMPFAIL: run again later
        return
    except MentorflowError as error:
        _fail(error)
        return
    where = f" (.eml files in {settings.outbox_dir})" if report.dry_run else ""
    typer.echo(
        f"sent {report.sent}, written {report.dry_run}{where}, bounced {report.bounced}, "
        f"deferred {report.deferred} by the daily limit, failed {report.failed}"
    )


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    spec: Annotated[
        list[Path] | None,
        typer.Option("--spec", help="A program spec whose survey pages to serve (repeatable)."),
    ] = None,
) -> None:
    """Serve the pages behind links in mails: unsubscribe, check-ins, surveys."""
    import uvicorn

    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store
    from mentorflow.web import create_app
    from mentorflow.web.survey_routes import register_spec

    app = create_app(open_store())
    for path in spec or []:
        try:
            register_spec(app, load_spec(path))
        except MentorflowError as error:
            _fail(error)
    uvicorn.run(app, host=host, port=port, proxy_headers=True)
