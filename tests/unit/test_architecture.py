"""The house rules that code review would otherwise have to catch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_never_imports_prefect_or_flows():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _our_modules() -> list[Path]:
    return [*ROOT.joinpath("mentorflow").rglob("*.py"), *ROOT.joinpath("flows").rglob("*.py")]


def test_no_code_of_ours_imports_smtplib():
    offenders = []
    for path in _our_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "smtplib" for name in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"smtplib imported in {offenders}: mail goes out through yagmail"


def test_every_module_opens_with_a_docstring():
    missing = [
        str(path.relative_to(ROOT))
        for path in [
            *ROOT.joinpath("mentorflow").rglob("*.py"),
            *ROOT.joinpath("flows").rglob("*.py"),
        ]
        if "migrations" not in path.parts
        and path.stat().st_size
        and ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []
