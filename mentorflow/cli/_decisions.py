"""The organizer pages' answers to paused flow runs, backed by Prefect (web core stays clean)."""

from __future__ import annotations

from mentorflow.cli.match_cmd import answer_approval
from mentorflow.cli.screen_cmd import answer_screening
from mentorflow.errors import MentorflowError
from mentorflow.spec import ProgramSpec
from mentorflow.web.organizer_routes import WaitingRun


class PrefectDecisions:
    """`Decisions` for `mentorflow serve`: the same calls as `mentorflow approve` and `screen`."""

    def waiting(self, flow_name: str, spec: ProgramSpec) -> WaitingRun | None:
        from mentorflow.cli._pauses import paused_run

        try:
            run = paused_run(flow_name, spec.program.id, spec.cycle.label, None)
        except MentorflowError:  # none waits, or two do (then the terminal's --run decides)
            return None
        return WaitingRun(str(run.id), int(run.parameters.get("round_no", 1)))

    def approve_matches(
        self, spec: ProgramSpec, *, approve_all: bool, drop: list[str], hold_back: list[str]
    ) -> str:
        return answer_approval(spec, approve_all, drop, hold_back)

    def screen(self, spec: ProgramSpec, *, approve: list[str], decline: list[str]) -> str:
        return answer_screening(spec, approve, decline)
