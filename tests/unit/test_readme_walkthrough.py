"""The README's walkthrough block and screenshots, checked without running a server: the block
has the issue's steps in order and every value the end-to-end test swaps; the images the README
shows are the PNGs scripts/screenshots.py writes (tests/e2e/test_walkthrough.py runs the block)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from tests.walkthrough_support import (
    README,
    ROOT,
    SHOT_SIZE,
    Shell,
    is_png,
    loopback_values,
    readme_lines,
    substituted,
)

STEPS = (  # the walkthrough, in its order
    "export PREFECT_API_URL=",
    "prefect server start",
    "prefect work-pool create",
    "mentorflow deploy",
    "prefect worker start",
    "prefect deployment run matching/",
    "mentorflow serve",
    "mentorflow organizer-link",
)


def _values(tmp_path: Path) -> list[tuple[str, str]]:
    return loopback_values(
        prefect_port=1,
        serve_port=2,
        home=tmp_path,
        prefect_db="sqlite+aiosqlite:///p.db",
        store_db="sqlite:///s.db",
        pg_password="pw",
    )


def _screenshots_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts/screenshots.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("screenshots", module)
    spec.loader.exec_module(module)
    return module


def test_the_walkthrough_block_has_the_steps_in_order_and_every_swapped_value(tmp_path):
    lines = substituted(readme_lines(), _values(tmp_path))
    at = [next(i for i, line in enumerate(lines) if line.startswith(s)) for s in STEPS]
    assert at == sorted(at), lines
    assert not any("4200" in line or "8000" in line or "/srv/" in line for line in lines)


def test_a_readme_without_a_swapped_value_fails_loudly(tmp_path):
    text = README.read_text(encoding="utf-8").replace("--port 8000", "--port 8001")
    with pytest.raises(AssertionError, match="--port 8000"):
        substituted(readme_lines(text), _values(tmp_path))


def test_the_shell_keeps_exports_from_line_to_line(tmp_path):
    shell = Shell({"PATH": "/usr/bin:/bin"}, tmp_path / "logs")
    shell.run_all(["export A=one B=$HOME/x", 'echo "$A $B"'])
    assert shell.output_of("echo") == f"one {shell.env.get('HOME', '')}/x\n"
    with pytest.raises(AssertionError, match="false"):
        shell.run("false")


def test_the_readme_shows_the_screenshots_the_script_takes():
    shown = re.findall(r"!\[[^\]]+\]\((docs/img/[^)]+\.png)\)", README.read_text(encoding="utf-8"))
    assert sorted(Path(p).name for p in shown) == sorted(_screenshots_script().SHOTS)
    for path in shown:
        assert is_png(ROOT / path) == SHOT_SIZE, path
        assert (ROOT / path).stat().st_size < 400_000, f"{path}: keep the PNGs small"
