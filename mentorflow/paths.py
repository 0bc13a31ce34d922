"""Where mentorflow keeps its files: one working folder, chosen by MENTORFLOW_HOME."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = REPO_ROOT / "schemas"
NOTIFICATIONS_DIR = REPO_ROOT / "notifications"
PROGRAM_SPECS_DIR = REPO_ROOT / "program_specs"


def home() -> Path:
    """The working folder (database, outbox .eml files, exports); created on first use."""
    path = Path(os.environ.get("MENTORFLOW_HOME", ".mentorflow")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
