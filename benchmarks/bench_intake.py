"""Intake throughput: 100,000 form rows from CSV validated, deduplicated, stored in SQLite, and
their welcome (and not-enrolled, fix-your-sign-up) mails rendered into the outbox.

Run: .venv/bin/python -m benchmarks.bench_intake [--rows N] [--quick]
Target (issue 8): 100,000 rows including queuing their mails in <= 15 s. Each step also prints
the process's CPU time: on a shared machine the wall time grows with the load, the CPU time
much less (the rest is waiting for a core or the disk).
Baseline: the same CSV through a bare `csv.DictReader` and one `executemany` insert of the raw
rows into a SQLite table (no mapping, no validation, no dedupe, no mail): the floor any intake
pays.
The generated rows are realistic: German Forms timestamps, several time zones, multi-select
answers, 5% resubmissions, 2% without consent and 3% with fixable or broken answers.
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mentorflow.clock import FixedClock
from mentorflow.intake.mails import queue_intake_mails
from mentorflow.intake.service import ingest
from mentorflow.intake.sources import read_csv
from mentorflow.mail.settings import MailRuntime
from mentorflow.store.db import open_store
from tests.fakes.intake import HEADER, YES, intake_spec

TARGET_SECONDS = 15.0
ZONES = ["Europe/Berlin", "Europe/Vienna", "UTC+2", "+05:30", "America/New_York", "Asia/Tokyo"]
SLOTS = ["Mo 18-20", "Di 09:00-11:00", "Mi 19-21", "Do 18-20", "Sa 10-12", "Sun 16:00-18:00"]
GOALS = ["Karriere", "Python", "Netzwerk", "Führung", "Data Science", "Bewerbung", "Open Source"]


def generate(path: Path, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 12, 1, 8, 0)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for i in range(count):
            person = rng.randrange(count) if rng.random() < 0.05 else i  # resubmissions
            at = start + timedelta(seconds=i * 15)
            role = "Mentor:in" if person % 3 == 0 else "Mentee"
            zone = rng.choice(ZONES) if rng.random() > 0.02 else "Berlin Zeit"
            slots = ", ".join(rng.sample(SLOTS, rng.randint(1, 3)))
            writer.writerow(
                [
                    at.strftime("%d.%m.%Y %H:%M:%S"),
                    f"person{person}@example.org" if rng.random() > 0.01 else f"person{person}@",
                    f"Person Nummer {person} Müller",
                    role,
                    rng.choice(["Deutsch", "Englisch"]),
                    zone,
                    slots,
                    ", ".join(rng.sample(GOALS, rng.randint(1, 3))),
                    "Deutsch, Englisch",
                    str(rng.randint(1, 3)) if role == "Mentor:in" else "",
                    YES if rng.random() > 0.02 else "Nein",
                ]
            )


def baseline(path: Path, folder: Path) -> float:
    began = time.perf_counter()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [tuple(r.values()) for r in csv.DictReader(handle, delimiter=";")]
    conn = sqlite3.connect(folder / "baseline.db")
    conn.execute(f"CREATE TABLE rows ({', '.join(f'c{i} TEXT' for i in range(len(HEADER)))})")
    conn.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * len(HEADER))})", rows)
    conn.commit()
    conn.close()
    return time.perf_counter() - began


def measure(path: Path, folder: Path) -> dict[str, float | dict[str, int]]:
    engine = open_store(f"sqlite:///{folder / 'mentorflow.db'}")
    spec = intake_spec(path, remind_fixable=True)
    mail = MailRuntime(spec=spec, base_url="http://127.0.0.1:8000", outbox_dir=folder / "outbox")
    clock = FixedClock(datetime(2027, 1, 20, tzinfo=UTC))
    began, cpu_began = time.perf_counter(), time.process_time()
    report = ingest(engine, read_csv(spec.intake.source), spec, clock)
    stored, cpu_stored = time.perf_counter(), time.process_time()
    queued = queue_intake_mails(engine, spec, mail, clock)
    done, cpu_done = time.perf_counter(), time.process_time()
    ingest(engine, read_csv(spec.intake.source), spec, clock)
    queue_intake_mails(engine, spec, mail, clock)
    rerun = time.perf_counter() - done
    engine.dispose()
    return {
        "ingest": stored - began,
        "mails": done - stored,
        "first": done - began,
        "rerun": rerun,
        "cpu_ingest": cpu_stored - cpu_began,
        "cpu_mails": cpu_done - cpu_stored,
        "counts": report.counts(),
        "queued": vars(queued),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 rows")
    args = parser.parse_args()
    count = 10_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = folder / "form.csv"
        generate(path, count)
        base = baseline(path, folder)
        found = measure(path, folder)
    first, counts = float(found["first"]), found["counts"]  # type: ignore[arg-type]
    assert isinstance(counts, dict)
    print(f"intake of {count:,} CSV rows (validate, dedupe, store in SQLite, queue mails)")
    cpu = float(found["cpu_ingest"]) + float(found["cpu_mails"])  # type: ignore[arg-type]
    print(f"  mentorflow ingest      : {found['ingest']:6.2f} s  (CPU {found['cpu_ingest']:.2f} s)")
    print(f"  queue intake mails     : {found['mails']:6.2f} s  (CPU {found['cpu_mails']:.2f} s)")
    print(f"    queued: {found['queued']}")
    print(
        f"  together               : {first:6.2f} s  (CPU {cpu:.2f} s; {count / first:,.0f} rows/s)"
    )
    print(f"  rerun, no changes      : {found['rerun']:6.2f} s")
    print(f"  baseline (csv.DictReader + executemany of raw rows): {base:6.2f} s")
    print(f"  ratio mentorflow (together) / baseline: {first / base:.1f}x")
    print(f"  counts: {counts}")
    identity = counts["accepted"] + counts["quarantined"] + counts["not_consented"]
    assert identity + counts["duplicates"] == counts["rows_read"] == count
    if count == 100_000:
        verdict = "met" if first <= TARGET_SECONDS else "MISSED"
        print(f"  target <= {TARGET_SECONDS:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
