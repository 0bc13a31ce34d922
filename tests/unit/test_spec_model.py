"""What flows get from load_spec: typed values with defaults, dates, durations and references."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from mentorflow.errors import SpecError, SpecInvalidError
from mentorflow.intake.sources import read_csv
from mentorflow.spec import BUILTIN_TEMPLATES, Problem, SecretRef, check_spec, load_spec
from mentorflow.spec.model import CsvSource, parse_duration

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "program_specs" / "one_to_one.yaml"
MINIMAL = ROOT / "tests" / "specs" / "valid" / "minimal.yaml"


def test_problem_prints_like_an_editor_location() -> None:
    problem = Problem("x.yaml", 12, 5, "$.matching.criteria[2].weight", "'high' is not a number")
    assert str(problem) == "x.yaml:12:5: $.matching.criteria[2].weight: 'high' is not a number"


def test_demo_spec_is_german_automatic_and_writes_eml_files() -> None:
    spec = load_spec(DEMO)
    assert spec.program.id == "demo-mentoring"
    assert spec.program.language == "de"
    assert spec.matching.approval == "automatic"
    assert spec.sender.smtp is None
    assert spec.intake.columns["E-Mail-Adresse"] == "email"
    assert spec.intake.source.type == "csv"
    assert spec.intake.source.path == ROOT / "program_specs" / "intake" / "one_to_one.csv"


def test_demo_intake_csv_header_matches_the_mapping() -> None:
    spec = load_spec(DEMO)
    assert spec.intake.source.type == "csv"
    header = read_csv(CsvSource(spec.intake.source.path)).header  # a `;` export, as in Germany
    assert header == [*spec.intake.columns, "Einwilligung"]


def test_minimal_spec_gets_the_documented_defaults() -> None:
    spec = load_spec(MINIMAL)
    assert spec.program.language == "en"
    assert spec.sender.daily_limit == 500 and spec.sender.dry_run is False
    assert spec.matching.objective == "max_score" and spec.matching.approval == "organizer"
    assert spec.matching.capacity.field == "capacity" and spec.matching.capacity.default == 1
    assert spec.matching.hard_rules.no_repeat_pairs is True
    assert spec.intake.list_separator == "," and spec.intake.remind_fixable is True
    assert spec.milestones == () and dict(spec.surveys) == {}
    assert spec.closure.recognition and spec.closure.invite_alumni
    assert spec.retention.days_after_cycle_end == 365


def test_cycle_dates_and_label() -> None:
    spec = load_spec(MINIMAL)
    assert spec.cycle.start == date(2027, 2, 1)
    assert spec.cycle.duration == timedelta(days=90)
    assert spec.cycle.end == date(2027, 5, 2)
    assert spec.cycle.label == "2027-02-01"
    assert spec.retention.erase_on(spec.cycle) == date(2028, 5, 1)


def test_rotational_rounds_are_start_dates() -> None:
    spec = load_spec(ROOT / "program_specs" / "rotational.yaml")
    assert spec.model.round_length == timedelta(weeks=4)
    assert spec.model.rounds == (date(2027, 9, 6), date(2027, 10, 4), date(2027, 11, 1))
    assert spec.model.round_count == 3


def test_non_rotational_models_have_one_round_and_group_defaults() -> None:
    assert load_spec(DEMO).model.rounds == (date(2027, 2, 1),)
    peer = load_spec(ROOT / "tests" / "specs" / "valid" / "peer_without_roles.yaml")
    assert (peer.model.group_size.min, peer.model.group_size.max) == (2, 2)  # type: ignore[union-attr]


def test_criteria_defaults_are_filled_per_kind() -> None:
    criteria = load_spec(ROOT / "program_specs" / "rotational.yaml").matching.criteria
    coverage, common, _, availability, distance = criteria
    assert (coverage.mentor_field, coverage.mentee_field, coverage.weight) == ("offers", "seeks", 4)
    assert common.is_hard and common.weight == 0.0
    assert (availability.field, availability.target_hours) == ("availability", 1.0)
    assert (distance.field, distance.scale) == ("utc_offset", 8.0)


def test_milestones_have_offsets_templates_and_due_dates() -> None:
    spec = load_spec(DEMO)
    by_id = {m.id: m for m in spec.milestones}
    assert by_id["checkin-1"].at == timedelta(weeks=2)
    assert by_id["checkin-1"].template == "check_in"
    assert by_id["halbzeit"].template == "survey_invitation"
    assert by_id["halbzeit"].due(spec.cycle) == date(2027, 3, 15)
    assert {m.template for m in spec.milestones} <= BUILTIN_TEMPLATES


def test_surveys_by_id_with_localised_text() -> None:
    spec = load_spec(ROOT / "program_specs" / "peer.yaml")
    survey = spec.surveys["semesterende"]
    assert survey.nudge_after == timedelta(days=3)
    assert survey.questions[0].text["en"] == "How much did the group help you?"
    assert survey.questions[1].options[0] == {"de": "Ja"}


def test_template_overrides_resolve_next_to_the_spec() -> None:
    spec = load_spec(ROOT / "program_specs" / "rotational.yaml")
    folder = ROOT / "program_specs" / "templates" / "rotation_start"
    assert spec.templates == {"rotation_start": folder}
    assert "rotation_start" in spec.template_names


def test_spec_is_frozen() -> None:
    spec = load_spec(MINIMAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.program.id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.intake.columns["Email"] = "name"  # type: ignore[index]


def test_sha256_changes_with_the_file(tmp_path: Path) -> None:
    copy = tmp_path / "spec.yaml"
    copy.write_bytes(MINIMAL.read_bytes())
    first = load_spec(copy).sha256
    copy.write_bytes(MINIMAL.read_bytes() + b"# edited\n")
    assert load_spec(copy).sha256 != first and len(first) == 64


def test_smtp_credentials_are_references() -> None:
    smtp = load_spec(ROOT / "program_specs" / "group.yaml").sender.smtp
    assert smtp is not None
    assert smtp.password == SecretRef("env", "CIRCLES_SMTP_PASSWORD")
    assert smtp.password.resolve({"CIRCLES_SMTP_PASSWORD": "s3cret"}) == "s3cret"


def test_secret_ref_resolution_errors_name_the_variable_only() -> None:
    with pytest.raises(SpecError, match="SMTP_PASSWORD is not set"):
        SecretRef("env", "SMTP_PASSWORD").resolve({})
    with pytest.raises(SpecError, match="flow"):
        SecretRef("secret_block", "smtp-password").resolve({})


def test_inline_password_is_never_echoed() -> None:
    problems = check_spec(ROOT / "tests" / "specs" / "invalid" / "inline_password.yaml")
    assert problems and all("hunter2" not in str(p) for p in problems)


def test_yaml_1_2_keeps_yes_no_and_times_as_strings() -> None:
    spec = load_spec(ROOT / "tests" / "specs" / "valid" / "google_sheet.yaml")
    assert dict(spec.intake.values["communication"]) == {"no": 0, "yes": 1, "18:00": 2}


def test_invalid_spec_error_lists_every_problem() -> None:
    with pytest.raises(SpecInvalidError) as caught:
        load_spec(ROOT / "tests" / "specs" / "invalid" / "several_semantic_problems.yaml")
    assert len(caught.value.problems) == 6
    assert "6 problem(s)" in str(caught.value)


@pytest.mark.parametrize(("text", "days"), [("0d", 0), ("90d", 90), ("12w", 84), ("1w", 7)])
def test_parse_duration(text: str, days: int) -> None:
    assert parse_duration(text) == timedelta(days=days)


def test_expectations_come_from_the_spec_in_the_members_language() -> None:
    expected = load_spec(DEMO).expectations.in_language("de")
    assert expected["cadence"] == "alle zwei Wochen eine Stunde, per Video oder im Café"
    assert expected["topics"][2] == "Ein erster Beitrag, den Ihr gemeinsam angeht"
    assert expected["success"].startswith("ein erster eigener Beitrag")


def test_expectations_left_out_fall_back_to_the_defaults_per_language() -> None:
    minimal = load_spec(MINIMAL).expectations
    assert len(minimal.in_language("en")["topics"]) == 3
    assert minimal.in_language("de")["cadence"].startswith("alle zwei Wochen")
