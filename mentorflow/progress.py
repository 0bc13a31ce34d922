"""Progress of long work, counted per batch: the core reports, a front end shows it (or nobody).

The core calls `track(label, total)` at its natural batch points (rows checked, mails queued,
mails sent, pairs scored) and advances the handle it gets once per batch, never per row. The
CLI installs a reporter on a terminal (mentorflow/cli/_progress.py, rich bars); everywhere else
(a worker, CI, piped output, tests) nothing is installed and each call is a no-op. Labels are
fixed phrases and the figures are counts: no member's name or address goes through here.

This is process-local on purpose: flow parameters never carry callables, so a flow run by the
CLI in-process reports through the reporter the CLI installed, and one on a worker reports to
nobody.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Bar(Protocol):
    """One piece of work being counted."""

    def advance(self, count: int) -> None: ...

    def close(self) -> None: ...


class Reporter(Protocol):
    """What shows progress: opens a bar for a labelled piece of work of `total` units."""

    def open(self, label: str, total: int | None) -> Bar: ...


class _Silent:
    def advance(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


SILENT: Bar = _Silent()
_reporter: Reporter | None = None


def install(reporter: Reporter | None) -> Reporter | None:
    """Make `reporter` the process's reporter (None: nobody); the one it replaces."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


@contextmanager
def track(label: str, total: int | None) -> Iterator[Bar]:
    """A bar for `total` units of work labelled `label` (a fixed phrase, no member data),
    closed on the way out; a no-op bar when no reporter is installed or there is nothing to do."""
    reporter = _reporter
    if reporter is None or total == 0:
        yield SILENT
        return
    bar = reporter.open(label, total)
    try:
        yield bar
    finally:
        bar.close()
