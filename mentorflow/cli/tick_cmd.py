"""Printing a tick's outcome for `mentorflow run tick` (the flow returns counts, never names)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer


def print_tick(counts: dict[str, Any], dry_run: bool) -> None:
    verb = "would queue" if dry_run else "queued"
    typer.echo(
        f"tick: {verb} {counts.get('queued', 0)}, skipped {counts.get('skipped', 0)}, "
        f"waiting for the send window {counts.get('waiting', 0)}"
    )
    for name, value in counts.items():
        if name.startswith(("queued_", "skipped_")):
            typer.echo(f"  {name.replace('_', ' ', 1)}: {value}")
    for line in counts.get("would_send", []):
        typer.echo(f"  would send: {line}")


def walk_demo_schedule(spec_path: Path, home: Path) -> None:
    """The demo's 90 days after the introductions, in simulated time; what went out per week."""
    from mentorflow.clock import FixedClock
    from mentorflow.engagement import simulate
    from mentorflow.mail.outbox import deliver_pending
    from mentorflow.mail.sender import sender_for
    from mentorflow.mail.settings import mail_runtime
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store
    from mentorflow.surveys.demo import PromptMembers

    spec = load_spec(spec_path)
    engine, settings = open_store(), mail_runtime(spec, with_smtp=False)
    started = time.perf_counter()
    simulate.backdate_approvals(engine, spec)
    with PromptMembers(engine, spec) as members:  # some answer their surveys promptly
        weeks = simulate.walk(engine, spec, settings, before_tick=members.hour)
    _, end = simulate.cycle_hours(spec)
    delivered = deliver_pending(
        engine, settings=settings, sender=sender_for(settings), clock=FixedClock(end)
    )
    typer.echo(
        f"engagement: {spec.cycle.start} to {spec.cycle.end} walked hour by hour in simulated "
        f"time ({time.perf_counter() - started:.1f} s)"
    )
    for week, kinds in sorted(weeks.items()):
        line = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        typer.echo(f"  week {week:2d}: {line}")
    prompt = ", ".join(f"{k} {v}" for k, v in sorted(members.counts.items())) or "none"
    typer.echo(f"  surveys answered promptly inside the walk (never nudged): {prompt}")
    check_ins = ", ".join(f"{k} {v}" for k, v in sorted(members.check_ins.items())) or "none"
    typer.echo(f"  check-in mails answered on the page: {check_ins}")
    typer.echo(f"  {delivered.sent + delivered.as_files} mails written under {home / 'outbox'}")
