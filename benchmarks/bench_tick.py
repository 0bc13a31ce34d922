"""Engagement tick: the kickoff tick of a 10,000-member program through Prefect, and an empty tick.

Run: .venv/bin/python -m benchmarks.bench_tick [--pairs N | --quick]
Both ticks run the real `tick` flow (temporary Prefect server, SQLite store) and deliver to a
local aiosmtpd server. Baseline: the same number of mails through the bare transport
(`SmtpSender`, pre-rendered, no store, no Prefect), as in bench_mail. Targets: kickoff <= 20 s,
empty tick <= 2 s. The first flow run (Prefect's temporary server starting) is shown apart.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "data" / "issue9" / "walk.yaml"
APPROVED = datetime(2027, 2, 20, 12, tzinfo=UTC)


def _spec(folder: Path, port: int) -> Path:
    text = SPEC.read_text(encoding="utf-8")  # data files live in the spec's folder
    shutil.copy(SPEC.parent / "walk.csv", folder / "walk.csv")
    smtp = f"  smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout_seconds: 30}}\n"
    text = text.replace(
        "  base_url: http://127.0.0.1:8000\n",
        "  base_url: http://127.0.0.1:8000\n  daily_limit: 50000\n" + smtp,
    )
    path = folder / "bench_tick.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _seed(url: str, spec_path: Path, pairs: int) -> None:
    """`pairs` approved pairs, everyone in Europe/Berlin: the whole kickoff falls in one tick."""
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store
    from mentorflow.store.repo import ensure_cycle, ensure_program
    from mentorflow.store.tables import enrolments, match_members, matches, members

    spec = load_spec(spec_path)
    engine = open_store(url)
    with engine.begin() as conn:
        ensure_program(conn, spec.program.id, spec.program.name, APPROVED)
        cycle = ensure_cycle(
            conn, spec.program.id, spec.cycle.label, spec.cycle.start, spec.cycle.end, APPROVED
        )
        people = [(f"m_{i:06d}", "mentor" if i % 2 == 0 else "mentee") for i in range(2 * pairs)]
        stamp = {"created_at": APPROVED, "updated_at": APPROVED}
        conn.execute(
            members.insert(),
            [
                {
                    "id": m,
                    "program_id": spec.program.id,
                    "email": f"{m}@example.org",
                    "name": f"Zoë Nummer {m[2:]}",
                    "language": "de" if i % 2 else "en",
                    "timezone": "Europe/Berlin",
                    **stamp,
                }
                for i, (m, _) in enumerate(people)
            ],
        )
        conn.execute(
            enrolments.insert(),
            [
                {
                    "cycle_id": cycle.id,
                    "member_id": m,
                    "role": role,
                    "status": "enrolled",
                    "answers": {},
                    "capacity": 1,
                    "priority": 0,
                    **stamp,
                }
                for m, role in people
            ],
        )
        conn.execute(
            matches.insert(),
            [
                {
                    "id": f"p_{n:06d}",
                    "cycle_id": cycle.id,
                    "round": 1,
                    "status": "approved",
                    "score": 1.0,
                    "explanation": [],
                    "created_at": APPROVED,
                    "approved_at": APPROVED,
                }
                for n in range(pairs)
            ],
        )
        conn.execute(
            match_members.insert(),
            [
                {"match_id": f"p_{i // 2:06d}", "member_id": m, "side": role}
                for i, (m, role) in enumerate(people)
            ],
        )
    engine.dispose()


def _timed(spec_path: Path, as_of: str) -> tuple[float, dict]:
    from flows.tick import tick

    started = time.perf_counter()
    outcome = tick(str(spec_path), as_of=as_of)
    return time.perf_counter() - started, outcome


def _bare(spec_path: Path, count: int) -> float:
    from benchmarks.bench_mail import bench_bare
    from mentorflow.mail.settings import mail_runtime
    from mentorflow.spec import load_spec

    return bench_bare(mail_runtime(load_spec(spec_path)), count)


def _core(folder: Path, spec_path: Path, pairs: int) -> tuple[float, float, float]:
    """The kickoff again without Prefect, phase by phase, on a fresh store (for the breakdown)."""
    from flows.deliver import mail_settings
    from mentorflow.clock import FixedClock
    from mentorflow.engagement import run
    from mentorflow.mail.outbox import deliver_pending
    from mentorflow.mail.sender import sender_for
    from mentorflow.spec import load_spec
    from mentorflow.store.db import open_store

    url = f"sqlite:///{folder / 'core.db'}"
    _seed(url, spec_path, pairs)
    spec, engine = load_spec(spec_path), open_store(url)
    settings = mail_settings(spec)
    as_of = datetime(2027, 3, 1, 8, tzinfo=UTC)
    started = time.perf_counter()
    prepared = run.prepare(engine, spec, as_of)
    planned = time.perf_counter()
    run.queue_plan(engine, spec, settings, prepared)  # type: ignore[arg-type]
    queued = time.perf_counter()
    deliver_pending(engine, settings=settings, sender=sender_for(settings), clock=FixedClock(as_of))
    return planned - started, queued - planned, time.perf_counter() - queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5_000)
    parser.add_argument("--quick", action="store_true", help="500 pairs instead of 5,000")
    args = parser.parse_args()
    pairs = min(args.pairs, 500) if args.quick else args.pairs
    from benchmarks.bench_mail import _free_port, _start_server, _stop_server

    port = _free_port()
    server = _start_server(port)  # its own process, as a real server (see bench_mail.serve)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            os.environ.update(
                MENTORFLOW_DB_URL=f"sqlite:///{folder / 'store.db'}",
                MENTORFLOW_HOME=str(folder / "home"),
                PREFECT_HOME=str(folder / "prefect"),
                PREFECT_SERVER_ANALYTICS_ENABLED="false",
                DO_NOT_TRACK="1",
                PREFECT_LOGGING_LEVEL="WARNING",
                PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",  # a loaded machine
            )
            (folder / "home").mkdir()
            spec_path = _spec(folder, port)
            _seed(os.environ["MENTORFLOW_DB_URL"], spec_path, pairs)
            first_s, _ = _timed(spec_path, "2027-02-26T10:00")  # nothing due; Prefect starts
            kickoff_s, kickoff = _timed(spec_path, "2027-03-01T09:00")
            empty_s, empty = _timed(spec_path, "2027-03-01T10:00")
            bare_s = _bare(spec_path, 2 * pairs)
            plan_s, queue_s, deliver_s = _core(folder, spec_path, pairs)
    finally:
        received = _stop_server(server)
    members = 2 * pairs
    print(f"program: {members} members, {pairs} pairs, all in Europe/Berlin")
    print(f"first flow run (Prefect start, nothing due): {first_s:6.1f} s")
    print(
        f"kickoff tick through Prefect: {kickoff_s:6.1f} s  target <= 20 s  "
        f"(queued {kickoff['queued']}; the server received {received} in all legs)"
    )
    print(
        f"empty tick through Prefect:   {empty_s:6.2f} s  target <= 2 s  (queued {empty['queued']})"
    )
    print(f"bare transport, {members} mails: {bare_s:6.1f} s")
    print(f"ratio kickoff tick / bare transport: {kickoff_s / bare_s:.2f}")
    print(
        f"the same kickoff in the core, no Prefect (fresh store): plan {plan_s:.2f} s, "
        f"render+queue {queue_s:.1f} s, outbox delivery {deliver_s:.1f} s"
    )


if __name__ == "__main__":
    main()
