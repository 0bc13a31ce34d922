"""Kill the sender process at random points mid-batch, rerun it: nothing twice, nothing lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from mentorflow.clock import FixedClock
from mentorflow.mail.outbox import enqueue
from mentorflow.store.tables import outbox
from tests.mail_support import NOW, add_member, make_store, settings_for

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 30
RUN_SENDER = """
import sys
from pathlib import Path
from mentorflow.clock import FixedClock
from mentorflow.mail.outbox import deliver_pending
from mentorflow.mail.sender import SmtpSender
from mentorflow.mail.settings import SmtpSettings
from mentorflow.store.db import make_engine
from tests.mail_support import NOW, settings_for

url, folder, port = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
smtp = SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=5)
settings = settings_for(folder, smtp=smtp)
sender = SmtpSender(smtp, settings.from_address)
report = deliver_pending(make_engine(url), settings=settings, sender=sender, clock=FixedClock(NOW))
print(report)
"""


def _run_sender(url: str, folder: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RUN_SENDER, url, str(folder), str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _killer(stage: str, nth: int, proc_box: list) -> object:
    """An SMTP server hook that SIGKILLs the sender at the nth `stage` event."""
    seen = Counter()

    def on_event(event: str) -> None:
        seen[event] += 1
        if event == stage and seen[event] == nth and proc_box:
            os.kill(proc_box[0].pid, signal.SIGKILL)

    return on_event


def test_killed_senders_neither_duplicate_nor_lose_mail(smtp_server, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine, cycle = make_store(url)
    settings = settings_for(tmp_path)
    for i in range(MESSAGES):
        add_member(engine, f"m_{i:03d}", f"p{i:03d}@example.org", f"Person {i}")
        enqueue(
            engine,
            settings=settings,
            cycle_id=cycle.id,
            cycle_label=cycle.label,
            member_id=f"m_{i:03d}",
            purpose="welcome",
            template="welcome",
            clock=FixedClock(NOW),
            context={"role": "mentee", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"},
        )
    rng = random.Random(20270201)
    # Every stage of the SMTP transaction, including the worst moment: the server has accepted
    # (DATA, REPLIED) but the sender has not yet recorded it.
    points = [(stage, rng.randint(1, 4)) for stage in ("MAIL", "RCPT", "DATA", "REPLIED") * 2]
    rng.shuffle(points)
    kills = 0
    for stage, nth in points:
        box: list = []
        smtp_server.on_event = _killer(stage, nth, box)
        proc = _run_sender(url, tmp_path, smtp_server.port)
        box.append(proc)
        proc.wait(timeout=120)
        kills += proc.returncode == -signal.SIGKILL
    smtp_server.on_event = None
    final = _run_sender(url, tmp_path, smtp_server.port)
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err

    assert kills == len(points)  # every run really died mid-batch
    received = Counter(m["To"].addresses[0].username for m in smtp_server.messages)
    assert max(received.values()) == 1, "a message was delivered twice"
    assert len(received) == MESSAGES, "a message was lost"
    with engine.connect() as conn:
        statuses = Counter(conn.execute(select(outbox.c.status)).scalars())
    assert statuses == {"sent": MESSAGES}
