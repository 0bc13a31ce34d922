"""The matching flow on a seeded store: automatic approval, the organizer answering from code and
from the terminal (approve, rematch), and the "Matches" worksheet of a Google Sheets intake."""

from __future__ import annotations

import csv
import json
import logging
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run
from prefect.input.run_input import keyset_from_paused_state
from sqlalchemy import select
from typer.testing import CliRunner

from flows.matching import matching
from mentorflow.cli.main import app
from mentorflow.matching.handover import EXPORT_HEADER
from mentorflow.matching.synthetic import synthetic_records
from mentorflow.store.repo import ensure_cycle, ensure_program
from mentorflow.store.tables import events, match_members, matches, outbox
from tests.fakes.matching import enrol_records
from tests.fakes.sheets import FakeSheets
from tests.organizer_support import seed_cycle

pytestmark = pytest.mark.flow
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2027, 1, 26, 9, 0, tzinfo=UTC)
PROGRAM = "demo-mentoring"


def _spec(tmp_path: Path, approval: str, sheet: str | None = None) -> Path:
    text = (ROOT / "program_specs" / "one_to_one.yaml").read_text(encoding="utf-8")
    # The CSV must sit in the spec's folder (or MENTORFLOW_DATA_DIR): copy it beside the spec.
    shutil.copytree(ROOT / "program_specs" / "intake", tmp_path / "intake", dirs_exist_ok=True)
    if sheet:
        source = (
            f"source: {{type: google_sheet, key: {sheet}, worksheet: Formularantworten 1, "
            "credentials: {env: MENTORFLOW_TEST_SHEETS_JSON}}"
        )
        text = text.replace("source: {type: csv, path: intake/one_to_one.csv}", source)
        assert source in text
    text = text.replace("approval: automatic", f"approval: {approval}")
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mentees: int = 9, mentors: int = 4):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    return seed_cycle(url, mentees, mentors)


def _stored(engine, status: str) -> dict[str, set[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(matches.c.id, match_members.c.member_id)
            .join(match_members, match_members.c.match_id == matches.c.id)
            .where(matches.c.status == status)
        ).all()
    out: dict[str, set[str]] = {}
    for match_id, member_id in rows:
        out.setdefault(match_id, set()).add(member_id)
    return out


def _artifact(key: str) -> Any:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1
        )
    data = found[0].data
    return json.loads(data) if isinstance(data, str) else data


def test_automatic_approval_writes_matches_mails_and_export(tmp_path, monkeypatch):
    engine, _cycle = _seed(tmp_path, monkeypatch)
    outcome = matching(str(_spec(tmp_path, "automatic")))
    approved = _stored(engine, "approved")
    assert outcome["approved"] == len(approved) > 0
    assert all(len(ids) == 2 for ids in approved.values())
    with engine.connect() as conn:
        mails = conn.execute(select(outbox.c.member_id, outbox.c.purpose, outbox.c.text_body)).all()
    introduced = {m.member_id for m in mails if m.purpose == "introduction"}
    assert introduced == set().union(*approved.values())
    waitlisted = {m.member_id for m in mails if m.purpose == "waitlist"}
    assert len(waitlisted) == outcome["unmatched"] and not waitlisted & introduced
    some_intro = next(m.text_body for m in mails if m.purpose == "introduction")
    assert "Person Nummer" in some_intro  # the partner's name is in the mail, from the outbox
    # the spec's expectations for the first meeting, not the defaults
    assert "Rhythmus: alle zwei Wochen eine Stunde, per Video oder im Café" in some_intro
    assert "3. Ein erster Beitrag, den Ihr gemeinsam angeht" in some_intro
    export = tmp_path / "home" / "exports" / PROGRAM / "2027-02-01-matches.csv"
    rows = list(csv.DictReader(export.open(encoding="utf-8")))
    assert {r["match"] for r in rows} == set(approved)
    assert all(r["email"].endswith("@example.org") for r in rows)
    table = json.dumps(_artifact("demo-mentoring-matching"))
    assert "m_" in table and "@example.org" not in table and "Person Nummer" not in table


def _wait_paused(after=None, deadline: float = 60.0):
    """(flow run id, time of the pause) of the paused matching run, paused later than `after`."""
    state_filter = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    with get_client(sync_client=True) as client:
        began = time.monotonic()
        while time.monotonic() - began < deadline:
            for run in client.read_flow_runs(flow_run_filter=FlowRunFilter(state=state_filter)):
                if run.state and (after is None or run.state.timestamp > after):
                    return run.id, run.state.timestamp
            time.sleep(0.2)
    raise AssertionError("the matching flow never paused for approval")


