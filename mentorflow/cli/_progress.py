"""Progress bars for the core's long work (mentorflow/progress.py), shown only on a terminal.

A bar appears when a piece of work is still running after `SHOW_AFTER` seconds (the demo's
thousands of one-batch ticks never flicker) and disappears when it ends (`transient`), so the
command's own summary reads as it always did. Bars draw on the rich Console of Prefect's
console handler when Prefect is loaded, so Prefect's log lines print above a live bar instead of
through it; otherwise on a Console of our own on stderr. Nothing is redirected: stdout stays the
command's own (a piped summary gets no bar in it). Colour follows NO_COLOR (rich reads it).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from mentorflow import progress

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

SHOW_AFTER = 0.3  # seconds a piece of work runs before its bar is shown
_STYLES = {  # rich's own defaults for the columns below
    "bar.back": "grey23",
    "bar.complete": "rgb(249,38,114)",
    "bar.finished": "rgb(114,156,31)",
    "bar.pulse": "rgb(249,38,114)",
    "progress.download": "green",
    "progress.elapsed": "yellow",
}


def wanted() -> bool:
    """Bars only for a person at a terminal: stderr a tty, not a dumb one, not in CI."""
    if os.environ.get("CI") or os.environ.get("TERM", "").lower() in ("dumb", "unknown"):
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _prefect_console() -> Console | None:
    """The Console of Prefect's terminal log handler, when Prefect has configured one."""
    from rich.console import Console

    for name in ("prefect", ""):
        for handler in logging.getLogger(name).handlers:
            console = getattr(handler, "console", None)
            if type(handler).__name__ == "PrefectConsoleHandler" and isinstance(console, Console):
                return console if console.is_terminal else None
    return None


def default_console() -> Console:
    """Where bars draw: Prefect's console when it is loaded and on a terminal, else stderr."""
    from rich.console import Console

    return _prefect_console() or Console(stderr=True)


class RichReporter:
    """Opens one rich bar per piece of work (`console`: for tests; default `default_console`)."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console

    def open(self, label: str, total: int | None) -> progress.Bar:
        return _DelayedBar(label, total, self._console)


class _DelayedBar:
    """A bar that shows itself once its work has run `SHOW_AFTER` seconds."""

    def __init__(self, label: str, total: int | None, console: Console | None) -> None:
        self._label, self._total, self._console = label, total, console
        self._done = 0
        self._lock = threading.Lock()
        self._shown: tuple[Progress, TaskID] | None = None
        self._closed = False
        self._timer = threading.Timer(SHOW_AFTER, self._show)
        self._timer.daemon = True
        if SHOW_AFTER > 0:
            self._timer.start()
        else:  # at once (tests)
            self._show()

    def _show(self) -> None:
        from rich.errors import LiveError
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.theme import Theme

        with self._lock:
            if self._closed:
                return
            console = self._console or default_console()
            # Prefect's Console has a theme of its own, without the names rich's columns use.
            console.push_theme(Theme(_STYLES))
            bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            try:
                bars.start()
            except LiveError:  # another bar is live on this console: this one stays hidden
                console.pop_theme()
                return
            self._shown = (
                bars,
                bars.add_task(self._label, total=self._total, completed=self._done),
            )

    def advance(self, count: int) -> None:
        with self._lock:
            self._done += count
            if self._shown is not None:
                bars, task = self._shown
                bars.update(task, completed=self._done)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._shown is not None:
                bars, _ = self._shown
                bars.refresh()  # the final count, before the transient bar is cleared
                bars.stop()
                bars.console.pop_theme()
