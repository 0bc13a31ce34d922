"""Which Prefect deployments a program needs, read from its spec: pure data, no Prefect.

`mentorflow deploy SPEC...` (mentorflow/cli/deploy_cmd.py) turns each plan into a deployment on
the Prefect server. Schedules run in the program's time zone, so "hourly" and "daily at 03:15"
mean the organizer's hours across daylight saving. Names are `<program id>-<stage>`; tags are
`mentorflow`, `program:<id>` and `stage:<stage>`, the same tags the runs get (flows/labels.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from mentorflow.spec.model import ProgramSpec


@dataclass(frozen=True)
class DeploymentPlan:
    stage: str
    flow_name: str  # the @flow's name: Prefect shows deployments as <flow name>/<deployment name>
    entrypoint: str  # relative to the folder that holds `flows/`
    description: str
    cron: str | None  # None: started by the organizer
    concurrency_limit: int | None = None

    def name(self, spec: ProgramSpec) -> str:
        return f"{spec.program.id}-{self.stage}"

    def tags(self, spec: ProgramSpec) -> list[str]:
        return ["mentorflow", f"program:{spec.program.id}", f"stage:{self.stage}"]


INTAKE = DeploymentPlan(
    "intake",
    "intake",
    "flows/intake.py:intake",
    "Read new sign-ups from the form every hour; quarantine what cannot be read.",
    "0 * * * *",
)
MATCHING = DeploymentPlan(
    "matching",
    "matching",
    "flows/matching.py:matching",
    "Propose matches once intake has closed; waits for the organizer's approval when the spec"
    " asks for it. Started by the organizer.",
    None,
)
MAIL = DeploymentPlan(
    "mail",
    "send_mail",
    "flows/deliver.py:send_mail",
    "Deliver pending mail every 15 minutes, within the spec's daily limit; one run at a time.",
    "*/15 * * * *",
    concurrency_limit=1,
)
TICK = DeploymentPlan(
    "tick",
    "tick",
    "flows/tick.py:tick",
    "The engagement tick, hourly: milestone mails, check-ins, nudges, pauses, rematch offers and"
    " the organizer digest, each in the member's own send window. One run at a time.",
    "5 * * * *",
    concurrency_limit=1,
)
SURVEYS = DeploymentPlan(
    "surveys",
    "surveys",
    "flows/surveys.py:read_survey_forms",
    "Read the answers of surveys answered in a Google Form, every hour.",
    "30 * * * *",
)
RETROSPECTIVE = DeploymentPlan(
    "retrospective",
    "retrospective",
    "flows/retrospective.py:retrospective",
    "The cycle's retrospective report and the next-cycle proposal, daily: the figures grow as"
    " answers come in and are final once the cycle has closed.",
    "45 6 * * *",
)
CLOSURE = DeploymentPlan(
    "closure",
    "closure",
    "flows/closure.py:closure",
    "Close the cycle once it has ended (the hourly tick does it by itself on the last day):"
    " closure mails, mentor certificates, alumni invitations. Started by hand.",
    None,
)
RETENTION = DeploymentPlan(
    "retention",
    "retention",
    "flows/retention.py:retention",
    "Erase the personal data of members past the spec's retention period, daily.",
    "30 3 * * *",
)
CYCLE = DeploymentPlan(
    "cycle",
    "run_cycle",
    "flows/cycle.py:run_cycle",
    "Every stage of a whole cycle, in order. Started by the organizer.",
    None,
)


def plan_deployments(spec: ProgramSpec) -> list[DeploymentPlan]:
    """The deployments `spec` needs; the surveys one only where a survey is answered in a Form."""
    uses_forms = any(s.answer_mode == "google_form" for s in spec.surveys.values())
    return [
        INTAKE,
        MATCHING,
        MAIL,
        TICK,
        *([SURVEYS] if uses_forms else []),
        CLOSURE,
        RETROSPECTIVE,
        RETENTION,
        CYCLE,
    ]
