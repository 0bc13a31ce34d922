"""`pip install` of the built wheel (not editable) into a fresh venv: validate, init and demo work.

The wheel must carry the schemas, the mail templates and the demo spec (they live at the top of
the repository, outside the package). The fresh venv reaches the already installed dependencies
through a .pth line, so nothing is downloaded; mentorflow itself comes only from the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import setuptools

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.wheel


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    # Without PYTHONPATH: a checkout on it (and its egg-info) would pass for the installed wheel.
    env = env or {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _build_wheel(out: Path) -> Path:
    # setuptools >= 70.1 builds wheels itself: then no isolated build environment is needed.
    new_enough = tuple(int(p) for p in setuptools.__version__.split(".")[:2]) >= (70, 1)
    isolation = ["--no-build-isolation"] if new_enough else []
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", out, ROOT]
    _run(pip, cwd=out)
    (wheel,) = out.glob("mentorflow-*.whl")
    return wheel


def _fresh_venv(folder: Path, wheel: Path) -> Path:
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps"]
    _run([*install, "--no-index", wheel], cwd=folder)
    # Only now the shared dependencies: before, pip would see this checkout's editable install.
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(_run([python, "-c", code], folder).strip())
    shared = sysconfig.get_paths()["purelib"]
    (purelib / "shared-dependencies.pth").write_text(shared + "\n", encoding="utf-8")
    return folder / "bin"


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MENTORFLOW_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    env.pop("PREFECT_API_URL", None)
    return env


def test_the_installed_wheel_validates_inits_and_runs_the_demo(tmp_path: Path) -> None:
    (tmp_path / "build").mkdir()
    wheel = _build_wheel(tmp_path / "build")
    bin_dir = _fresh_venv(tmp_path / "venv", wheel)
    work = tmp_path / "organizer"
    work.mkdir()
    env = _clean_env(tmp_path)
    where = _run(
        [bin_dir / "python", "-c", "import mentorflow; print(mentorflow.__file__)"], work, env
    )
    assert where.startswith(str(tmp_path / "venv")), where  # not this checkout

    mentorflow = bin_dir / "mentorflow"
    _run([mentorflow, "init", "programs/Tandem Berlin", "--model", "peer"], work, env)
    assert "ok: programs/tandem-berlin.yaml" in _run(
        [mentorflow, "validate", "programs/tandem-berlin.yaml"], work, env
    )
    modeline = (work / "programs" / "tandem-berlin.yaml").read_text("utf-8").splitlines()[0]
    assert modeline.endswith("$schema=schemas/program_spec.schema.json")

    demo = _run([mentorflow, "demo", "--home", work / "demo"], work, env)
    assert "mails written as .eml files" in demo
    assert list((work / "demo" / "outbox").rglob("*.eml"))
