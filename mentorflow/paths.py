"""Where mentorflow keeps its files: one working folder, chosen by MENTORFLOW_HOME.

The schemas, the mail templates and the example specs live at the top of the repository; an
installed wheel carries copies in mentorflow/resources/ (setup.py puts them there at build).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
_RESOURCES = PACKAGE_DIR / "resources"


def _resource(name: str) -> Path:
    """The installed copy of a top-level folder when there is one, else the checkout's."""
    installed = _RESOURCES / name
    return installed if installed.is_dir() else REPO_ROOT / name


SCHEMAS_DIR = _resource("schemas")
NOTIFICATIONS_DIR = _resource("notifications")
PROGRAM_SPECS_DIR = _resource("program_specs")


def home() -> Path:
    """The working folder (database, outbox .eml files, exports); created on first use."""
    path = Path(os.environ.get("MENTORFLOW_HOME", ".mentorflow")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