def test_organizer_drops_a_pair_then_approves(tmp_path, monkeypatch):
    engine, _cycle = _seed(tmp_path, monkeypatch)
    outcome: dict = {}
    spec = _spec(tmp_path, "organizer")
    runner = threading.Thread(target=lambda: outcome.update(matching(str(spec), 1, 120, 1)))
    runner.start()
    run_id, paused_at = _wait_paused()
    proposal = _stored(engine, "proposed")
    dropped_id, dropped_members = sorted(proposal.items())[0]
    resume_flow_run(run_id, run_input={"drop_pairs": ["+".join(sorted(dropped_members))]})
    _wait_paused(after=paused_at)  # re-solved and shown again
    shown = _stored(engine, "proposed")
    assert shown and dropped_members not in shown.values()
    assert not set(shown) & set(proposal)  # a new proposal replaced the old one
    # the organizer approves from a terminal: `mentorflow approve SPEC --all`
    answered = CliRunner().invoke(app, ["approve", str(spec), "--all"])
    assert answered.exit_code == 0, answered.output
    assert str(run_id) in answered.output
    runner.join(timeout=120)
    assert not runner.is_alive()
    approved = _stored(engine, "approved")
    assert outcome["approved"] == len(approved) and dropped_members not in approved.values()
    assert _stored(engine, "dropped") == {dropped_id: dropped_members}


def _mails(engine) -> dict[str, set[str]]:
    """Purpose -> member ids with a mail of that purpose in the outbox."""
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.purpose, outbox.c.member_id)).all()
    out: dict[str, set[str]] = {}
    for purpose, member_id in rows:
        out.setdefault(purpose, set()).add(member_id)
    return out


def _cli(*args: str):
    answered = CliRunner().invoke(app, list(args))
    return answered.exit_code, answered.output


def test_organizer_drops_and_holds_back_from_the_terminal_then_a_member_asks_to_rematch(
    tmp_path, monkeypatch
):
    engine, _cycle = _seed(tmp_path, monkeypatch)
    outcome: dict = {}
    spec = str(_spec(tmp_path, "organizer"))
    runner = threading.Thread(target=lambda: outcome.update(matching(spec, 1, 120, 1)))
    runner.start()
    run_id, paused_at = _wait_paused()
    first, second = sorted(_stored(engine, "proposed").items())[:2]
    dropped_id, dropped_members = first
    held = sorted(second[1])[0]
    # `mentorflow approve SPEC --drop MATCH_ID --hold-back MEMBER_ID`
    code, output = _cli("approve", spec, "--drop", dropped_id, "--hold-back", held)
    assert code == 0 and str(run_id) in output, output
    _wait_paused(after=paused_at)  # re-solved and shown again
    shown = _stored(engine, "proposed")
    assert shown and dropped_members not in shown.values()
    assert held not in set().union(*shown.values())
    code, output = _cli("approve", spec, "--all")
    assert code == 0, output
    runner.join(timeout=120)
    assert not runner.is_alive() and outcome["approved"] == len(_stored(engine, "approved"))
    assert _stored(engine, "dropped") == {dropped_id: dropped_members}
    mails = _mails(engine)
    assert held not in mails["introduction"] | mails.get("waitlist", set())  # held back: no mail
    # a member of an approved pair asks for a rematch: `mentorflow rematch SPEC MATCH_ID --by ID`
    ended_id, ended_members = sorted(_stored(engine, "approved").items())[0]
    asker = sorted(ended_members)[0]
    code, output = _cli("rematch", spec, ended_id, "--by", asker)
    assert code == 0 and f"ended {ended_id}" in output, output
    assert _stored(engine, "ended") == {ended_id: ended_members}
    with engine.connect() as conn:
        logged = conn.execute(select(events.c.data).where(events.c.kind == "rematch_requested"))
        (data,) = logged.scalars().all()
    assert data["by"] == asker and set(data["members"]) == ended_members
    code, output = _cli("rematch", spec, ended_id)
    assert code == 1 and "is not approved or active" in output
    assert "Traceback" not in output


