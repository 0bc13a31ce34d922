"""One Prefect test server per session; heartbeats off so each flow run ends at once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_engine():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """A store of the test's own (MENTORFLOW_DB_URL) and MENTORFLOW_HOME; the store's URL."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    return url
