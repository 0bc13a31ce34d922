"""One delivery per program at a time (mentorflow/mail/lease.py), and a store that is down."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from mentorflow.errors import StoreUnavailableError, TemporaryMailError
from mentorflow.mail.lease import delivery_lock
from mentorflow.store.db import make_engine
from tests.smtp_support import free_port


def test_a_second_delivery_of_the_program_waits_then_gives_up_clearly(store_url):
    engine = make_engine(store_url)
    with delivery_lock(engine, "demo"):
        started = time.monotonic()
        busy = pytest.raises(TemporaryMailError, match="another delivery of program demo")
        with busy, delivery_lock(make_engine(store_url), "demo", wait_seconds=0.3):
            pass
        assert time.monotonic() - started >= 0.3
        with delivery_lock(make_engine(store_url), "other", wait_seconds=0.3):
            pass  # another program's delivery is not held up
    with delivery_lock(make_engine(store_url), "demo", wait_seconds=0.3):
        pass  # released at the end of the block


def test_the_lock_of_a_killed_holder_is_free_at_once(store_url):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from mentorflow.mail.lease import delivery_lock;"
            "from mentorflow.store.db import make_engine\n"
            "with delivery_lock(make_engine(sys.argv[1]), 'demo'):\n"
            "    print('held', flush=True); time.sleep(60)",
            store_url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    with delivery_lock(make_engine(store_url), "demo", wait_seconds=5):
        pass


def test_a_postgresql_store_that_is_down_is_one_clear_error():
    engine = make_engine(f"postgresql://u:secret@127.0.0.1:{free_port()}/mentorflow")
    down = pytest.raises(StoreUnavailableError, match="cannot be reached")
    with down as caught, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert "secret" not in str(caught.value)
