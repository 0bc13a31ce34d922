"""Printing a tick's outcome for `mentorflow run tick` (the flow returns counts, never names)."""

from __future__ import annotations

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
