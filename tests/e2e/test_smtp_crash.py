"""Kill the sender process at random points mid-batch, rerun it: never twice (except the
documented automatic resend of an unconfirmed introduction, with the same Message-ID), and every
mail whose fate is unknown is `unconfirmed`, never silently `sent`."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from benchmarks.faultlib import kill_at_event
from mentorflow.store.tables import outbox
from tests.mail_support import RUN_SENDER, make_store, queue_mails, settings_for

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 30


def _run_sender(url: str, folder: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RUN_SENDER, url, str(folder), str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_runs(smtp_server, url: str, folder: Path, points: list[tuple[str, int]]) -> list[str]:
    """Run a sender per point, killed at that SMTP event; then one clean run. Their outputs."""
    outputs = []
    for stage, nth in points:
        box: list = []
        smtp_server.on_event = kill_at_event(stage, nth, box)
        proc = _run_sender(url, folder, smtp_server.port)
        box.append(proc.pid)
        out, _err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, f"the run for {stage} #{nth} did not die"
        outputs.append(out)
    smtp_server.on_event = None
    final = _run_sender(url, folder, smtp_server.port)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    return [*outputs, out]


def _statuses(engine) -> Counter:
    with engine.connect() as conn:
        return Counter(conn.execute(select(outbox.c.status)).scalars())


def test_killed_senders_never_send_twice_and_leave_the_unsure_ones_unconfirmed(
    smtp_server, tmp_path
):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine, cycle = make_store(url)
    queue_mails(engine, cycle, settings_for(tmp_path), "welcome", MESSAGES)
    rng = random.Random(20270201)
    # Every stage of the SMTP transaction, including the worst moment: the server has accepted
    # (DATA, REPLIED) but the sender has not yet recorded it.
    points = [(stage, rng.randint(1, 4)) for stage in ("MAIL", "RCPT", "DATA", "REPLIED") * 2]
    rng.shuffle(points)
    _kill_runs(smtp_server, url, tmp_path, points)

    received = Counter(m["To"].addresses[0].username for m in smtp_server.messages)
    assert max(received.values()) == 1, "a message was delivered twice"
    assert len(received) == MESSAGES, "a message was lost"  # every kill came after a complete "."
    statuses = _statuses(engine)
    # A kill at DATA (message complete, no reply yet) always leaves its mail unconfirmed; a kill
    # right after the reply does unless the sender recorded `sent` first. Nothing else does.
    assert set(statuses) <= {"sent", "unconfirmed"}
    assert 2 <= statuses["unconfirmed"] <= 4
    assert statuses["sent"] + statuses["unconfirmed"] == MESSAGES


def test_an_introduction_left_unconfirmed_by_a_kill_is_resent_once_with_its_message_id(
    smtp_server, tmp_path
):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine, cycle = make_store(url)
    queue_mails(engine, cycle, settings_for(tmp_path), "introduction", 8)
    # The second message of each run: the first is the copy resent after the previous kill.
    outputs = _kill_runs(smtp_server, url, tmp_path, [("DATA", 2)] * 3)

    copies: dict[str, list[str]] = {}
    for message in smtp_server.messages:
        copies.setdefault(message["To"].addresses[0].username, []).append(message["Message-ID"])
    assert len(copies) == 8, "an introduction was lost"
    twice = {to: ids for to, ids in copies.items() if len(ids) > 1}
    assert len(twice) == 3  # exactly the three in flight at a kill, one copy each
    assert all(len(ids) == 2 and ids[0] == ids[1] for ids in twice.values())
    assert _statuses(engine) == {"sent": 8}
    # The clean run says what it found unconfirmed and resent (killed runs print nothing).
    assert "unconfirmed=1, resent=1," in outputs[-1]
