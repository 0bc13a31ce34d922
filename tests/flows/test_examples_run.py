"""Every example in program_specs/ runs intake and matching on its sample CSV with no mail server.

The SMTP variables the examples name are unset here, as on a newcomer's machine. Pauses wait
for a person, so the copies answer them ahead: screening off and automatic approval; the rest is
the example as shipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.intake import intake
from flows.matching import matching

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(ROOT.joinpath("program_specs").glob("*.yaml"))
pytestmark = pytest.mark.flow


def _without_pauses(text: str) -> str:
    text = text.replace("approval: organizer", "approval: automatic")
    if "approval:" not in text:  # organizer approval is the default
        text = text.replace("\nmatching:\n", "\nmatching:\n  approval: automatic\n", 1)
    assert "approval: automatic" in text
    return text.replace("screening: true", "screening: false")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_intake_and_matching_without_smtp(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "program"
    shutil.copytree(ROOT / "program_specs", folder)
    spec = folder / example.name
    spec.write_text(_without_pauses(spec.read_text(encoding="utf-8")), encoding="utf-8")
    for name in ("USER", "PASSWORD"):
        for prefix in ("CIRCLES", "FACHSCHAFT", "ACME", "ROTATIONS"):
            monkeypatch.delenv(f"{prefix}_SMTP_{name}", raising=False)
    monkeypatch.setenv("MENTORFLOW_DB_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    counts = intake(str(spec))
    assert counts["accepted"] > 0
    result = matching(str(spec))
    assert result, f"{example.name}: matching returned nothing"
    assert list((tmp_path / "home" / "outbox").rglob("*.eml")), "mails became .eml files"
