"""scripts/env.sh on a machine whose Python cannot make a venv (Debian without python3-venv)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_venv_module_is_one_clear_hint_and_no_half_made_venv(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "env.sh", tmp_path / "scripts" / "env.sh")
    python = tmp_path / "python3"  # fails like Debian's python3 without ensurepip, half a venv left
    python.write_text(
        "#!/bin/sh\nmkdir -p .venv/bin && ln -s /bin/true .venv/bin/python\n"
        "echo 'ensurepip is not available' >&2\nexit 1\n"
    )
    python.chmod(0o755)
    result = subprocess.run(
        ["bash", "-c", "source scripts/env.sh && echo installed"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(python)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "sudo apt-get install python3-venv" in result.stderr
    assert "installed" not in result.stdout
    assert not (tmp_path / ".venv").exists()
