"""The shipped example specs and their sample forms go through intake as an organizer expects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mentorflow.clock import FixedClock
from mentorflow.intake.fields import default_role, required_fields
from mentorflow.intake.service import ingest
from mentorflow.intake.sources import read_csv, sniff_delimiter
from mentorflow.spec import load_spec
from mentorflow.spec.model import GoogleSheetSource, SecretRef
from mentorflow.store.db import open_store

SPECS = Path(__file__).resolve().parents[2] / "program_specs"
EXPECTED = {  # (rows, accepted, quarantined, not consented, duplicates)
    "one_to_one": (43, 35, 5, 1, 2),
    "group": (15, 12, 1, 1, 1),
    "peer": (12, 10, 1, 1, 0),
    "reverse": (10, 8, 2, 0, 0),
    "rotational": (10, 8, 1, 0, 1),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_example_form_is_read_and_every_row_accounted_for(name, tmp_path):
    settings = load_spec(SPECS / f"{name}.yaml")
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    report = ingest(
        engine, read_csv(settings.intake.source), settings, FixedClock(datetime.now(UTC))
    )
    engine.dispose()
    counts = report.counts()
    got = tuple(
        counts[k] for k in ("rows_read", "accepted", "quarantined", "not_consented", "duplicates")
    )
    assert got == EXPECTED[name]
    assert report.unmapped_columns == ()


def test_the_german_demo_form_is_a_semicolon_export_with_commas_inside_answers():
    # German Excel and LibreOffice export CSV with `;`; multi-select answers keep their commas.
    settings = load_spec(SPECS / "one_to_one.yaml")
    first_line = (SPECS / "intake" / "one_to_one.csv").read_text(encoding="utf-8").split("\n")[0]
    assert sniff_delimiter(first_line) == ";"
    table = read_csv(settings.intake.source)  # type: ignore[arg-type]
    assert len(table.header) == 14 and table.header[1] == "E-Mail-Adresse"
    assert table.rows[0][1][9] == "Deutsch, Türkisch, Englisch"


def test_peer_programs_need_no_role_question(tmp_path):
    settings = load_spec(SPECS / "peer.yaml")
    assert default_role(settings) == "peer"
    assert "role" not in required_fields(settings)


def test_a_google_sheet_source_keeps_its_credentials_by_reference(tmp_path):
    text = (SPECS / "one_to_one.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "  source: {type: csv, path: intake/one_to_one.csv}\n",
        "  source: {type: google_sheet, key: 1AbC, worksheet: Form Responses 1,\n"
        "           credentials: {env: GOOGLE_SERVICE_ACCOUNT_JSON}}\n",
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    source = load_spec(path).intake.source
    assert source == GoogleSheetSource(
        "1AbC", "Form Responses 1", SecretRef("env", "GOOGLE_SERVICE_ACCOUNT_JSON")
    )
    assert source.label == "sheet:1AbC/Form Responses 1"
