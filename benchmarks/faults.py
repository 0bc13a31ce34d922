"""The fault suite: kill -9 mid-send and mid-tick, SMTP and Sheets faults, the store locked or down,
bad specs and bad rows; a table of duplicates, silent losses, unconfirmed mails and crashes.

    python -m benchmarks.faults            # 100 kill trials each, every fault
    python -m benchmarks.faults --quick    # a handful each (CI: tests/e2e/test_fault_suite.py)

Exits 1 when any mail went out twice or was silently lost (docs/faults.md says what each fault
does and how a mail is counted). With MENTORFLOW_TEST_PG_URL set, the send kills also run on
that PostgreSQL database (its schema is dropped and made anew).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy import Engine, delete, func, select

from benchmarks.faultlib import (
    CRASH,
    ERROR,
    KILLED,
    OK,
    Account,
    Ending,
    attempt,
    copy_sqlite,
    forked,
    kill_after,
    kill_at_event,
    spec_with_smtp,
)
from benchmarks.faultlib import account as mail_account
from mentorflow.clock import FixedClock
from mentorflow.engagement.run import run_tick
from mentorflow.intake.service import ingest
from mentorflow.intake.sources import read_csv, read_sheet
from mentorflow.mail.outbox import deliver_pending
from mentorflow.mail.sender import sender_for
from mentorflow.mail.settings import MailRuntime, mail_runtime
from mentorflow.spec import load_spec
from mentorflow.store.db import make_engine
from mentorflow.store.tables import enrolments, outbox
from tests.engagement_support import DATA, Person, setup_program
from tests.fakes.intake import HEADER, answer, intake_spec
from tests.fakes.sheets import FakeSheets
from tests.mail_support import (
    NOW,
    DroppingSmtpServer,
    make_store,
    queue_mails,
    settings_for,
    smtp_settings,
)
from tests.smtp_support import SmtpServer, free_port

ROOT = Path(__file__).resolve().parents[1]
MAILS = 8  # mails per send trial
PAIRS = 12  # pairs per tick trial (24 kickoff mails, queued 4 per commit)
KICKOFF = datetime(2027, 3, 1, 9, tzinfo=UTC)
STAGES = ("MAIL", "RCPT", "DATA", "REPLIED")


@dataclass
class Row:
    """One line of the table."""

    fault: str
    trials: int = 0
    duplicates: int = 0
    lost: int = 0
    unconfirmed: int = 0
    crashes: int = 0
    notes: list[str] = field(default_factory=list)
    kills: int = 0  # runs that SIGKILL stopped (the others ended before their kill point)

    def take(self, found: Account) -> None:
        self.duplicates += found.duplicates
        self.lost += found.lost
        self.unconfirmed += found.unconfirmed
        self.notes.extend(f"trial {self.trials}: {note}" for note in found.notes)

    def killed(self, ending: Ending) -> None:
        """A run meant to be killed: it died, or finished before the kill came."""
        self.ended(ending, KILLED, OK)
        self.kills += ending.how == KILLED

    def ended(self, ending: Ending, *allowed: str) -> None:
        """Count a run that ended otherwise than `allowed` (a crash: a traceback, or unexpected)."""
        if ending.how == CRASH or ending.how not in allowed:
            self.crashes += 1
            last = ending.said.strip().splitlines()[-1:] or [ending.how]
            self.notes.append(f"trial {self.trials}: {ending.how}: {last[0][:160]}")


# --- stores, servers, mail settings -------------------------------------------------------------


class Lab:
    """A scratch folder with one SMTP server and the template stores the trials copy."""

    def __init__(self, folder: Path, pg_url: str | None) -> None:
        self.folder, self.pg_url = folder, pg_url
        self.server = SmtpServer()
        self.server.start()
        self.mail = settings_for(folder, smtp=smtp_settings(self.server))
        self.send_template = self._send_template()
        self.tick_template, self.tick_spec = self._tick_template()

    def close(self) -> None:
        self.server.stop()

    def _send_template(self, template: str = "welcome") -> Path:
        path = self.folder / f"send-{template}.db"
        engine, cycle = make_store(f"sqlite:///{path}")
        queue_mails(engine, cycle, self.mail, template, MAILS)
        return _checkpoint(engine, path)

    def _tick_template(self) -> tuple[Path, Path]:
        path = self.folder / "tick-template.db"
        pairs = [
            (
                Person(f"m_mentor{i:03d}", "mentor", "UTC"),
                Person(f"m_mentee{i:03d}", "mentee", "UTC"),
            )
            for i in range(PAIRS)
        ]
        engine, _, _ = setup_program(f"sqlite:///{path}", "walk.yaml", pairs)
        shutil.copyfile(DATA / "walk.csv", self.folder / "walk.csv")  # data beside the spec
        text = (DATA / "walk.yaml").read_text(encoding="utf-8")
        spec = self.folder / "walk-smtp.yaml"
        spec.write_text(spec_with_smtp(text, self.server.port), encoding="utf-8")
        return _checkpoint(engine, path), spec

    def send_store(self, name: str) -> str:
        return copy_sqlite(self.send_template, self.folder / f"{name}.db")

    def received(self) -> list:
        return list(self.server.messages)


def _checkpoint(engine: Engine, path: Path) -> Path:
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _deliver(url: str, mail: MailRuntime, clock: FixedClock | None = None) -> Callable[[], object]:
    def work() -> object:
        engine = make_engine(url)
        try:
            return deliver_pending(
                engine, settings=mail, sender=sender_for(mail), clock=clock or FixedClock(NOW)
            )
        finally:
            engine.dispose()

    return work


def _tick(url: str, spec_path: Path) -> Callable[[], object]:
    def work() -> object:
        spec = load_spec(spec_path)
        mail = mail_runtime(spec)
        engine = make_engine(url)
        try:
            run_tick(engine, spec, mail, KICKOFF, batch=4)
            return deliver_pending(
                engine, settings=mail, sender=sender_for(mail), clock=FixedClock(KICKOFF)
            )
        finally:
            engine.dispose()

    return work


# --- kill -9 ------------------------------------------------------------------------------------


def _killed_run(lab: Lab, work: Callable[[], object], rng: random.Random, span: float) -> Ending:
    """`work` in a child killed at a random SMTP event or a random moment within `span` s."""
    pids: list[int] = []
    timers: list[threading.Timer] = []
    if rng.random() < 0.5:
        lab.server.on_event = kill_at_event(rng.choice(STAGES), rng.randint(1, MAILS), pids)
        start = pids.append
    else:

        def start(pid: int) -> None:
            timers.append(kill_after(rng.uniform(0, span), pid))

    try:
        return forked(work, start)
    finally:
        lab.server.on_event = None
        for timer in timers:
            timer.cancel()


def _timed(work: Callable[[], object]) -> float:
    started = time.monotonic()
    forked(work)
    return time.monotonic() - started


def kill_send(lab: Lab, trials: int, rng: random.Random, url_for: Callable[[int], str]) -> Row:
    """Each trial: a sender killed with SIGKILL mid-batch, then a clean rerun."""
    backend = "postgresql" if lab.pg_url and url_for(0).startswith("postgresql") else "sqlite"
    row = Row(f"kill -9 during a send ({backend})")
    span = _timed(_deliver(url_for(-1), lab.mail))
    for trial in range(trials):
        row.trials += 1
        url = url_for(trial)
        lab.server.messages.clear()
        row.killed(_killed_run(lab, _deliver(url, lab.mail), rng, span))
        row.ended(forked(_deliver(url, lab.mail)), OK)
        engine = make_engine(url)
        row.take(mail_account(engine, lab.received()))
        engine.dispose()
    return row


def kill_tick(lab: Lab, trials: int, rng: random.Random) -> Row:
    """Each trial: a tick (queue 4 mails per commit, then deliver) killed, then a clean tick."""
    row = Row("kill -9 during a tick (sqlite)")
    reference = copy_sqlite(lab.tick_template, lab.folder / "tick-reference.db")
    lab.server.messages.clear()
    span = _timed(_tick(reference, lab.tick_spec))
    owed = _keys(reference)
    for _ in range(trials):
        row.trials += 1
        url = copy_sqlite(lab.tick_template, lab.folder / "tick.db")
        lab.server.messages.clear()
        row.killed(_killed_run(lab, _tick(url, lab.tick_spec), rng, span))
        row.ended(forked(_tick(url, lab.tick_spec)), OK)
        engine = make_engine(url)
        row.take(mail_account(engine, lab.received(), owed))
        engine.dispose()
    return row


def two_ticks(lab: Lab, trials: int) -> Row:
    """Each trial: two processes tick and deliver the same program on one store at once."""
    row = Row("two ticks of one program at once (sqlite)")
    reference = copy_sqlite(lab.tick_template, lab.folder / "tick-reference.db")
    lab.server.messages.clear()
    forked(_tick(reference, lab.tick_spec))
    owed = _keys(reference)
    for _ in range(trials):
        row.trials += 1
        url = copy_sqlite(lab.tick_template, lab.folder / "tick.db")
        lab.server.messages.clear()
        endings: list[Ending] = []
        workers = [
            threading.Thread(target=lambda: endings.append(forked(_tick(url, lab.tick_spec))))  # noqa: B023
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        for ending in endings:
            row.ended(ending, OK)
        engine = make_engine(url)
        row.take(mail_account(engine, lab.received(), owed))
        engine.dispose()
    return row


def two_senders(lab: Lab, trials: int) -> Row:
    """Each trial: a second sender starts while the first is mid-delivery of introductions (the
    mails resent when unconfirmed); the server takes 50 ms per message, for both at once."""
    row = Row("second sender starts mid-delivery (sqlite)")
    template = lab._send_template("introduction")
    lab.server.data_delay = 0.05
    try:
        for _ in range(trials):
            row.trials += 1
            url = copy_sqlite(template, lab.folder / "senders.db")
            lab.server.messages.clear()
            endings: list[Ending] = []
            first = threading.Thread(target=lambda: endings.append(forked(_deliver(url, lab.mail))))  # noqa: B023
            first.start()
            deadline = time.monotonic() + 30
            while len(lab.server.messages) < 2 and time.monotonic() < deadline:
                time.sleep(0.005)
            endings.append(forked(_deliver(url, lab.mail)))
            first.join()
            for ending in endings:
                row.ended(ending, OK)
            engine = make_engine(url)
            row.take(mail_account(engine, lab.received()))
            engine.dispose()
    finally:
        lab.server.data_delay = 0.0
    return row


def _keys(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        keys = set(conn.execute(select(outbox.c.key)).scalars())
    engine.dispose()
    return keys


def pg_urls(lab: Lab) -> Callable[[int], str]:
    """A fresh send store on PostgreSQL per trial: the outbox emptied and queued again."""
    from tests.conftest import _reset_postgres

    assert lab.pg_url is not None
    _reset_postgres(lab.pg_url)
    engine, cycle = make_store(lab.pg_url)
    queue_mails(engine, cycle, lab.mail, "welcome", MAILS)

    def fresh(_trial: int) -> str:
        with engine.begin() as conn:
            conn.execute(delete(outbox))
        queue_mails(engine, cycle, lab.mail, "welcome", MAILS, new_members=False)
        return str(lab.pg_url)

    return fresh


# --- SMTP faults --------------------------------------------------------------------------------


def _smtp_trials(
    lab: Lab,
    name: str,
    trials: int,
    setup: Callable[[Lab, random.Random], Callable[[], None]],
    rng: random.Random,
) -> Row:
    """Each trial: a fresh store, the fault armed, a run that meets it, then clean reruns."""
    row = Row(name)
    for _ in range(trials):
        row.trials += 1
        url = lab.send_store("smtp")
        lab.server.messages.clear()
        disarm = setup(lab, rng)
        row.ended(attempt(_deliver(url, lab.mail)), ERROR, OK)
        disarm()
        later = FixedClock(NOW + timedelta(days=1))  # past every retry backoff
        row.ended(attempt(_deliver(url, lab.mail, later)), OK)
        engine = make_engine(url)
        row.take(mail_account(engine, lab.received()))
        engine.dispose()
    return row


def _replies(queue: str, reply: str) -> Callable[[Lab, random.Random], Callable[[], None]]:
    def setup(lab: Lab, rng: random.Random) -> Callable[[], None]:
        replies = getattr(lab.server, queue)
        replies.extend([reply] * rng.randint(1, 3))
        return replies.clear

    return setup


def _unreachable(lab: Lab, _rng: random.Random) -> Callable[[], None]:
    lab.server.stop()
    return lab.server.start


def dropped_mid_data(lab: Lab, trials: int, rng: random.Random) -> Row:
    """The server closes the connection after the 354, before the final "." is answered."""
    row = Row("SMTP server drops mid-DATA")
    parse = BytesParser(policy=policy.default).parsebytes
    for _ in range(trials):
        row.trials += 1
        dropper = DroppingSmtpServer(drops=rng.randint(1, 3))
        mail = settings_for(lab.folder, smtp=smtp_settings(dropper))
        url = lab.send_store("dropped")
        try:
            for _ in range(4):  # each run meets one drop, the last goes through
                row.ended(attempt(_deliver(url, mail)), ERROR, OK)
            messages = [parse(raw) for raw in dropper.messages]
        finally:
            dropper.stop()
        engine = make_engine(url)
        row.take(mail_account(engine, messages))
        engine.dispose()
    return row


# --- Sheets, store, specs, rows ------------------------------------------------------------------


def sheets_faults(lab: Lab, trials: int, rng: random.Random) -> Row:
    """The sheet answers 429 or 503: a clear, retryable error; the retry enrols each row once."""
    from mentorflow.spec.model import GoogleSheetSource, SecretRef

    row = Row("Sheets API 429/503")
    source = GoogleSheetSource("1AbC", "Formularantworten 1", SecretRef("env", "UNUSED"))
    spec = intake_spec(lab.folder / "unused.csv", source=source)
    answers = [answer(email=f"row{i}@example.org", name=f"Row {i}") for i in range(6)]
    for _ in range(trials):
        row.trials += 1
        fake = FakeSheets()
        fake.add_spreadsheet("1AbC", {"Formularantworten 1": [HEADER, *answers]})
        engine = make_engine(copy_sqlite(lab.send_template, lab.folder / "sheets.db"))
        for _ in range(2):  # a first run and a rerun, each meeting a fault first
            fake.fail_next(rng.choice((429, 503)))
            failed = attempt(lambda: read_sheet(fake.client(), source))  # noqa: B023
            if "SourceUnavailableError" not in failed.said:
                failed = Ending(CRASH, failed.said or "no error on a 429/503")
            row.ended(failed, ERROR)
            table = read_sheet(fake.client(), source)
            row.ended(attempt(lambda: ingest(engine, table, spec, FixedClock(NOW))), OK)  # noqa: B023
        with engine.connect() as conn:
            enrolled = conn.execute(select(func.count()).select_from(enrolments)).scalar_one()
        row.take(
            Account(
                duplicates=max(0, enrolled - len(answers)), lost=max(0, len(answers) - enrolled)
            )
        )
        engine.dispose()
    return row


@contextmanager
def _locked(path: Path, seconds: float) -> Iterator[None]:
    """Hold the SQLite store's write lock for `seconds` (from another connection)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(seconds, lambda: conn.execute("ROLLBACK"))
    timer.start()
    try:
        yield
    finally:
        timer.join()
        conn.close()


