"""Issue 11: the retrospective flow (the `-retrospective` deployment) publishes the headline as a
markdown artifact with counts and ids only. (`mentorflow run retrospective` is an alias of
`mentorflow report`, the same report without Prefect: tests/unit/test_retrospective.py.)"""

from __future__ import annotations

import asyncio

from flows.retrospective import retrospective
from mentorflow.retrospective.run import headline_lines
from tests.flows.test_surveys_flow import _artifact
from tests.unit.test_retrospective import _three_people


def test_the_retrospective_flow_publishes_the_headline(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    b = _three_people(url)
    outcome = retrospective(str(b.spec.path))
    headline = "\n".join(headline_lines(outcome))
    assert "pairs 2: reached closure 1 of 2 (n<5), ended early 1 of 2 (n<5)" in headline
    markdown = asyncio.run(_artifact("retro-2027-retrospective"))
    assert "# Retrospective retro-2027 2027-03-01" in markdown
    assert "reached closure 1 of 2 (n<5)" in markdown and "retrospective.html" in markdown
    assert "Name m_" not in markdown and "@example.org" not in markdown
    assert "Retro Mentoring" not in markdown  # ids only, not even the program's name
