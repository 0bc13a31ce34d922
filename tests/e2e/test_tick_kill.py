"""Issue 9: a tick killed with SIGKILL halfway, then rerun: every member gets their mail once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks.faultlib import spec_with_smtp
from mentorflow.clock import FixedClock
from mentorflow.engagement.run import run_tick
from mentorflow.mail.outbox import deliver_pending
from mentorflow.mail.sender import sender_for
from mentorflow.store.tables import outbox
from tests.e2e.conftest import SmtpServer
from tests.engagement_support import DATA, Person, setup_program

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    (Person(f"m_mentor{i:04d}", "mentor", "UTC"), Person(f"m_mentee{i:04d}", "mentee", "UTC"))
    for i in range(300)
]
KICKOFF = datetime(2027, 3, 1, 9, tzinfo=UTC)
CHILD = """
import sys
from datetime import datetime
from tests.engagement_support import settings
from mentorflow.engagement import run
from mentorflow.spec import load_spec
from mentorflow.store.db import open_store
from pathlib import Path
spec = load_spec(Path("tests/data/issue9/walk.yaml"))
engine = open_store(sys.argv[1])
as_of = datetime.fromisoformat(sys.argv[2])
prepared = run.prepare(engine, spec, as_of)
run.queue_plan(engine, spec, settings(spec, Path(sys.argv[3])), prepared, batch=20)
"""


def _count(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def test_kill_9_in_the_middle_of_a_tick_then_a_rerun_sends_each_mail_once(tmp_path, smtp_server):
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine, spec, _ = setup_program(url, "walk.yaml", PAIRS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, KICKOFF.isoformat(), str(tmp_path)], cwd=ROOT, env=env
    )
    deadline = time.monotonic() + 60
    while _count(engine) < 100 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    halfway = _count(engine)
    assert 0 < halfway < 2 * len(PAIRS), "the kill must land in the middle of the tick"

    from mentorflow.mail.settings import mail_runtime
    from mentorflow.spec import load_spec

    text = (DATA / "walk.yaml").read_text(encoding="utf-8")
    shutil.copyfile(DATA / "walk.csv", tmp_path / "walk.csv")  # data beside the spec
    text = spec_with_smtp(text, smtp_server.port, extra="  daily_limit: 5000\n")
    (tmp_path / "smtp.yaml").write_text(text, encoding="utf-8")
    spec = load_spec(tmp_path / "smtp.yaml")
    mail = mail_runtime(spec)
    resumed = run_tick(engine, spec, mail, KICKOFF)
    assert resumed.queued["milestone"] == 2 * len(PAIRS) - halfway
    deliver_pending(engine, settings=mail, sender=sender_for(mail), clock=FixedClock(KICKOFF))
    received = Counter(m["To"].addresses[0].addr_spec for m in smtp_server.messages)
    assert len(received) == 2 * len(PAIRS) and set(received.values()) == {1}
