"""The whole cycle as one parent flow: intake, matching with introductions, then mail delivery.

Closure runs last: before the cycle's last day it does nothing (the deployed tick closes the
cycle by itself on that day); run after the end, it closes the cycle. Later stages join here.
"""

from __future__ import annotations

from prefect import flow

from flows.closure import closure
from flows.deliver import send_mail
from flows.intake import intake
from flows.labels import labelled
from flows.matching import matching
from mentorflow.spec import load_spec, require_runtime


@flow(name="run_cycle", **labelled("cycle"))
def run_cycle(spec_path: str) -> dict[str, dict]:
    """Run every stage built so far for the program in `spec_path`; returns each stage's counts.

    Args:
        spec_path: The program spec (YAML) on the worker; the only member-free way to name a
            program. Member data never goes into a parameter.
    """
    require_runtime(load_spec(spec_path))  # a bad spec stops the cycle before any stage starts
    return {
        "intake": intake(spec_path),
        "matching": matching(spec_path),
        "mail": send_mail(spec_path),
        "closure": closure(spec_path),
    }
