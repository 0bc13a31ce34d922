"""The whole demo on a fresh folder: `mentorflow demo`, timed from outside, beside one stage.

Run: .venv/bin/python -m benchmarks.bench_demo

Target: the whole cycle (intake to the retrospective and the next-cycle proposal) <= 60 s.
Baseline: `mentorflow run intake` on the same spec in a fresh folder, one flow run with its
temporary Prefect server: what starting Prefect and one stage cost alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "program_specs" / "one_to_one.yaml"


def _timed(args: list[str], home: Path) -> float:
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MENTORFLOW_HOME": str(home), "PREFECT_HOME": str(home / "prefect")}
    env.pop("MENTORFLOW_DB_URL", None)
    env.pop("PREFECT_API_URL", None)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mentorflow.cli.main", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one = _timed(["run", "intake", str(SPEC)], folder / "stage")
        demo = _timed(["demo", "--home", str(folder / "demo" / "run")], folder / "demo")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(f"one stage (run intake, Prefect start included): {one:6.1f} s")
    print(f"the whole demo cycle:                          {demo:6.1f} s  target <= 60 s")
    print(f"ratio demo / one stage: {demo / one:.1f}")


if __name__ == "__main__":
    main()
