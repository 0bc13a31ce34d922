"""The README's walkthrough, run as written: its block read from README.md, run line by line on
loopback, the organizer's review in Chromium, and screenshots of the pages it shows.

Used by tests/e2e/test_walkthrough.py (PostgreSQL) and scripts/screenshots.py (SQLite). The block
is the fenced one right after `MARKER` in README.md. Each line runs in bash, in the checkout, with
the environment the lines before it exported; a line ending in `&` keeps running in the
background (the next line starts once it answers HTTP when it has a `--port`). Only literal
values are swapped (`loopback_values`), and each must stand in the block, so that the README
cannot drift from what runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = (
    "<!-- walkthrough: tests/e2e/test_walkthrough.py runs this block line by line, as written -->"
)
PROGRAM = "fachschaft-peer-tandems"  # program_specs/peer.yaml, the walkthrough's program
SHOT_SIZE = (1280, 800)
CALLERS_OWN = (  # the block sets these itself (or, the key, leaves them to MENTORFLOW_HOME)
    "MENTORFLOW_SECRET_KEY",
    "PREFECT_API_URL",
    "PREFECT_API_DATABASE_CONNECTION_URL",
    "MENTORFLOW_DB_URL",
    "MENTORFLOW_HOME",
    "MENTORFLOW_BASE_URL",
)


def readme_lines(text: str | None = None) -> list[str]:
    """The walkthrough block's commands, comments and blank lines left out."""
    text = README.read_text(encoding="utf-8") if text is None else text
    after = text.split(MARKER, 1)[1]
    block = re.match(r"\s*```bash\n(.*?)\n```", after, re.S)
    assert block, f"README.md: no ```bash block right after {MARKER}"
    lines = (line.strip() for line in block.group(1).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def loopback_values(
    *,
    prefect_port: int,
    serve_port: int,
    home: Path,
    prefect_db: str,
    store_db: str,
    pg_password: str,
) -> list[tuple[str, str]]:
    """The README's example values and what replaces them on loopback (the test's docstring)."""
    return [
        ("127.0.0.1:4200", f"127.0.0.1:{prefect_port}"),
        ("--port 4200", f"--port {prefect_port}"),
        ("127.0.0.1:8000", f"127.0.0.1:{serve_port}"),
        ("--port 8000", f"--port {serve_port}"),
        ("/srv/mentorflow", str(home)),
        ("postgresql+asyncpg://prefect:secret@127.0.0.1:5432/prefect", prefect_db),
        ("postgresql://mentorflow@127.0.0.1:5432/mentorflow", store_db),
        ("PGPASSWORD=secret", f"PGPASSWORD={pg_password}"),
    ]


def substituted(lines: list[str], values: list[tuple[str, str]]) -> list[str]:
    block = "\n".join(lines)
    missing = [old for old, _ in values if old not in block]
    assert not missing, f"README walkthrough no longer has {missing}: update {__name__}"
    out = []
    for line in lines:
        for old, new in values:
            line = line.replace(old, new)
        out.append(line)
    return out


class Shell:
    """Runs walkthrough lines one by one, as a terminal would; `close()` stops what runs on."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = dict(env), logs
        self.background: list[tuple[str, subprocess.Popen]] = []
        self.outputs: dict[str, str] = {}
        self.seconds: list[tuple[float, str]] = []  # (seconds, line): where the time goes
        logs.mkdir(parents=True, exist_ok=True)

    def run_all(self, lines: list[str]) -> None:
        for line in lines:
            self.run(line)

    def run(self, line: str, timeout: float = 180) -> None:
        began = time.monotonic()
        self._run(line, timeout)
        self.seconds.append((round(time.monotonic() - began, 1), line))

    def _run(self, line: str, timeout: float) -> None:
        if line.startswith("export "):
            self._export(line)
        elif line.endswith("&"):
            self._start(line.removesuffix("&").strip())
        else:
            done = subprocess.run(
                ["bash", "-c", line],
                cwd=ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            assert done.returncode == 0, f"{line}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            self.outputs[line] = done.stdout

    def output_of(self, command: str) -> str:
        """The output of the line that starts with `command`."""
        return next(out for line, out in self.outputs.items() if line.startswith(command))

    def _export(self, line: str) -> None:
        shown = subprocess.run(
            ["bash", "-c", f"{line} && env -0"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            check=True,
        ).stdout.decode()
        self.env = dict(item.split("=", 1) for item in shown.split("\0") if "=" in item)

    def _start(self, command: str) -> None:
        log = (self.logs / f"{len(self.background)}.log").open("wb")
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.background.append((command, process))
        port = re.search(r"--port (\d+)", command)
        if port:
            answering(f"http://127.0.0.1:{port.group(1)}/", process, self.log_tail)

    def log_tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.logs.iterdir()))

    def close(self) -> None:
        """Stop the background lines, last started first (the worker before the server); one
        that ignores SIGTERM for 10 s is killed (a Prefect worker did, NOTES.md)."""
        for _, process in reversed(self.background):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def answering(url: str, process: subprocess.Popen, log: Callable[[], str], seconds: float = 90):  # type: ignore[no-untyped-def]
    """Wait until `url` answers HTTP at all (any status), while `process` runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url}: the process exited\n{log()}"
        with suppress(requests.ConnectionError, requests.Timeout):
            requests.get(url, timeout=2)
            return
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s\n{log()}")


