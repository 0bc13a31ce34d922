"""Two workers tick the same program at once (same store, same SMTP server): no mail goes twice.

Each worker is its own process running the tick and then the delivery, as two Prefect workers
picking up the same deployment would; they start together on a signal file. The server counts
what it receives by Message-ID and by recipient. SQLite here; PostgreSQL too when
MENTORFLOW_TEST_PG_URL is set (scripts/test.sh), else that leg is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from benchmarks.faultlib import spec_with_smtp
from mentorflow.store.tables import outbox
from tests.engagement_support import DATA, Person, setup_program
from tests.mail_support import RUN_SENDER, make_store, queue_mails, settings_for

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    (Person(f"m_mentor{i:03d}", "mentor", "UTC"), Person(f"m_mentee{i:03d}", "mentee", "UTC"))
    for i in range(60)
]  # fmt: skip
KICKOFF = datetime(2027, 3, 1, 9, tzinfo=UTC)
WORKER = """
import sys, time
from datetime import datetime
from pathlib import Path
from mentorflow.clock import FixedClock
from mentorflow.engagement.run import run_tick
from mentorflow.mail.outbox import deliver_pending
from mentorflow.mail.sender import sender_for
from mentorflow.mail.settings import mail_runtime
from mentorflow.spec import load_spec
from mentorflow.store.db import make_engine

url, spec_path, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
as_of = datetime.fromisoformat(sys.argv[4])
spec = load_spec(spec_path)
mail = mail_runtime(spec)
engine = make_engine(url)
while not go.exists():
    time.sleep(0.005)
summary = run_tick(engine, spec, mail, as_of, batch=10)
report = deliver_pending(engine, settings=mail, sender=sender_for(mail), clock=FixedClock(as_of))
print(f"queued={sum(summary.queued.values())} sent={report.sent}")
"""


def _spec(tmp_path: Path, port: int) -> Path:
    shutil.copyfile(DATA / "walk.csv", tmp_path / "walk.csv")  # data beside the spec
    text = (DATA / "walk.yaml").read_text(encoding="utf-8")
    path = tmp_path / "walk-smtp.yaml"
    path.write_text(spec_with_smtp(text, port, extra="  daily_limit: 5000\n"), encoding="utf-8")
    return path


def _workers(url: str, spec: Path, go: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", WORKER, url, str(spec), str(go), KICKOFF.isoformat()]
    return [
        subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]


def test_two_workers_ticking_the_same_program_send_each_mail_once(store_url, smtp_server, tmp_path):
    engine, _, _ = setup_program(store_url, "walk.yaml", PAIRS)
    spec = _spec(tmp_path, smtp_server.port)
    smtp_server.on_event = lambda stage: time.sleep(0.004) if stage == "DATA" else None
    go = tmp_path / "go"
    workers = _workers(store_url, spec, go)
    time.sleep(3)  # both interpreters up and waiting (imports take a second or two)
    go.touch()
    outputs = [worker.communicate(timeout=180) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()[-3000:]
        print(out.decode().strip())

    by_id = Counter(str(m["Message-ID"]) for m in smtp_server.messages)
    by_recipient = Counter(m["To"].addresses[0].addr_spec for m in smtp_server.messages)
    assert [i for i, n in by_id.items() if n > 1] == []
    assert len(by_recipient) == 2 * len(PAIRS) and set(by_recipient.values()) == {1}
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.key, outbox.c.status, outbox.c.message_id)).all()
    assert len({r.key for r in rows}) == len(rows) == 2 * len(PAIRS)
    assert {r.status for r in rows} == {"sent"}
    assert {r.message_id for r in rows} == set(by_id)
    engine.dispose()


def test_a_second_sender_starting_mid_delivery_sends_no_introduction_twice(
    store_url, smtp_server, tmp_path
):
    """Introductions are the mails resent when unconfirmed: a second sender must not take the
    first one's mail in flight for one a stopped sender left behind."""
    engine, cycle = make_store(store_url)
    queue_mails(engine, cycle, settings_for(tmp_path), "introduction", 12)
    smtp_server.data_delay = 0.15
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", RUN_SENDER, store_url, str(tmp_path), str(smtp_server.port)]
    first = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while len(smtp_server.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    second = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    for worker in (first, second):
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()[-3000:]
        print(out.decode().strip())
    by_id = Counter(str(m["Message-ID"]) for m in smtp_server.messages)
    assert len(by_id) == 12
    assert {i: n for i, n in by_id.items() if n > 1} == {}
    engine.dispose()
