"""Issue 10: the surveys flow reads a Google Form sheet (the local fake) and publishes a table of
ids only; `mentorflow results` prints rates and results and writes the CSV."""

from __future__ import annotations

import asyncio

from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from mentorflow.cli.main import app
from tests.fakes.sheets import FakeSheets
from tests.survey_support import KEY, client, link, survey_site

HEADER = ["Timestamp", "How happy are you?", "Token"]


async def _artifact(key: str):
    async with get_client() as api:
        found = await api.read_latest_artifacts()
    return next(a.data for a in found if a.key == key)


def test_run_surveys_reads_the_form_and_results_print_tables(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MENTORFLOW_DB_URL", url)
    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", KEY)
    web_app, _, spec, _ = survey_site(url)
    token = link(spec, "m_mentee1", "form").rsplit("=", 1)[1]
    sheets = FakeSheets()
    sheets.add_spreadsheet(
        "sheet-responses",
        {"Form Responses 1": [HEADER, ["1", "5", token], ["2", "4", "forged"]]},
    )
    monkeypatch.setattr("flows.surveys.sheet_client", lambda survey: sheets.client())
    result = CliRunner().invoke(app, ["run", "surveys", str(spec.path)])
    assert result.exit_code == 0, result.output
    assert "survey form: read 2, accepted 1, stored 1" in result.output
    table = asyncio.run(_artifact("survey-2027-survey-form"))
    assert "m_mentee1" in str(table) and "@" not in str(table) and "Name m_" not in str(table)

    client(web_app).post(link(spec, "m_mentor1", "fit"), data={"q_fit": "4"})
    out = tmp_path / "answers.csv"
    shown = CliRunner().invoke(app, ["results", str(spec.path), "--csv", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "Response rates" in shown.output and "Survey fit" in shown.output
    assert "wrote 3 answer line(s)" in shown.output
    assert "m_mentee1" in out.read_text() and "@" not in out.read_text()
    only = CliRunner().invoke(app, ["results", str(spec.path), "--survey", "nosuch"])
    assert only.exit_code == 1 and "no survey `nosuch`" in only.output
