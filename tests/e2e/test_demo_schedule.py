"""Issue 9: `mentorflow demo` runs the whole schedule in simulated time, within 60 seconds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_prints_what_went_out_per_week_and_where_to_look(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MENTORFLOW_HOME": str(tmp_path),
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    env.pop("MENTORFLOW_DB_URL", None)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "mentorflow.cli.main", "demo", "--home", str(tmp_path / "demo")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    weeks = dict(re.findall(r"^  week +(\d+): (.*)$", result.stdout, flags=re.MULTILINE))
    assert "milestone" in weeks["1"]  # the kickoff
    assert "check_in" in weeks["3"]  # checkin-1 at 2w: the week of 15 February
    assert "survey" in weeks["7"]  # halbzeit at 6w
    assert all("digest" in weeks[str(w)] for w in range(2, 13))  # every Monday
    # its time is a benchmark's business (benchmarks/bench_demo.py), not a test's: only said here
    print(f"demo took {elapsed:.1f} s")
    home = tmp_path / "demo"
    assert f"  mails:        {home / 'outbox'}" in result.stdout
    spec = ROOT / "program_specs" / "one_to_one.yaml"
    assert f"mentorflow organizer-link {spec}" in result.stdout
