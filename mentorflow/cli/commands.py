"""The list of command modules, in the order `mentorflow --help` shows them."""

from __future__ import annotations

from types import ModuleType

from mentorflow.cli import (
    demo_cmd,
    deploy_cmd,
    erase_cmd,
    export_cmd,
    mail_cmd,
    match_cmd,
    organizer_cmd,
    report_cmd,
    results_cmd,
    run_cmd,
    screen_cmd,
    validate_cmd,
)

MODULES: list[ModuleType] = [
    validate_cmd,
    demo_cmd,
    run_cmd,
    screen_cmd,
    match_cmd,
    mail_cmd,
    organizer_cmd,
    erase_cmd,
    export_cmd,
    results_cmd,
    deploy_cmd,
    report_cmd,
]