def test_approved_matches_go_to_a_matches_worksheet_of_the_intake_sheet(tmp_path, monkeypatch):
    from mentorflow.intake import sources

    engine, _cycle = _seed(tmp_path, monkeypatch)
    fake = FakeSheets()
    form = [["Zeitstempel", "E-Mail-Adresse"], ["26.01.2027 09:00:00", "person0@example.org"]]
    fake.add_spreadsheet("1SheetKey", {"Formularantworten 1": form})
    monkeypatch.setenv("MENTORFLOW_TEST_SHEETS_JSON", '{"client_email": "bot@example.org"}')
    monkeypatch.setattr(sources, "client_from_info", lambda info: fake.client())
    outcome = matching(str(_spec(tmp_path, "automatic", sheet="1SheetKey")))
    approved = _stored(engine, "approved")
    assert outcome["approved"] == len(approved) > 0
    written = fake.values("1SheetKey", "Matches")
    assert written[0] == EXPORT_HEADER
    rows = [dict(zip(EXPORT_HEADER, r, strict=True)) for r in written[1:]]
    assert {r["match"] for r in rows} == set(approved)
    assert {(r["match"], r["member_id"]) for r in rows} == {
        (match_id, member) for match_id, ids in approved.items() for member in ids
    }
    assert all(r["email"].endswith("@example.org") and r["name"] for r in rows)  # organizer's
    assert fake.values("1SheetKey", "Formularantworten 1") == form  # the answers stay as they were
    table = json.dumps(_artifact("demo-mentoring-matching"))
    assert "m_" in table and "@example.org" not in table and "Person Nummer" not in table


# --- Pauses anyone can answer (issue 8) -------------------------------------------------------


def _paused_of(program: str, after=None, deadline: float = 60.0):
    """The paused matching run tagged with `program`, paused later than `after`."""
    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    wanted = FlowRunFilter(state=state, tags=FlowRunFilterTags(all_=[f"program:{program}"]))
    with get_client(sync_client=True) as client:
        began = time.monotonic()
        while time.monotonic() - began < deadline:
            for run in client.read_flow_runs(flow_run_filter=wanted):
                if run.state and (after is None or run.state.timestamp > after):
                    return run
            time.sleep(0.2)
    raise AssertionError(f"no matching run of {program} paused")


def _logged(run_id, text: str, deadline: float = 30.0) -> bool:
    """Whether the run's logs on the server (what the UI shows) come to contain `text`."""
    wanted = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
    began = time.monotonic()
    with get_client(sync_client=True) as client:
        while time.monotonic() - began < deadline:  # logs reach the server in batches
            if any(text in log.message for log in client.read_logs(wanted)):
                return True
            time.sleep(0.5)
    return False


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


def test_an_answer_with_nothing_chosen_keeps_the_approval_waiting(tmp_path, monkeypatch):
    from flows.pauses import NOTICE_LOGGER

    engine, _cycle = _seed(tmp_path, monkeypatch)
    notices: list[str] = []
    monkeypatch.setattr(logging.getLogger(NOTICE_LOGGER), "handlers", [_Collect(notices)])
    monkeypatch.setattr(logging.getLogger(NOTICE_LOGGER), "level", logging.INFO)
    # the logger caches isEnabledFor per level: a level set by attribute needs a fresh cache
    monkeypatch.setattr(logging.getLogger(NOTICE_LOGGER), "_cache", {})
    outcome: dict = {}
    spec = str(_spec(tmp_path, "organizer"))
    runner = threading.Thread(target=lambda: outcome.update(matching(spec, 1, 120, 1)))
    runner.start()
    run = _paused_of(PROGRAM)
    # the form lists every proposed match id, so the organizer can copy one into drop_pairs
    with get_client(sync_client=True) as client:
        key = keyset_from_paused_state(run.state)["description"]
        description = json.loads(client.read_flow_run_input(run.id, key))
    assert set(_stored(engine, "proposed")) <= {
        line.split("`")[1] for line in description.splitlines() if line.startswith("| `")
    }
    # what `match` and `run matching` print in the terminal: the UI address and the command
    shown = "\n".join(notices)
    assert f"Waiting for the organizer: approval of {len(_stored(engine, 'proposed'))}" in shown
    assert f"/runs/flow-run/{run.id}" in shown and f"mentorflow approve {spec} --all" in shown
    resume_flow_run(run.id, run_input={})  # the UI's Submit with the defaults: nothing chosen
    again = _paused_of(PROGRAM, after=run.state.timestamp)
    assert again.id == run.id and runner.is_alive()
    assert _logged(run.id, "chose nothing") and _logged(run.id, "still waiting")
    assert _stored(engine, "approved") == {}
    code, output = _cli("approve", spec, "--drop", "m_nobody+m_noone")  # a typo: refused
    assert code == 1 and "not in the proposal: m_nobody+m_noone" in output, output
    code, output = _cli("approve", spec)  # nothing chosen on the command line either
    assert code == 2 and runner.is_alive()
    code, output = _cli("approve", spec, "--all")
    assert code == 0, output
    runner.join(timeout=120)
    assert not runner.is_alive() and outcome["approved"] == len(_stored(engine, "approved")) > 0