def store_locked(lab: Lab, trials: int, rng: random.Random) -> Row:
    """Another writer holds the SQLite store: briefly (the send waits), or past busy_timeout."""
    row = Row("store locked (SQLite busy)")
    for trial in range(trials):
        row.trials += 1
        url = lab.send_store("locked")
        lab.server.messages.clear()
        long = trial == 0  # one trial past the 10 s busy_timeout, the others well within it
        with _locked(Path(url.removeprefix("sqlite:///")), 10.5 if long else rng.uniform(0.2, 1.5)):
            ending = attempt(_deliver(url, lab.mail))
        row.ended(ending, ERROR) if long else row.ended(ending, OK)
        row.ended(attempt(_deliver(url, lab.mail)), OK)
        engine = make_engine(url)
        row.take(mail_account(engine, lab.received()))
        engine.dispose()
    return row


def store_unreachable(lab: Lab, trials: int) -> Row:
    """MENTORFLOW_DB_URL names a PostgreSQL server that is down: `mentorflow send` says so."""
    from typer.testing import CliRunner

    from mentorflow.cli.main import app

    row = Row("store unreachable (PostgreSQL down)")
    spec = lab.tick_spec
    for _ in range(trials):
        row.trials += 1
        url = f"postgresql://mentorflow:mentorflow@127.0.0.1:{free_port()}/mentorflow"
        result = CliRunner().invoke(app, ["send", str(spec)], env={"MENTORFLOW_DB_URL": url})
        row.ended(_cli_ending(result), ERROR)
    return row


