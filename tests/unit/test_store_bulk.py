"""Bulk inserts convert each distinct value once, and never mistake one value for another."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

from mentorflow.store.bulk import insert_many
from mentorflow.store.db import open_store
from mentorflow.store.tables import members, programs


def test_equal_instants_in_two_zones_are_stored_as_each_one_is(tmp_path):
    # SQLite stores a timestamp's wall-clock digits: a cache keyed by the instant alone would
    # give the second row the first one's (10:00 Berlin stored as 09:00)
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    utc = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
    berlin = utc.astimezone(ZoneInfo("Europe/Berlin"))
    with engine.begin() as conn:
        conn.execute(programs.insert(), {"id": "p", "name": "P", "created_at": utc})
        insert_many(
            conn,
            members,
            [
                {"id": f"m_{i}", "program_id": "p", "created_at": at, "updated_at": at}
                for i, at in enumerate([utc, berlin, utc])
            ],
        )
        stored = conn.execute(text("SELECT created_at FROM members ORDER BY id")).scalars().all()
    assert stored == [
        "2027-02-01 09:00:00.000000",
        "2027-02-01 10:00:00.000000",
        "2027-02-01 09:00:00.000000",
    ]