def _second_program(tmp_path: Path, engine) -> str:
    """A second program in the same store, with its own members and a spec that asks approval."""
    other = "other-mentoring"
    text = _spec(tmp_path, "organizer").read_text(encoding="utf-8")
    path = tmp_path / "other.yaml"
    path.write_text(text.replace("id: demo-mentoring", f"id: {other}", 1), encoding="utf-8")
    records = [
        {**r, "id": r["id"].replace("m_", "m_o")}
        for r in synthetic_records(9, 4, seed=12, max_capacity=2)
    ]
    with engine.begin() as conn:
        ensure_program(conn, other, "Other", NOW)
        cycle = ensure_cycle(conn, other, "2027-02-01", NOW.date(), NOW.date(), NOW)
        enrol_records(conn, program_id=other, cycle_id=cycle.id, records=records, now=NOW)
    return str(path)


def _approved_programs(engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(matches.c.id, match_members.c.member_id)
            .join(match_members, match_members.c.match_id == matches.c.id)
            .where(matches.c.status == "approved")
        ).all()
    return {"other" if member.startswith("m_o") else "demo" for _, member in rows}


def test_approve_answers_only_the_run_of_its_own_program(tmp_path, monkeypatch):
    engine, _cycle = _seed(tmp_path, monkeypatch)
    demo, other = str(_spec(tmp_path, "organizer")), _second_program(tmp_path, engine)
    outcomes: dict[str, dict] = {"demo": {}, "other": {}}
    runners = {
        name: threading.Thread(
            target=lambda n=name, s=path: outcomes[n].update(matching(s, 1, 120, 1))
        )
        for name, path in (("other", other), ("demo", demo))
    }
    runners["other"].start()
    other_run = _paused_of("other-mentoring")
    runners["demo"].start()
    demo_run = _paused_of(PROGRAM)
    code, output = _cli("approve", demo, "--all")
    assert code == 0 and str(demo_run.id) in output and str(other_run.id) not in output
    runners["demo"].join(timeout=120)
    assert not runners["demo"].is_alive() and runners["other"].is_alive()
    assert _approved_programs(engine) == {"demo"}
    assert _paused_of("other-mentoring").id == other_run.id  # still waiting for its organizer
    code, output = _cli("approve", demo, "--all")  # nothing of demo's waits any more
    assert code == 1 and "no matching run of demo-mentoring 2027-02-01" in output
    code, output = _cli("approve", other, "--all")
    assert code == 0 and str(other_run.id) in output
    runners["other"].join(timeout=120)
    assert _approved_programs(engine) == {"demo", "other"}


def test_a_run_started_again_takes_up_the_proposal_it_showed_until_replaced_or_decided(
    tmp_path, monkeypatch
):
    from prefect.logging import disable_run_logger

    from flows.matching import approve_matches, propose_matches, shown_proposal
    from mentorflow.spec import load_spec

    engine, cycle = _seed(tmp_path, monkeypatch)
    spec = load_spec(_spec(tmp_path, "organizer"))
    with disable_run_logger():
        shown = propose_matches.fn(engine, spec, cycle.id, 1, ["m_held"], "run-1")
        assert shown is not None
        # after a suspension the run finds exactly what it showed: same ids, same result
        assert shown_proposal.fn(engine, cycle.id, 1, "run-1") == shown
        assert shown.held == ("m_held",)
        assert shown_proposal.fn(engine, cycle.id, 1, "run-2") is None  # not another run's
        # another run proposed meanwhile: the first run's answer no longer applies to anything
        replaced = propose_matches.fn(engine, spec, cycle.id, 1, [], "run-2")
        assert shown_proposal.fn(engine, cycle.id, 1, "run-1") is None
        assert shown_proposal.fn(engine, cycle.id, 1, "run-2") == replaced
        approve_matches.fn(engine, spec, cycle.id, 1)
        assert shown_proposal.fn(engine, cycle.id, 1, "run-2") is None  # decided
