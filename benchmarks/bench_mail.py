"""Mail throughput: 10,000 personalised mails through the outbox vs a bare loop, same transport.

Run: .venv/bin/python -m benchmarks.bench_mail [--count N | --quick]
Both legs send over one connection to the same local aiosmtpd server (in its own process, as a
real server would be) in the same run. The bare
leg sends the same mails' bytes, pre-rendered (MIME built before its clock starts, no store);
the outbox leg
renders each mail at enqueue (timed separately), then delivers through `SmtpSender`, recording
every state in SQLite. Goals: delivery >= 50% of the bare rate, enqueue >= 3,000 mails/s.
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import select

from mentorflow.clock import SystemClock
from mentorflow.mail.bodies import Bodies
from mentorflow.mail.message import fast_wire_bytes
from mentorflow.mail.outbox import deliver_pending, enqueue_many, outgoing
from mentorflow.mail.sender import sender_for
from mentorflow.mail.settings import MailRuntime, SmtpLogin
from mentorflow.paths import PROGRAM_SPECS_DIR
from mentorflow.spec import load_spec
from mentorflow.spec.model import Smtp
from mentorflow.store.db import open_store
from mentorflow.store.repo import ensure_cycle, ensure_program
from mentorflow.store.tables import members, outbox

PROGRAM = "bench"
CPU: dict[str, float] = {}  # the sending process's CPU seconds per leg (the server's not counted)
CONTEXT = {"role": "mentee", "intake_closes": "2027-01-25", "cycle_starts": "2027-02-01"}


class CountingHandler:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def serve(port: int) -> None:
    """The server process: aiosmtpd on `port` until stdin closes, then print the count.

    A real SMTP server never shares the sender's process; in one process the two threads take
    turns on the GIL at every socket call, which charges each leg for the server's work in
    proportion to its number of system calls rather than for its own work.
    """
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
    print(handler.count, flush=True)


def _start_server(port: int) -> subprocess.Popen[str]:
    code = f"from benchmarks.bench_mail import serve; serve({port})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _stop_server(proc: subprocess.Popen[str]) -> int:
    out, _ = proc.communicate(timeout=30)  # closes stdin
    return int(out.strip() or 0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _store(folder: Path, count: int):  # type: ignore[no-untyped-def]
    engine = open_store(f"sqlite:///{folder / 'bench.db'}")
    now = SystemClock().now()
    with engine.begin() as conn:
        ensure_program(conn, PROGRAM, "Benchmark-Mentoring", now)
        cycle = ensure_cycle(conn, PROGRAM, "c1", now.date(), now.date(), now)
        conn.execute(
            members.insert(),
            [
                {
                    "id": f"m_{i:06d}",
                    "program_id": PROGRAM,
                    "email": f"p{i}@example.org",
                    "name": f"Zoë Nummer {i}",
                    "language": "de" if i % 2 else "en",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        )
    return engine, cycle


def _runtime(port: int, folder: Path) -> MailRuntime:
    """The shipped example spec as program `bench`, with the local server and no daily limit."""
    spec = load_spec(PROGRAM_SPECS_DIR / "one_to_one.yaml")
    smtp = Smtp("127.0.0.1", port, "none", None, None, 10.0)
    spec = replace(
        spec,
        program=replace(spec.program, id=PROGRAM, name="Benchmark-Mentoring"),
        sender=replace(spec.sender, smtp=smtp, daily_limit=0, dry_run=False),
    )
    login = SmtpLogin(None, None)
    return MailRuntime(spec, "http://127.0.0.1:8000", folder / "outbox", login)


def bench_outbox(settings: MailRuntime, folder: Path, count: int):  # type: ignore[no-untyped-def]
    """(seconds to enqueue+render, seconds to deliver, engine) for `count` mails."""
    engine, cycle = _store(folder, count)
    clock = SystemClock()
    started = time.perf_counter()
    for start in range(0, count, 1_000):  # the way a stage queues a bulk mail
        enqueue_many(
            engine,
            settings=settings,
            cycle_id=cycle.id,
            cycle_label="c1",
            purpose="welcome",
            template="welcome",
            mails=[(f"m_{i:06d}", CONTEXT) for i in range(start, min(start + 1_000, count))],
            clock=clock,
        )
    rendered, cpu = time.perf_counter(), time.process_time()
    sender = sender_for(settings)
    report = deliver_pending(engine, settings=settings, sender=sender, clock=clock)
    assert report.sent == count, report
    CPU["outbox"] = time.process_time() - cpu
    return rendered - started, time.perf_counter() - rendered, engine


def rendered_messages(engine, settings: MailRuntime) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    """(recipient, DATA bytes with terminator) of the very mails the outbox leg sent: the bare
    leg sends the same bytes (same size and line count, which is what the server's work
    depends on), rendered before its clock starts."""
    now = SystemClock().now()
    with engine.connect() as conn:
        rows = conn.execute(select(outbox).order_by(outbox.c.id)).all()
        bodies = Bodies(conn)
        return [
            (row.to_addr, fast_wire_bytes(outgoing(row, settings, now, bodies)) + b".\r\n")
            for row in rows
        ]


def bench_bare(settings: MailRuntime, messages: list[tuple[str, bytes]]) -> float:
    """Seconds to send pre-rendered `messages` on one connection: no store, no MIME building
    in the timed loop, the same command sequence the outbox's sender uses."""
    smtp, from_address = settings.spec.sender.smtp, settings.spec.sender.from_address
    assert smtp is not None
    # smtplib.SMTP is the class of yagmail's connection object; the bare leg uses it directly.
    started, cpu = time.perf_counter(), time.process_time()
    conn = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    conn.ehlo()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for to, data in messages:
        conn.mail(from_address)
        conn.rcpt(to)
        conn.docmd("DATA")
        conn.send(data)
        code, _ = conn.getreply()
        assert code == 250, code
    conn.quit()
    CPU["bare"] = time.process_time() - cpu
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 mails instead of 10,000")
    parser.add_argument(
        "--store-dir",
        type=Path,
        default=None,
        help="Folder for the SQLite store (default: a temporary folder; /dev/shm shows the cost "
        "without disk syncs, which is not how a real store runs)",
    )
    args = parser.parse_args()
    if args.quick:
        args.count = min(args.count, 1_000)
    port = _free_port()
    server = _start_server(port)
    try:
        with tempfile.TemporaryDirectory(dir=args.store_dir) as tmp:
            folder = Path(tmp)
            settings = _runtime(port, folder)
            render_s, deliver_s, engine = bench_outbox(settings, folder, args.count)
            bare_s = bench_bare(settings, rendered_messages(engine, settings))
            engine.dispose()
    finally:
        received = _stop_server(server)
    n = args.count
    print(f"mails: {n} per leg (the server process received {received} for both legs)")
    print(f"enqueue+render: {n / render_s:8.0f} mails/s  ({render_s:.1f} s)  goal >= 3,000/s")
    print(f"outbox delivery:{n / deliver_s:8.0f} mails/s  ({deliver_s:.1f} s)")
    print(f"bare send loop: {n / bare_s:8.0f} mails/s  ({bare_s:.1f} s)  pre-rendered bytes")
    print(f"ratio outbox/bare: {bare_s / deliver_s:.2f}  goal >= 0.50")
    per_mail = {leg: f"{seconds / n * 1e6:.0f} µs" for leg, seconds in CPU.items()}
    print(
        f"sender CPU per mail (this process; the load moves it less than the wall time): {per_mail}"
    )


if __name__ == "__main__":
    main()
