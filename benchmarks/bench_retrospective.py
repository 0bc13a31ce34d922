"""Retrospective of a 10,000-member cycle with three surveys answered: target <= 10 s.

Run: .venv/bin/python -m benchmarks.bench_retrospective [--count N] [--quick]

A SQLite store holds one cycle of N members (half mentors, half mentees, N/2 approved pairs with
their matching explanations; 10% ended early), N sign-up rows, two check-in answers per member,
a baseline, a pulse and an exit answer per member (3N responses), their 3N invitations and N
check-in mails in the outbox, 1% pauses, 200 shared stories. Measured: `run_retrospective` whole
(read, figures, the stored aggregate, HTML and Markdown report with five plots, the next-cycle
proposal with its spec checks), from a cold start: the first imports of scipy.stats and matplotlib
(about 1-2 s) are inside the figure. Baseline: the same rows read with plain SQL through sqlite3
(every table of the cycle, fetchall, no figures): what reading alone costs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from mentorflow.retrospective.run import run_retrospective
from mentorflow.spec import load_spec
from mentorflow.store.db import open_store
from mentorflow.store.repo import ensure_cycle, ensure_program
from mentorflow.store.tables import (
    checkins,
    enrolments,
    intake_rows,
    match_members,
    matches,
    member_pauses,
    members,
    outbox,
    survey_responses,
    survey_stories,
)

SPEC = Path(__file__).resolve().parents[1] / "tests" / "data" / "retrospective" / "retro.yaml"
NOW = datetime(2027, 6, 1, 9, tzinfo=UTC)
TARGET = 10.0
TABLES = (
    "enrolments",
    "intake_rows",
    "matches",
    "match_members",
    "checkins",
    "member_pauses",
    "survey_responses",
    "outbox",
    "survey_stories",
    "events",
)


def _rows(spec, cycle_id: int, count: int, rng: random.Random) -> dict:  # type: ignore[no-untyped-def]
    start = datetime.combine(spec.cycle.start, datetime.min.time(), tzinfo=UTC)
    ids = [f"m_bench{i:06d}" for i in range(count)]
    half = count // 2
    mentors, mentees = ids[:half], ids[half:]
    rows: dict = {t: [] for t in (members, enrolments, intake_rows, matches, match_members)}
    rows.update(
        {t: [] for t in (checkins, member_pauses, survey_responses, outbox, survey_stories)}
    )
    for i, m in enumerate(ids):
        rows[members].append(
            {
                "id": m,
                "program_id": spec.program.id,
                "email": f"{m}@example.org",
                "name": m,
                "language": "en",
                "timezone": "Europe/Berlin",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        role = "mentor" if i < half else "mentee"
        rows[enrolments].append(
            {
                "cycle_id": cycle_id,
                "member_id": m,
                "role": role,
                "status": "enrolled",
                "answers": {"goals": ["code"]},
                "capacity": 1,
                "priority": 0,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        rows[intake_rows].append(
            {
                "cycle_id": cycle_id,
                "source": "csv:intake.csv",
                "row_number": i + 2,
                "row_hash": f"{i:064d}",
                "outcome": "accepted",
                "member_id": m,
                "reasons": [],
                "created_at": NOW,
            }
        )
    for k, (mentor, mentee) in enumerate(zip(mentors, mentees, strict=False)):
        match_id = f"p_bench{k:06d}"
        goals, hours = rng.random(), rng.random()
        early = rng.random() < 0.1
        rows[matches].append(
            {
                "id": match_id,
                "cycle_id": cycle_id,
                "round": 1,
                "status": "ended",
                "score": 2 * goals + hours,
                "created_at": NOW,
                "approved_at": start - timedelta(days=2),
                "ended_at": start + timedelta(days=40 if early else 84),
                "end_reason": f"rematch requested by {mentee}" if early else "cycle closed",
                "explanation": [
                    {
                        "a": mentor,
                        "b": mentee,
                        "score": 2 * goals + hours,
                        "contributions": [
                            {
                                "criterion": "overlap:goals",
                                "kind": "overlap",
                                "weight": 2.0,
                                "score": goals,
                            },
                            {
                                "criterion": "availability:availability",
                                "kind": "availability",
                                "weight": 1.0,
                                "score": hours,
                            },
                        ],
                    }
                ],
            }
        )
        for m, side in ((mentor, "mentor"), (mentee, "mentee")):
            rows[match_members].append({"match_id": match_id, "member_id": m, "side": side})
            for occurrence in ("checkin-1", "checkin-2"):
                answer = "met" if rng.random() < 0.4 + 0.5 * goals else "not_yet"
                rows[checkins].append(
                    {
                        "cycle_id": cycle_id,
                        "match_id": match_id,
                        "member_id": m,
                        "occurrence": occurrence,
                        "answer": answer,
                        "answered_at": start + timedelta(days=15),
                    }
                )
            for survey, answers in (
                ("baseline", {"growth": rng.randint(1, 3)}),
                ("pulse", {"quality": rng.randint(4, 10)}),
                ("exit", {"growth": rng.randint(2, 5), "contributions": rng.randint(0, 4)}),
            ):
                occurrence = f"{survey}-1.{match_id}"
                rows[survey_responses].append(
                    {
                        "cycle_id": cycle_id,
                        "member_id": m,
                        "survey_id": survey,
                        "occurrence": occurrence,
                        "answers": answers,
                        "channel": "web",
                        "submitted_at": start + timedelta(days=30),
                        "match_id": match_id,
                    }
                )
                rows[outbox].append(_mail(spec, cycle_id, m, "survey", occurrence))
            rows[outbox].append(_mail(spec, cycle_id, m, "check_in", f"checkin-1.{match_id}"))
    for m in rng.sample(ids, count // 100):
        rows[member_pauses].append(
            {
                "cycle_id": cycle_id,
                "member_id": m,
                "kind": "pause",
                "starts_at": start + timedelta(days=35),
                "ends_at": start + timedelta(days=49),
                "reason": None,
                "created_at": NOW,
            }
        )
    for m in rng.sample(mentees, min(200, len(mentees))):
        rows[survey_stories].append(
            {
                "cycle_id": cycle_id,
                "member_id": m,
                "survey_id": "pulse",
                "occurrence": "pulse-1",
                "text": "A short story about a first pull request.",
                "share": True,
                "consent_at": NOW,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    return rows


def _mail(spec, cycle_id: int, member: str, purpose: str, occurrence: str) -> dict:  # type: ignore[no-untyped-def]
    return {
        "key": f"{spec.program.id}:{spec.cycle.label}:{member}:{purpose}:{occurrence}",
        "program_id": spec.program.id,
        "cycle_id": cycle_id,
        "member_id": member,
        "purpose": purpose,
        "template": "survey_invitation",
        "language": "en",
        "headers": {},
        "status": "sent",
        "attempts": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }


def setup_store(folder: Path, count: int):  # type: ignore[no-untyped-def]
    spec_dir = folder / "spec"
    shutil.copytree(SPEC.parent, spec_dir)
    spec = load_spec(spec_dir / SPEC.name)
    url = f"sqlite:///{folder / 'retro.db'}"
    engine = open_store(url)
    with engine.begin() as conn:
        ensure_program(conn, spec.program.id, spec.program.name, NOW, str(spec.path), spec.sha256)
        cycle = ensure_cycle(
            conn, spec.program.id, spec.cycle.label, spec.cycle.start, spec.cycle.end, NOW
        )
        for table, rows in _rows(spec, cycle.id, count, random.Random(7)).items():
            if rows:
                conn.execute(insert(table), rows)
    return engine, spec, folder / "retro.db"


def baseline(db: Path) -> tuple[float, int]:
    began = time.perf_counter()
    conn = sqlite3.connect(db)
    read = sum(len(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in TABLES)
    conn.close()
    return time.perf_counter() - began, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 instead of 10,000")
    args = parser.parse_args()
    count = 1_000 if args.quick else args.count
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        os.environ["MENTORFLOW_HOME"] = str(folder / "home")
        engine, spec, db = setup_store(folder, count)
        began = time.perf_counter()
        outcome = run_retrospective(engine, spec, NOW)
        seconds = time.perf_counter() - began
        base, rows = baseline(db)
        p = outcome.figures["participation"]
        ok = seconds <= TARGET and p["enrolled"] == count
        print(
            f"retrospective of {count} members ({count // 2} pairs, {3 * count} survey answers): "
            f"{seconds:.2f} s, enrolled {p['enrolled']}, matched {p['matched']['n']}, "
            f"{outcome.report_html.stat().st_size // 1024} KiB HTML  "
            f"[target <= {TARGET:.0f} s: {'ok' if ok else 'MISSED'}]"
        )
        print(
            f"  baseline plain SQL reads of the same {rows} rows: {base:.2f} s; "
            f"ratio {seconds / base:.1f}x"
        )
        print(f"  load: {os.getloadavg()[0]:.2f} (1 min average)")


if __name__ == "__main__":
    main()
