"""`mentorflow organizer-link`: a short-lived, single-use sign-in link to the review pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mentorflow.cli._flows import fail
from mentorflow.errors import MentorflowError


def register(app: typer.Typer) -> None:
    app.command("organizer-link")(organizer_link)


def organizer_link(
    spec: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="The program spec (YAML)."),
    ],
    organizer: Annotated[
        str | None,
        typer.Option(
            "--organizer", help="Address of an organizer in the spec (default: the first)."
        ),
    ] = None,
    mail: Annotated[
        bool, typer.Option("--mail", help="Also queue the link as a mail to that organizer.")
    ] = False,
) -> None:
    """Print a sign-in link to the organizer pages (valid 15 minutes, once) for `mentorflow serve`.

    The link points at the spec's sender.base_url, else MENTORFLOW_BASE_URL, else
    http://127.0.0.1:8000 (`mentorflow serve`'s default address).
    """
    from mentorflow.clock import SystemClock
    from mentorflow.mail.settings import base_url_from
    from mentorflow.mail.tokens import secret_key
    from mentorflow.spec import load_spec
    from mentorflow.web.organizer_auth import make_signin_token, signin_url

    try:
        loaded = load_spec(spec)
        people = loaded.program.organizers
        if not people:
            raise MentorflowError(f"{spec}: program.organizers is empty: nobody can sign in")
        email = organizer or people[0].email
        url = signin_url(
            base_url_from(loaded.sender.base_url),
            make_signin_token(loaded, email, secret_key(), SystemClock().now()),
        )
        if mail:
            _queue(loaded, email, url)
            typer.echo(f"sign-in link queued for {email}: `mentorflow send {spec}` delivers it")
    except MentorflowError as error:
        fail(error)
        return
    typer.echo(url)


def _queue(spec, email: str, url: str) -> None:  # type: ignore[no-untyped-def]
    from mentorflow.clock import SystemClock
    from mentorflow.mail.outbox import enqueue_to_organizers
    from mentorflow.mail.settings import mail_runtime
    from mentorflow.store import repo
    from mentorflow.store.db import open_store

    engine = open_store()
    with engine.connect() as conn:
        cycle = repo.get_cycle(conn, spec.program.id, spec.cycle.label)
    enqueue_to_organizers(
        engine,
        settings=mail_runtime(spec, with_smtp=False),
        cycle_id=cycle.id if cycle else None,
        cycle_label=spec.cycle.label,
        purpose="organizer_signin",
        template="organizer_signin",
        context={"signin_url": url, "valid_minutes": 15},
        clock=SystemClock(),
        occurrence=url.rsplit(".", 1)[-1][:40],  # each link its own mail
        only=email,
    )
