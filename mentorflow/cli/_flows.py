"""Running a Prefect flow from the CLI: our errors become one red line and exit 1, no traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer

from mentorflow.errors import MentorflowError

T = TypeVar("T")

# Prefect logs a failed flow or task run with its traceback on these loggers.
_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class _NoTracebackForOurErrors(logging.Filter):
    """Our errors say what to fix in their message; Prefect need not print a traceback for them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], MentorflowError):
            record.exc_info, record.exc_text = None, None
        return True


_FILTER = _NoTracebackForOurErrors()  # one instance: addFilter ignores a second add

# A flow that pauses for the organizer says so on this logger (flows/pauses.py): what it waits
# for, where to answer and the command. The terminal shows it whatever Prefect's log level.
_NOTICE_LOGGER = "mentorflow.pauses"


class _Echo(logging.Handler):
    """Print each record's message in the terminal, as the command's own output."""

    def emit(self, record: logging.LogRecord) -> None:
        typer.secho(record.getMessage(), fg=typer.colors.YELLOW)


_ECHO = _Echo()


def _show_pause_notices() -> None:
    notices = logging.getLogger(_NOTICE_LOGGER)
    notices.setLevel(logging.INFO)
    notices.propagate = False  # once here, not again through Prefect's console handler
    if _ECHO not in notices.handlers:
        notices.addHandler(_ECHO)


def fail(error: Exception, code: int = 1) -> NoReturn:
    """Print the error's message as one red line on stderr and leave with `code`."""
    typer.secho(str(error), err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def run_flow_quietly(spec: Path, start: Callable[[], T]) -> T:
    """Check `spec`, then return `start()`, a call that imports and runs a flow.

    A bad spec stops before Prefect starts; a MentorflowError raised inside the flow is logged by
    Prefect without its traceback; either way the command prints the message and exits 1. A flow
    that pauses for the organizer prints what it waits for and how to answer it.
    """
    from mentorflow.spec import load_spec

    try:
        load_spec(spec)
        for name in _RUN_LOGGERS:
            logging.getLogger(name).addFilter(_FILTER)
        _show_pause_notices()
        return start()
    except MentorflowError as error:
        fail(error)
