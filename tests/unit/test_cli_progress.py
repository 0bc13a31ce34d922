"""Progress bars on long work: shown on a terminal with the right totals, never elsewhere.

`mentorflow send` is the command here (no Prefect); `run intake` is in
tests/flows/test_cli_progress_intake.py.
"""

from __future__ import annotations

import io
import logging
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from mentorflow import progress
from mentorflow.cli import _progress
from mentorflow.cli.main import app
from mentorflow.clock import FixedClock
from mentorflow.mail.outbox import enqueue_many
from mentorflow.mail.settings import mail_runtime
from mentorflow.spec import load_spec
from mentorflow.store.repo import ensure_cycle, ensure_program
from tests.mail_support import NOW, add_member, make_store

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "program_specs" / "one_to_one.yaml"
MAILS = 40  # three claim batches of 16
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def pending(tmp_path, monkeypatch) -> dict[str, str]:
    """MAILS welcome mails pending for the example spec's program; the environment for them."""
    env = {"MENTORFLOW_HOME": str(tmp_path), "MENTORFLOW_DB_URL": f"sqlite:///{tmp_path}/s.db"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = load_spec(SPEC)
    engine, _ = make_store(env["MENTORFLOW_DB_URL"])
    with engine.begin() as conn:
        ensure_program(conn, spec.program.id, spec.program.name, NOW)
        cycle = ensure_cycle(conn, spec.program.id, "2027-1", spec.cycle.start, spec.cycle.end, NOW)
    ids = [add_member(engine, f"m_{i}", f"p{i}@example.org", f"P {i}") for i in range(MAILS)]
    context = {"role": "mentor", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"}
    enqueue_many(
        engine,
        settings=mail_runtime(spec),
        cycle_id=cycle.id,
        cycle_label="2027-1",
        purpose="welcome",
        template="welcome",
        mails=[(m, context) for m in ids],
        clock=FixedClock(NOW),
    )
    engine.dispose()
    return env


def _terminal(monkeypatch) -> io.StringIO:
    """Pretend stderr is a terminal; bars draw at once into the returned buffer."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(_progress, "wanted", lambda: True)
    monkeypatch.setattr(_progress, "SHOW_AFTER", 0)
    monkeypatch.setattr(_progress, "default_console", lambda: console)
    return screen


def bar_frames(screen: str, label: str) -> list[str]:
    """The lines a terminal showed for the bar `label`, escape codes removed, oldest first."""
    return [line for line in ANSI.sub("", screen).replace("\r", "\n").split("\n") if label in line]


def test_send_on_a_terminal_shows_a_bar_up_to_the_mails_due(pending, monkeypatch):
    screen = _terminal(monkeypatch)
    result = CliRunner().invoke(app, ["send", str(SPEC)])
    assert result.exit_code == 0, result.output
    frames = bar_frames(screen.getvalue(), "mail: sending")
    assert frames and frames[-1].split()[-2] == f"{MAILS}/{MAILS}"
    assert {f.split()[-2] for f in frames} <= {f"{n}/{MAILS}" for n in (0, 16, 32, MAILS)}
    # the summary is the command's own output, untouched by the bar
    assert result.output.startswith(f"{MAILS} mails written as files, none sent")
    assert "mail: sending" not in result.output
    assert progress.install(None) is None  # the command put the process's reporter back


def test_send_draws_no_bar_when_stderr_is_not_a_terminal(pending, monkeypatch):
    screen = io.StringIO()  # a terminal console, used only if the CLI took CliRunner's for one
    monkeypatch.setattr(_progress, "SHOW_AFTER", 0)
    monkeypatch.setattr(
        _progress, "default_console", lambda: Console(file=screen, force_terminal=True)
    )
    result = CliRunner().invoke(app, ["send", str(SPEC)])
    assert result.exit_code == 0, result.output
    assert screen.getvalue() == ""
    assert "mail: sending" not in result.output


def _send_in_a_subprocess(env: dict[str, str], *, tty: bool) -> str:
    """`mentorflow send` with stderr on a pseudo-terminal (or a pipe); what stderr received."""
    code = (
        "import sys; from mentorflow.cli import _progress; _progress.SHOW_AFTER = 0; "
        "from mentorflow.cli.main import app; app(['send', sys.argv[1]])"
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "FORCE_COLOR", "NO_COLOR")}
    environ |= {**env, "TERM": "xterm", "COLUMNS": "100"}
    if not tty:
        done = subprocess.run(
            [sys.executable, "-c", code, str(SPEC)], env=environ, capture_output=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stderr.decode()
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(SPEC)], env=environ, stdout=subprocess.PIPE, stderr=child
    )
    os.close(child)
    received = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        received += chunk
    os.close(main)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, received
    assert out.decode().startswith(f"{MAILS} mails written as files")
    return received.decode(errors="replace")


@pytest.mark.parametrize("no_color", [False, True])
def test_send_on_a_real_terminal_draws_the_bar_on_stderr(pending, no_color):
    env = {**pending, **({"NO_COLOR": "1"} if no_color else {})}
    screen = _send_in_a_subprocess(env, tty=True)
    frames = bar_frames(screen, "mail: sending")
    assert frames and frames[-1].split()[-2] == f"{MAILS}/{MAILS}", screen
    colours = re.findall(r"\x1b\[[0-9;]*m", screen)
    assert bool(colours) is not no_color  # NO_COLOR: the bar, without colour


def test_send_with_stderr_piped_draws_no_bar(pending):
    assert "mail: sending" not in _send_in_a_subprocess(pending, tty=False)


def test_ci_or_a_dumb_terminal_gets_no_bars(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Tty())
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert _progress.wanted()
    monkeypatch.setenv("CI", "true")
    assert not _progress.wanted()
    monkeypatch.delenv("CI")
    monkeypatch.setenv("TERM", "dumb")
    assert not _progress.wanted()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Recorder:
    def __init__(self) -> None:
        self.bars: dict[str, list[int | None]] = {}

    def open(self, label: str, total: int | None) -> progress.Bar:
        counts = self.bars.setdefault(label, [total])
        recorder = self

        class Bar:
            def advance(self, count: int) -> None:
                counts.append(count)

            def close(self) -> None:
                recorder.bars[label] = counts

        return Bar()


def test_matching_reports_the_pairs_it_scores():
    from mentorflow.matching import build_pool, solve
    from mentorflow.matching.synthetic import synthetic_records, synthetic_settings

    settings = synthetic_settings()
    pool = build_pool(synthetic_records(60, 20, seed=3), settings)
    recorder = _Recorder()
    previous = progress.install(recorder)
    try:
        solve(pool, settings)
    finally:
        progress.install(previous)
    total, *steps = recorder.bars["matching: pairs scored"]
    assert total == int(np.sum(steps)) > 0


class PrefectConsoleHandler(logging.Handler):  # named as Prefect's, which the CLI looks for
    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.print(record.getMessage())


def test_bars_share_the_console_of_prefects_log_lines(monkeypatch):
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    handler = PrefectConsoleHandler(terminal)
    logger = logging.getLogger("prefect")
    monkeypatch.setattr(logger, "handlers", [handler])
    assert _progress.default_console() is terminal
    monkeypatch.setattr(_progress, "SHOW_AFTER", 0)
    previous = progress.install(_progress.RichReporter())
    try:
        with progress.track("mail: sending", 3) as bar:
            bar.advance(1)
            logger.warning("Finished in state Completed()")
            bar.advance(2)
    finally:
        progress.install(previous)
    lines = ANSI.sub("", screen.getvalue()).replace("\r", "\n").split("\n")
    assert "Finished in state Completed()" in lines  # a line of its own, not inside a bar
    assert bar_frames(screen.getvalue(), "mail: sending")[-1].split()[-2] == "3/3"
    handler.console = Console(file=io.StringIO())  # Prefect's output piped: bars go to stderr
    assert _progress.default_console() is not handler.console


def test_the_tick_reports_its_mails_queued_per_batch(tmp_path):
    from datetime import UTC, datetime

    from mentorflow.engagement import run
    from tests.engagement_support import Person, settings, setup_program

    berlin = "Europe/Berlin"
    pairs = [
        (Person(f"m_mentor{i}", "mentor", berlin), Person(f"m_mentee{i}", "mentee", berlin))
        for i in range(20)
    ]
    engine, spec, _ = setup_program(f"sqlite:///{tmp_path / 's.db'}", "walk.yaml", pairs)
    prepared = run.prepare(engine, spec, datetime(2027, 3, 1, 8, tzinfo=UTC))  # the kickoff
    assert prepared is not None
    recorder = _Recorder()
    previous = progress.install(recorder)
    try:
        summary = run.queue_plan(engine, spec, settings(spec, tmp_path), prepared, batch=16)
    finally:
        progress.install(previous)
    assert recorder.bars["tick: mails queued"] == [40, 16, 16, 8]
    assert sum(summary.queued.values()) == 40


def test_a_bar_opened_while_another_is_live_does_not_break_the_first(monkeypatch):
    """rich 15 nests live displays; older ones refuse a second (LiveError): it stays hidden."""
    screen = io.StringIO()
    monkeypatch.setattr(_progress, "SHOW_AFTER", 0)
    previous = progress.install(
        _progress.RichReporter(Console(file=screen, force_terminal=True, width=100))
    )
    try:
        with progress.track("intake: rows checked", 2) as outer:
            with progress.track("matching: pairs scored", 4) as inner:
                inner.advance(4)
            outer.advance(2)
    finally:
        progress.install(previous)
    assert bar_frames(screen.getvalue(), "intake: rows checked")[-1].split()[-2] == "2/2"
    inner = bar_frames(screen.getvalue(), "matching: pairs scored")
    assert inner == [] or inner[-1].split()[-2] == "4/4"
