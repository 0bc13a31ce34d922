"""`mentorflow run intake` on a terminal: bars for the rows checked, the mails queued and sent,
each up to its total, and the command's summary as before (tests/unit/test_cli_progress.py has
the terminal detection and `send`)."""

from __future__ import annotations

import io

from rich.console import Console
from typer.testing import CliRunner

from mentorflow.cli import _progress
from mentorflow.cli.main import app
from tests.flows.test_intake_flow import demo_spec, outbox_rows
from tests.unit.test_cli_progress import bar_frames

ROWS = 43  # program_specs/intake/one_to_one.csv


def _last_count(screen: str, label: str) -> str:
    frames = bar_frames(screen, label)
    assert frames, f"no bar {label!r} in {screen!r}"
    return frames[-1].split()[-2]


def test_run_intake_on_a_terminal_shows_its_bars_with_their_totals(tmp_path, store, monkeypatch):
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(_progress, "wanted", lambda: True)
    monkeypatch.setattr(_progress, "SHOW_AFTER", 0)
    monkeypatch.setattr(_progress, "default_console", lambda: console)
    result = CliRunner().invoke(app, ["run", "intake", str(demo_spec(tmp_path))])
    assert result.exit_code == 0, result.output
    purposes = [row.purpose for row in outbox_rows(store)]
    mails, owed = len(purposes), len([p for p in purposes if p != "fix_signup"])
    assert 0 < owed < mails  # fix-your-sign-up mails are queued apart
    assert _last_count(screen.getvalue(), "intake: rows checked") == f"{ROWS}/{ROWS}"
    assert _last_count(screen.getvalue(), "intake: mails queued") == f"{owed}/{owed}"
    fix = mails - owed  # one row each here; the bar counts the rows answered
    assert _last_count(screen.getvalue(), "intake: fix-your-sign-up mails") == f"{fix}/{fix}"
    assert _last_count(screen.getvalue(), "mail: sending") == f"{mails}/{mails}"
    assert result.output.startswith("intake: 43 rows read (43 new): 35 accepted")
    assert "rows checked" not in result.output
