"""The deployments a spec asks for: every stage, in the program's time zone, Form reading only
where a survey is answered in a Google Form."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from typer.testing import CliRunner

from mentorflow.cli.main import app
from mentorflow.deployments import plan_deployments
from mentorflow.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_every_stage_once_with_names_and_tags_of_the_program() -> None:
    spec = load_spec(ROOT / "program_specs/one_to_one.yaml")
    plans = plan_deployments(spec)
    assert [p.stage for p in plans] == [
        "intake",
        "matching",
        "mail",
        "tick",
        "closure",
        "retrospective",
        "retention",
        "cycle",
    ]
    assert {p.name(spec) for p in plans} == {f"demo-mentoring-{p.stage}" for p in plans}
    assert all(f"program:{spec.program.id}" in p.tags(spec) for p in plans)
    unscheduled = {p.stage for p in plans if p.cron is None}
    assert unscheduled == {"matching", "closure", "cycle"}  # the organizer starts those
    assert {p.stage for p in plans if p.concurrency_limit == 1} == {"mail", "tick"}


def test_a_google_form_survey_adds_the_form_reading_deployment() -> None:
    spec = load_spec(ROOT / "program_specs/one_to_one.yaml")
    first = next(iter(spec.surveys.values()))
    with_form = dataclasses.replace(
        spec,
        surveys={**spec.surveys, first.id: dataclasses.replace(first, answer_mode="google_form")},
    )
    assert "surveys" not in [p.stage for p in plan_deployments(spec)]
    assert "surveys" in [p.stage for p in plan_deployments(with_form)]


def test_dry_run_prints_the_plan_in_the_programs_time_zone_and_deploys_nothing() -> None:
    result = runner.invoke(app, ["deploy", str(ROOT / "program_specs/peer.yaml"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "tick/fachschaft-peer-tandems-tick (cron '5 * * * *' in Europe/Berlin)" in result.stdout
    assert "deployed" not in result.stdout


def test_a_database_password_is_refused_before_anything_is_deployed() -> None:
    url = "postgresql://mf:secret@db.example.org/mentorflow"
    result = runner.invoke(app, ["deploy", "program_specs/peer.yaml", "--db-url", url])
    assert result.exit_code == 1
    assert "password" in result.output and "secret" not in result.output