def flow_runs(api: str, stage: str) -> list[dict[str, Any]]:
    """The program's flow runs of one stage, from the Prefect API (names and states only)."""
    tags = {"all_": [f"program:{PROGRAM}", f"stage:{stage}"]}
    found = requests.post(f"{api}/flow_runs/filter", json={"flow_runs": {"tags": tags}}, timeout=10)
    found.raise_for_status()
    return found.json()


def completed(api: str, stage: str, seconds: float = 120) -> dict[str, Any]:
    """The stage's flow run once it has completed; fails at once if it failed or crashed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = flow_runs(api, stage)
        bad = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")]
        assert not bad, f"{stage} run ended {bad[0]['state_type']}: {bad[0]['state']}"
        done = [r for r in runs if r["state_type"] == "COMPLETED"]
        if done:
            return done[0]
        time.sleep(0.5)
    raise AssertionError(f"no {stage} run completed within {seconds} s: {runs}")


# --- the organizer in the browser ------------------------------------------------------


def chromium(size: tuple[int, int] | None = None):  # type: ignore[no-untyped-def]
    """Headless Chromium through chromedriver (both on PATH), console log kept for `get_log`."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    if size:
        options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def sign_in(driver, link: str) -> str:  # type: ignore[no-untyped-def]
    """Open a printed sign-in link and press *Sign in*; the overview's address."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(link)
    driver.find_element(By.ID, "sign-in").click()
    WebDriverWait(driver, 10).until(lambda d: "/sign-in/" not in d.current_url)
    return driver.current_url


def proposal_waiting(
    driver, review: str, without: str | None = None, seconds: float = 90
) -> list[str]:  # type: ignore[no-untyped-def]
    """Reload the proposal page until a run waits for it (buttons enabled) and `without` is no
    longer proposed; the match ids shown, best first."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        driver.get(review)
        rows = driver.find_elements(By.CSS_SELECTOR, "tr[id^=match-]")
        shown = [row.get_attribute("id").removeprefix("match-") for row in rows]
        buttons = driver.find_elements(By.ID, "approve")
        if shown and buttons and buttons[0].is_enabled() and without not in shown:
            return shown
        time.sleep(0.5)
    raise AssertionError(f"no matching run waited for approval at {review}")


def drop_and_solve_again(driver, match_id: str) -> str:  # type: ignore[no-untyped-def]
    """Tick *drop* on one match and press *solve again*; the page's answer."""
    from selenium.webdriver.common.by import By

    from tests.e2e.test_survey_page import _message

    driver.find_element(By.CSS_SELECTOR, f"label[for=drop-{match_id}]").click()
    driver.find_element(By.ID, "revise").click()
    return _message(driver, "answered flow run")


def approve_as_shown(driver) -> str:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    from tests.e2e.test_survey_page import _message

    driver.find_element(By.ID, "approve").click()
    return _message(driver, "'approve_all': True")


def screenshot(driver, path: Path, size: tuple[int, int] = SHOT_SIZE) -> Path:  # type: ignore[no-untyped-def]
    """The page as shown now, `size` pixels, as a PNG at `path`."""
    driver.set_window_size(*size)
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * size[0] - width, 2 * size[1] - height)  # the viewport, not the frame
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path)), path
    with suppress(ImportError):  # Pillow (matplotlib's dependency): a 256-colour PNG, ~3x smaller
        from PIL import Image

        with Image.open(path) as shot:
            small = shot.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
        small.save(path, optimize=True)
    return path


def prefect_ui_shot(  # type: ignore[no-untyped-def]
    driver, url: str, shows: tuple[str, ...], path: Path, scroll: str | None = None, seconds=30
) -> Path:
    """A page of the Prefect UI (a single-page app) once it has rendered every text of `shows`.

    `scroll` is the CSS selector of a box to scroll to its end once the first text is there: the
    UI fills a run's row (flow, deployment, work pool, task runs) only once it is in view.
    """
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(*SHOT_SIZE)
    driver.get(url)
    try:
        WebDriverWait(driver, seconds).until(lambda d: shows[0] in d.page_source)
        if scroll:
            driver.execute_script(
                "const box = document.querySelector(arguments[0]);"
                " box.scrollTop = box.scrollHeight;",
                scroll,
            )
        WebDriverWait(driver, seconds).until(lambda d: all(s in d.page_source for s in shows))
    except TimeoutException:
        screenshot(driver, path.with_suffix(".timeout.png"))
        raise AssertionError(f"{url} never showed {shows} ({path.stem}.timeout.png)") from None
    time.sleep(2.0)  # charts and icons
    return screenshot(driver, path)


def is_png(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file; fails when the file is not one."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def base_env(prefect_home: Path) -> dict[str, str]:
    """The environment the walkthrough's terminal starts from: offline Prefect, own home, quick
    worker polls (1 s instead of 10 s), and no store or server settings of the caller's."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PYTHONPATH": path}
    for name in CALLERS_OWN:
        env.pop(name, None)
    env.update(
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_WORKER_QUERY_SECONDS="1",
        NO_COLOR="1",
    )
    return env