def _cli_ending(result) -> Ending:  # type: ignore[no-untyped-def]
    """A CLI run: an exception other than SystemExit is a traceback for the user."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        said = "".join(traceback.format_exception(result.exception))
        return Ending(CRASH, said)
    return Ending(OK if result.exit_code == 0 else ERROR, result.output)


def bad_specs(_lab: Lab) -> Row:
    """Every spec in tests/specs/invalid/: `mentorflow validate` refuses it with a message."""
    from typer.testing import CliRunner

    from mentorflow.cli.main import app

    row = Row("bad specs (tests/specs/invalid)")
    for path in sorted((ROOT / "tests" / "specs" / "invalid").glob("*.yaml")):
        row.trials += 1
        result = CliRunner().invoke(app, ["validate", str(path)])
        ending = _cli_ending(result)
        if ending.how == OK:
            row.notes.append(f"{path.name}: accepted")
        row.ended(ending, ERROR)
    return row


def _ingest(engine: Engine, spec):  # type: ignore[no-untyped-def]
    return ingest(engine, read_csv(spec.intake.source), spec, FixedClock(NOW))


def bad_rows(lab: Lab) -> Row:
    """Every broken export in tests/data/issue8/: each row enrolled, quarantined or refused."""
    row = Row("bad rows (tests/data/issue8)")
    for path in sorted((ROOT / "tests" / "data" / "issue8").glob("*.csv")):
        row.trials += 1
        copy = lab.folder / "rows" / path.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, copy)
        engine = make_engine(copy_sqlite(lab.send_template, lab.folder / "rows.db"))
        spec = intake_spec(copy)
        reports = []
        ending = attempt(lambda: reports.append(_ingest(engine, spec)))  # noqa: B023
        row.ended(ending, OK, ERROR)
        for report in reports:
            counted = (
                report.accepted + report.quarantined + report.not_consented + report.duplicates
            )
            if counted != report.rows_read:
                row.take(
                    Account(
                        lost=report.rows_read - counted, notes=[f"{path.name}: rows unaccounted"]
                    )
                )
        engine.dispose()
    return row


# --- Prefect server restart -----------------------------------------------------------------------

TICK_FLOW = "import sys; from flows.tick import tick; print(tick(sys.argv[1], as_of=sys.argv[2]))"


def _prefect_server(env: dict[str, str], port: int) -> subprocess.Popen:
    import requests

    prefect = str(Path(sys.executable).parent / "prefect")
    server = subprocess.Popen(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok:
                return server
        time.sleep(0.5)
    server.kill()
    raise RuntimeError("the Prefect server did not start")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def prefect_restart(lab: Lab, trials: int) -> Row:
    """The tick flow runs on a real Prefect server, which restarts while the flow delivers."""
    row = Row("Prefect server restart mid-flow")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(lab.folder / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": str(ROOT),
    }
    reference = copy_sqlite(lab.tick_template, lab.folder / "tick-reference.db")
    forked(_tick(reference, lab.tick_spec))
    owed = _keys(reference)
    server = _prefect_server(env, port)
    try:
        for _ in range(trials):
            row.trials += 1
            url = copy_sqlite(lab.tick_template, lab.folder / "flow.db")
            lab.server.messages.clear()
            first_mail = threading.Event()
            lab.server.on_event = _slow_mail(first_mail)
            flow = _flow(env, url, lab.tick_spec)
            first_mail.wait(timeout=120)
            _stop(server)  # the flow's task is delivering now
            down = len(lab.server.messages)
            server = _prefect_server(env, port)
            up = len(lab.server.messages)
            row.notes.append(
                f"trial {row.trials}: mails {down + 1}-{up} went out with the server down"
            )
            row.ended(_flow_ending(flow), OK)
            lab.server.on_event = None
            if flow.returncode != 0:  # what an organizer does: run it again
                row.ended(_flow_ending(_flow(env, url, lab.tick_spec)), OK)
            engine = make_engine(url)
            row.take(mail_account(engine, lab.received(), owed))
            engine.dispose()
    finally:
        lab.server.on_event = None
        _stop(server)
    return row


def _slow_mail(first: threading.Event) -> Callable[[str], None]:
    """A server hook: each message takes 0.4 s (the restart lands mid-delivery); `first` is set
    when the first one arrives."""

    def on_event(stage: str) -> None:
        if stage == "DATA":
            first.set()
            time.sleep(0.4)

    return on_event


def _flow(env: dict[str, str], url: str, spec: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", TICK_FLOW, str(spec), KICKOFF.isoformat()],
        cwd=ROOT,
        env={**env, "MENTORFLOW_DB_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _flow_ending(flow: subprocess.Popen) -> Ending:
    out, err = flow.communicate(timeout=600)
    if flow.returncode == 0:
        return Ending(OK, out)
    return Ending(CRASH if "Traceback" in err else ERROR, err[-2000:])


# --- the suite ----------------------------------------------------------------------------------


def run_suite(quick: bool, seed: int = 20270201) -> list[Row]:
    rng = random.Random(seed)
    kills, others = (4, 2) if quick else (100, 5)
    pg_url = os.environ.get("MENTORFLOW_TEST_PG_URL")
    with tempfile.TemporaryDirectory(prefix="mentorflow-faults-") as tmp:
        lab = Lab(Path(tmp), pg_url)
        try:
            rows = [
                kill_send(lab, kills, rng, lambda trial: lab.send_store(f"send{trial % 2}")),
                kill_tick(lab, kills, rng),
                two_ticks(lab, others),
                two_senders(lab, others),
            ]
            if pg_url:
                rows.append(kill_send(lab, max(2, kills // 4), rng, pg_urls(lab)))
            rows += [
                dropped_mid_data(lab, others, rng),
                _smtp_trials(
                    lab,
                    "SMTP 4xx (MAIL, end of DATA)",
                    others,
                    _replies("data_replies", "451 4.3.0 Local error"),
                    rng,
                ),
                _smtp_trials(
                    lab,
                    "SMTP 421 at MAIL FROM",
                    others,
                    _replies("mail_replies", "421 4.7.0 Try again later"),
                    rng,
                ),
                _smtp_trials(
                    lab,
                    "SMTP 5xx after DATA",
                    others,
                    _replies("data_replies", "554 5.6.0 Message refused"),
                    rng,
                ),
                _smtp_trials(lab, "SMTP server unreachable", others, _unreachable, rng),
                sheets_faults(lab, others, rng),
                store_locked(lab, 2 if quick else others, rng),
                store_unreachable(lab, 1 if quick else others),
                bad_specs(lab),
                bad_rows(lab),
            ]
            if not quick:  # two Prefect server starts per trial: too slow for CI's short form
                rows.append(prefect_restart(lab, 2))
        finally:
            lab.close()
    return rows


HEADERS = ("fault", "trials", "duplicates", "lost", "unconfirmed", "crashes")


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in rows:
        cells = (r.fault, r.trials, r.duplicates, r.lost, r.unconfirmed, r.crashes)
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a handful of trials per fault")
    parser.add_argument("--seed", type=int, default=20270201, help="seed of the kill points")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
    started = time.monotonic()
    rows = run_suite(args.quick, args.seed)
    print(table(rows))
    print(f"\n{time.monotonic() - started:.0f} s; load {os.getloadavg()[0]:.2f}")
    for r in rows:
        if r.kills:
            print(f"- {r.fault}: {r.kills} of {r.trials} runs killed before they ended")
        for note in r.notes[:5]:
            print(f"- {r.fault}: {note}")
    bad = [r.fault for r in rows if r.duplicates or r.lost]
    if bad:
        print("duplicates or silent losses in: " + ", ".join(bad), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
