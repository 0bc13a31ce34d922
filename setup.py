"""Build hook: ship the top-level schemas/, notifications/ and program_specs/ inside the wheel.

They stay where the design card and the editors expect them (one source of truth, at the top of
the repository); building copies them to mentorflow/resources/, where mentorflow.paths finds
them in an installed package. Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = ("schemas", "notifications", "program_specs")
HERE = Path(__file__).resolve().parent


class BuildWithResources(build_py):
    """build_py, then a copy of each resource folder into the built package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "mentorflow" / "resources"
        for name in RESOURCES:
            shutil.copytree(HERE / name, target / name, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithResources})
