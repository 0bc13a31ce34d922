"""Test-wide settings: an isolated Prefect home and mentorflow home per session, offline Prefect."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="mentorflow-tests-"))
os.environ.setdefault("PREFECT_HOME", str(_SESSION_DIR / "prefect"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("MENTORFLOW_HOME", str(_SESSION_DIR / "home"))
os.environ.setdefault("MENTORFLOW_SECRET_KEY", "test-secret-key-not-for-production")

REPO_ROOT = Path(__file__).resolve().parent.parent
