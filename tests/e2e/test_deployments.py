"""prefect.yaml on a real Prefect server: deploy everything, let a process worker run a cycle."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(api: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "prefect server exited"
        try:
            if requests.get(f"{api}/health", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail("prefect server did not become healthy")


def _prefect(env: dict[str, str], *args: str, timeout: float = 240) -> str:
    result = subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _mentorflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mentorflow"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@contextlib.contextmanager
def _worker(env: dict[str, str]) -> Iterator[None]:
    """A process worker on the `mentorflow` pool while the block runs; it goes before the server
    (NOTES.md)."""
    worker = subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", "mentorflow"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def _run_on_a_worker(env: dict[str, str], deployment: str) -> str:
    """Start a process worker, run `deployment` and watch it."""
    with _worker(env):
        return _prefect(env, "deployment", "run", deployment, "--watch", "--watch-timeout", "200")


@pytest.fixture
def prefect_server(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "MENTORFLOW_CHECKOUT": str(ROOT),
        "MENTORFLOW_HOME": str(tmp_path / "home"),
    }
    env.pop("MENTORFLOW_DB_URL", None)
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(env["PREFECT_API_URL"], server)
        yield env
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def test_deploy_all_and_run_a_cycle_on_a_worker(prefect_server, tmp_path):
    env = prefect_server
    _prefect(env, "work-pool", "create", "mentorflow", "--type", "process")
    _prefect(env, "deploy", "--all")
    listing = _prefect(env, "deployment", "ls")
    for name in ("intake", "matching", "send_mail", "run_cycle"):
        assert name in listing
    out = _run_on_a_worker(env, "run_cycle/demo-mentoring-cycle")
    assert "Completed" in out
    mails = list((tmp_path / "home" / "outbox").rglob("*.eml"))
    assert any("_welcome_" in path.name for path in mails)
    assert any("_introduction_" in path.name for path in mails)


def test_mentorflow_deploy_makes_every_stage_per_program_and_a_worker_runs_them(
    prefect_server, tmp_path
):
    env = prefect_server
    _prefect(env, "work-pool", "create", "mentorflow", "--type", "process")
    job_home = tmp_path / "job-home"
    specs = ["program_specs/one_to_one.yaml", "program_specs/peer.yaml"]
    broken = "tests/specs/invalid/several_problems.yaml"
    result = _mentorflow(env, "deploy", specs[0], broken, specs[1], "--home", str(job_home))
    assert result.returncode == 1  # the broken spec is reported ...
    assert f"{broken}: not deployed: 6 problem(s)" in result.stderr
    assert "peer.yaml: tick/fachschaft-peer-tandems-tick" in result.stdout  # ... and skipped

    api = env["PREFECT_API_URL"]
    found = requests.post(f"{api}/deployments/filter", json={}, timeout=10).json()
    by_name = {d["name"]: d for d in found}
    for program in ("demo-mentoring", "fachschaft-peer-tandems"):
        stages = ("intake", "matching", "mail", "tick", "closure", "retrospective", "retention")
        for stage in (*stages, "cycle"):
            deployment = by_name[f"{program}-{stage}"]
            assert {f"program:{program}", f"stage:{stage}"} <= set(deployment["tags"])
            assert deployment["job_variables"] == {"env": {"MENTORFLOW_HOME": str(job_home)}}
    tick = by_name["demo-mentoring-tick"]
    assert [s["schedule"]["timezone"] for s in tick["schedules"]] == ["Europe/Berlin"]
    assert by_name["demo-mentoring-matching"]["schedules"] == []

    out = _run_on_a_worker(env, "intake/fachschaft-peer-tandems-intake")
    assert "Completed" in out
    assert list((job_home / "outbox").rglob("*_welcome_*.eml"))  # the job variable reached the run
    runs = requests.post(f"{api}/flow_runs/filter", json={}, timeout=10).json()
    intake_id = by_name["fachschaft-peer-tandems-intake"]["id"]
    (run,) = [r for r in runs if r["deployment_id"] == intake_id and r["state_type"] == "COMPLETED"]
    assert run["name"].startswith("fachschaft-peer-tandems/intake/")
    assert "stage:intake" in run["tags"]


def _flow_processes(run_id: str) -> list[int]:
    """Live processes that run flow run `run_id` (a worker starts them with its id in the env)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if f"PREFECT__FLOW_RUN_ID={run_id}".encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue  # not a process, gone meanwhile, or not ours to read
    return found


def _wait_run(api: str, run_id: str, done, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = requests.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
        if done(run):
            return run
        time.sleep(0.5)
    pytest.fail(f"flow run {run_id} never got there: {run['state_type']} {run['state_name']}")


def test_a_deployed_matching_run_suspends_and_its_rerun_approves_what_was_shown(
    prefect_server, tmp_path
):
    from sqlalchemy import select

    from mentorflow.store.tables import match_members, matches, outbox, reviews
    from tests.organizer_support import organizer_spec, seed_cycle

    env = prefect_server
    api = env["PREFECT_API_URL"]
    job_home = tmp_path / "job-home"
    env = {**env, "MENTORFLOW_HOME": str(job_home)}  # the CLI below answers from the same home
    spec = organizer_spec(tmp_path)
    job_home.mkdir()
    engine, _cycle = seed_cycle(f"sqlite:///{job_home / 'mentorflow.db'}")
    _prefect(env, "work-pool", "create", "mentorflow", "--type", "process")
    deployed = _mentorflow(env, "deploy", str(spec), "--home", str(job_home))
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    with _worker({**env, "PREFECT_WORKER_QUERY_SECONDS": "1"}):  # picks up the resumed run soon
        started = _prefect(env, "deployment", "run", "matching/demo-mentoring-matching")
        run_id = next(w for w in started.split() if w.count("-") == 4)  # the flow run's UUID
        run = _wait_run(api, run_id, lambda r: r["state_type"] == "PAUSED")
        assert run["state_name"] == "Suspended"
        assert run["state"]["state_details"]["pause_reschedule"] is True
        _wait_run(api, run_id, lambda r: not _flow_processes(run_id), seconds=30)  # no process
        with engine.connect() as conn:
            shown = set(
                conn.execute(select(matches.c.id).where(matches.c.status == "proposed")).scalars()
            )
        assert shown
        # the organizer answers as `mentorflow approve` does (also the proposal page's path)
        answered = _mentorflow(env, "approve", str(spec), "--all")
        assert answered.returncode == 0 and run_id in answered.stdout, answered.stderr[-2000:]
        # answered, it is "Resuming" (SCHEDULED) until the worker runs it again; a run that asked
        # again (PAUSED) would not have found the proposal it showed
        ended = ("COMPLETED", "FAILED", "CRASHED", "PAUSED")
        run = _wait_run(api, run_id, lambda r: r["state_type"] in ended)
        assert run["state_type"] == "COMPLETED", run["state_name"]
    with engine.connect() as conn:
        approved = set(
            conn.execute(select(matches.c.id).where(matches.c.status == "approved")).scalars()
        )
        members = (
            conn.execute(
                select(match_members.c.member_id).where(match_members.c.match_id.in_(approved))
            )
            .scalars()
            .all()
        )
        introductions = (
            conn.execute(select(outbox.c.member_id).where(outbox.c.purpose == "introduction"))
            .scalars()
            .all()
        )
        asked = conn.execute(select(reviews.c.closed_as).where(reviews.c.kind == "proposal")).all()
    assert approved == shown  # the re-run approved the proposal shown, not a new one
    assert sorted(introductions) == sorted(members)  # each introduced once
    assert asked == [("decided",)]  # one question, asked once, decided
