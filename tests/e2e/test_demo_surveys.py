"""Issue 10: `mentorflow demo` answers its surveys with simulated members through the POST."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select

from mentorflow.store.tables import checkins, survey_responses

ROOT = Path(__file__).resolve().parents[2]


def test_demo_members_answer_through_the_page(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MENTORFLOW_HOME": str(tmp_path),
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    env.pop("MENTORFLOW_DB_URL", None)
    home = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "mentorflow.cli.main", "demo", "--home", str(home)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    posted = re.search(
        r"^surveys: (\d+) invitations; simulated members POSTed: answered (\d+)$",
        result.stdout,
        flags=re.MULTILINE,
    )
    assert posted, result.stdout
    invited, answered = int(posted.group(1)), int(posted.group(2))
    assert invited > 0 and 0 < answered < invited
    engine = create_engine(f"sqlite:///{home / 'mentorflow.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(survey_responses)).all()
    prompt = re.search(
        r"^  surveys answered promptly inside the walk \(never nudged\): answered (\d+)$",
        result.stdout,
        flags=re.MULTILINE,
    )
    assert prompt, result.stdout
    assert len(rows) == answered + int(prompt.group(1)) and {r.channel for r in rows} == {"web"}
    # prompt answers are not nudged: fewer nudges than invitations (the tick's and those the
    # closure mail carried, which `invited` counts)
    nudges = sum(map(int, re.findall(r"\bsurvey_nudge (\d+)", result.stdout)))
    assert int(prompt.group(1)) > 0 and 0 < nudges < invited
    # check-ins are answered on the real page too: the pairs met, as the report says
    met = re.search(r"^  check-in mails answered on the page: met (\d+)", result.stdout, re.M)
    assert met and int(met.group(1)) > 0, result.stdout
    with engine.connect() as conn:
        answers = conn.execute(select(checkins.c.answer)).scalars().all()
    assert answers.count("met") == int(met.group(1))
    assert "pairs that met at least once 0 of" not in result.stdout
    assert re.search(r"^  halbzeit: \d+ of \d+ answered", result.stdout, flags=re.MULTILINE)
    # issue 11: the demo ends with the retrospective and the proposal, and says where they are
    folder = home / "reports" / "demo-mentoring" / "2027-02-01"
    assert f"report:   {folder / 'retrospective.html'}" in result.stdout
    assert f"proposal: {folder / 'next_cycle.yaml'}" in result.stdout
    assert "+  start: 2027-04-26" in (folder / "next_cycle.diff").read_text(encoding="utf-8")
