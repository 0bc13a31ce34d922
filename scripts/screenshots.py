"""The README's screenshots, taken anew: the Prefect UI with the walkthrough's runs and its
matching proposal artifact, and the organizer's review page of the paused proposal.

    PYTHONPATH=. .venv/bin/python scripts/screenshots.py [--out docs/img]

It runs the README's walkthrough block (tests/walkthrough_support.py) on loopback in a temporary
folder, with both Prefect's database and the store on SQLite there; signs in to the review pages
in headless Chromium (chromium and chromedriver on PATH: scripts/chromium.sh installs them), saves
the proposal page, approves it, waits for the deployed matching run to complete, then saves the
Prefect UI's runs page and the proposal artifact. The names are the example form export's
(program_specs/intake/peer.csv): made up. Each PNG is 1280x800.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.smtp_support import free_port  # noqa: E402
from tests.walkthrough_support import (  # noqa: E402
    PROGRAM,
    Shell,
    approve_as_shown,
    base_env,
    chromium,
    completed,
    loopback_values,
    prefect_ui_shot,
    proposal_waiting,
    readme_lines,
    screenshot,
    sign_in,
    substituted,
)

SHOTS = ("review.png", "prefect-runs.png", "prefect-artifact.png")
RUN_LIST = ".app-router-view"  # the Prefect UI's page box: scrolled to the list of runs


def artifact_of(api: str, key: str) -> dict:
    """The newest artifact under `key`, from the Prefect API."""
    body = {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1}
    found = requests.post(f"{api}/artifacts/filter", json=body, timeout=10)
    found.raise_for_status()
    (artifact,) = found.json()
    return artifact


def take(out: Path, work: Path) -> list[Path]:
    """Run the walkthrough in `work` and save the three screenshots into `out`."""
    home = work / "home"
    values = loopback_values(
        prefect_port=free_port(),
        serve_port=free_port(),
        home=home,
        prefect_db=f"sqlite+aiosqlite:///{work / 'prefect.db'}",
        store_db=f"sqlite:///{home / 'mentorflow.db'}",
        pg_password="unused",
    )
    shell = Shell(base_env(work / "prefect"), work / "logs")
    driver = None
    try:
        shell.run_all(substituted(readme_lines(), values))
        api, base = shell.env["PREFECT_API_URL"], shell.env["MENTORFLOW_BASE_URL"]
        driver = chromium()
        sign_in(driver, shell.output_of("mentorflow organizer-link").strip().splitlines()[-1])
        proposal_waiting(driver, f"{base}/organizer/{PROGRAM}/proposal")
        shots = [screenshot(driver, out / SHOTS[0])]
        approve_as_shown(driver)
        completed(api, "matching")
        ui = api.removesuffix("/api")
        runs = f"{ui}/runs"
        listed = ("Completed", "deployment-icon-text", "work-pool-icon-text")  # rows filled in
        shots.append(prefect_ui_shot(driver, runs, listed, out / SHOTS[1], RUN_LIST))
        found = artifact_of(api, f"{PROGRAM}-matching")
        proposal = f"{ui}/artifacts/artifact/{found['id']}"
        shots.append(prefect_ui_shot(driver, proposal, ("match_id",), out / SHOTS[2]))
        return shots
    finally:
        if driver is not None:
            driver.quit()
        shell.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="where the PNGs go")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `take` stops what it started
    with tempfile.TemporaryDirectory(prefix="mentorflow-shots-") as work:
        for path in take(args.out.resolve(), Path(work)):
            print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
