"""Issue 11: the retrospective's figures on constructed cycles with known answers, the report,
the next-cycle proposal and the erasure of a quoted story."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from scipy.stats import spearmanr

from mentorflow.retrospective import metrics
from mentorflow.retrospective.numbers import share, share_text
from mentorflow.retrospective.run import figures_for, run_retrospective, stored_figures
from mentorflow.spec import load_spec
from tests.retrospective_support import DATA, Builder, cycle, program

NOW = datetime(2027, 6, 1, 9, tzinfo=UTC)
A, B, C = "m_aaaaaaaaaaaa", "m_bbbbbbbbbbbb", "m_cccccccccccc"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MENTORFLOW_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def spec_copy(tmp_path) -> Path:
    """The test spec in a folder of its own (the proposal is checked beside it)."""
    folder = tmp_path / "spec"
    shutil.copytree(DATA, folder)
    return folder / "retro.yaml"


def _figures(b: Builder) -> dict:
    with b.engine.connect() as conn:
        return figures_for(conn, b.spec, b.cycle_id)[0]


def test_shares_of_fewer_than_five_are_not_percentages() -> None:
    assert share(2, 5) == {"n": 2, "of": 5, "pct": 40}
    assert share(3, 4) == {"n": 3, "of": 4, "pct": None}
    assert share_text(share(3, 4)) == "3 of 4 (n<5)"
    assert share_text(share(0, 0)) == "0 of 0"


def test_an_empty_cycle_has_zero_figures_and_a_report(store_url, home) -> None:
    b = program(store_url)
    figures = _figures(b)
    p = figures["participation"]
    assert (p["applied"], p["enrolled"], p["unmatched"]) == (0, 0, 0)
    assert p["matched"] == {"n": 0, "of": 0, "pct": None}
    assert figures["retention"]["pairs"] == 0
    assert figures["satisfaction"] == [] and figures["pulse"] == []
    assert [r["rate"]["of"] for r in figures["response_rates"]] == [0, 0, 0, 0]
    assert figures["contributions"]["counted"] == 0
    outcome = run_retrospective(b.engine, b.spec, NOW)
    assert "No pair was matched." in outcome.report_md.read_text(encoding="utf-8")


def _three_people(store_url: str) -> Builder:
    """A mentored earlier as a mentee; now A mentors B (to closure) and C (ended early)."""
    b = program(store_url)
    earlier = cycle(b.engine, b.spec, date(2026, 11, 2), b._known)
    earlier.member(A, "mentee")
    for member_id, role in ((A, "mentor"), (B, "mentee"), (C, "mentee")):
        b.member(member_id, role)
    b.pair("p_1", A, B, ended_day=84, reason="cycle closed")
    b.pair("p_2", A, C, ended_day=50, reason=f"rematch requested by {C}")
    b.checkin("p_1", A, "met")
    b.checkin("p_1", B, "met")
    b.checkin("p_2", C, "not_yet")
    b.absence(B, "pause", 40, until=45)  # paused over the mid-point (day 42)
    for number, outcome in enumerate(["accepted"] * 3 + ["quarantined", "duplicate"], 2):
        b.intake_row(number, outcome)
    return b


def test_a_cycle_of_three_people(store_url, home) -> None:
    figures = _figures(_three_people(store_url))
    p, r, e = figures["participation"], figures["retention"], figures["engagement"]
    assert p["applied"] == 4  # three accepted + one quarantined; the duplicate is one of them
    assert p["matched"] == {"n": 3, "of": 3, "pct": None}
    assert p["active_mid"]["n"] == 2  # B paused at the mid-point
    assert p["active_end"]["n"] == 2  # C's pair ended early; A and B reached closure
    assert r["reached_closure"] == {"n": 1, "of": 2, "pct": None}
    assert r["ended_early"]["n"] == 1
    assert r["early_reasons"] == {"rematch requested": 1}
    assert r["came_back"] == {"n": 1, "of": 3, "pct": None}
    assert e["check_in_answers"] == {"met": 2, "not_yet": 1, "cannot": 0}
    assert e["pairs_met"]["n"] == 1 and e["pauses"] == 1
    m = figures["mentees_to_mentors"]
    assert [(row["mentees"], row["mentored_later"]["n"]) for row in m["by_cycle"]] == [
        (1, 1),
        (2, 0),
    ]
    assert m["former_mentees_mentoring_now"]["n"] == 1
    assert not re.search(r"m_[a-z]{12}", json.dumps(figures))  # the aggregate names nobody


def test_a_cycle_without_surveys(store_url, home) -> None:
    b = program(store_url, DATA / "no_surveys.yaml")
    b.member(A, "mentor")
    b.member(B, "mentee")
    b.pair("p_1", A, B)
    figures = _figures(b)
    assert figures["satisfaction"] == [] and figures["scores"] == []
    assert figures["response_rates"] == [] and figures["contributions"] == {"source": None}
    assert figures["retention"]["still_open"] == 1
    outcome = run_retrospective(b.engine, b.spec, NOW)
    assert "This cycle had no survey answers." in outcome.report_md.read_text(encoding="utf-8")


def _twelve_pairs(store_url: str, spec_path: Path) -> Builder:
    """Twelve pairs: better `overlap:goals` scores met more; mentees grew, mentors did not."""
    b = program(store_url, spec_path)
    for i in range(1, 13):
        mentor, mentee = (
            b.member(f"m_mentor{i:02d}", "mentor"),
            b.member(f"m_mentee{i:02d}", "mentee"),
        )
        b.pair(
            f"p_{i:02d}",
            mentor,
            mentee,
            scores={"overlap:goals": i / 12},
            ended_day=84,
            reason="cycle closed",
        )
        for k in range(i // 3):
            b.checkin(f"p_{i:02d}", mentee, "met", occurrence=f"checkin-{k}")
        b.answer(mentee, "baseline", {"growth": 2})
        b.answer(mentee, "exit", {"growth": 3 if i > 1 else 2, "contributions": i % 3})
        b.answer(mentor, "baseline", {"growth": 4})
        b.answer(mentor, "exit", {"growth": 4})
        b.answer(mentee, "pulse", {"quality": 6}, occurrence=f"pulse-1.p_{i:02d}")
        b.answer(mentee, "pulse", {"quality": 8}, occurrence=f"pulse-2.p_{i:02d}")
    waiting = b.member("m_waiting", "mentee")
    b.event("waitlisted", {"members": [waiting]})
    for member_id, answer in (("m_mentee01", "yes"), ("m_mentee02", "yes"), ("m_mentee03", "no")):
        b.event("alumni_answer", {"answer": answer}, member_id)
    b.story("m_mentee01", "It changed how I read code reviews.", share=True)
    b.story("m_mentee02", "Something I keep to myself.", share=False)
    return b


def test_before_after_per_role_with_a_test_only_where_it_means_something(
    store_url, spec_copy, home
) -> None:
    figures = _figures(_twelve_pairs(store_url, spec_copy))
    by_role = {s["role"]: s for s in figures["satisfaction"]}
    assert by_role["mentee"]["change"] == {"n": 12, "median": 1.0, "q1": 1.0, "q3": 1.0}
    assert by_role["mentee"]["test"]["n"] == 11 and by_role["mentee"]["test"]["p"] < 0.01
    assert by_role["mentor"]["change"]["median"] == 0.0 and by_role["mentor"]["test"] is None
    assert [(p["occurrence"], p["score"]["median"]) for p in figures["pulse"]] == [
        (1, 6.0),
        (2, 8.0),
    ]
    quality = {q["criterion"]: q for q in figures["matching_quality"]}
    assert quality["overlap:goals"]["met"]["n"] == 12
    expected = spearmanr([i / 12 for i in range(1, 13)], [i // 3 for i in range(1, 13)])
    assert quality["overlap:goals"]["met"]["rho"] == pytest.approx(expected.statistic, abs=1e-3)
    assert quality["overlap:goals"]["rating"]["rho"] is None  # nobody rated a fit
    c = figures["contributions"]
    assert (c["counted"], c["contributed"]["n"], c["total"]) == (12, 8, 12)
    assert figures["alumni"] == {"asked": 3, "yes": 2, "no": 1}
    assert figures["participation"]["waitlisted_mentees"] == 1


def test_report_quotes_only_shared_stories_and_names_the_spec(store_url, spec_copy, home) -> None:
    b = _twelve_pairs(store_url, spec_copy)
    outcome = run_retrospective(b.engine, b.spec, NOW)
    for path in (outcome.report_html, outcome.report_md):
        text = path.read_text(encoding="utf-8")
        assert "It changed how I read code reviews." in text
        assert "Something I keep to myself." not in text
        assert b.spec.sha256 in text and "retro.yaml" in text
        assert "m_mentee" not in text and "Name m_" not in text and "@example.org" not in text
        assert text.count("data:image/png;base64,") >= 4
    with b.engine.connect() as conn:
        assert stored_figures(conn, b.spec.program.id, b.cycle_id) == outcome.figures


def test_the_proposal_is_a_valid_spec_with_its_reasons(store_url, spec_copy, home) -> None:
    b = _twelve_pairs(store_url, spec_copy)
    outcome = run_retrospective(b.engine, b.spec, NOW)
    proposed_path, diff_path = outcome.proposal[:2]
    text = proposed_path.read_text(encoding="utf-8")
    beside = spec_copy.with_name("next.yaml")
    beside.write_text(text, encoding="utf-8")
    proposed = load_spec(beside)
    assert proposed.cycle.start == date(2027, 5, 24) and proposed.intake.closes == date(2027, 5, 15)
    weights = {c.field: c.weight for c in proposed.matching.criteria}
    assert weights == {"goals": 2.4, "availability": 1.0}  # only the criterion with evidence moved
    assert proposed.matching.capacity.default == 2  # a mentee waited
    assert [q.id for q in proposed.surveys["pulse"].questions] == ["quality"]  # topics: unanswered
    assert "# what they want to work on" in text and "# a Monday" in text  # comments kept
    diff = diff_path.read_text(encoding="utf-8")
    assert "# next cycle: overlap:goals predicted outcomes (meetings: rho +0.9" in diff
    assert "2 alumni said yes" in diff and "m_mentee01" not in diff
    side = outcome.proposal[2].read_text(encoding="utf-8").split()
    assert side == ["m_mentee01", "m_mentee02"]
    assert list(spec_copy.parent.glob(".next-cycle-*")) == []  # the check left nothing behind


def test_erasing_a_member_cuts_their_story_from_the_reports(
    store_url, spec_copy, home, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from mentorflow.cli.main import app

    b = _twelve_pairs(store_url, spec_copy)
    outcome = run_retrospective(b.engine, b.spec, NOW)
    monkeypatch.setenv("MENTORFLOW_DB_URL", store_url)
    result = CliRunner().invoke(app, ["erase", str(spec_copy), "--member", "m_mentee01", "--yes"])
    assert result.exit_code == 0, result.output
    assert "cut 1 shared story" in result.output
    for path in (outcome.report_html, outcome.report_md):
        text = path.read_text(encoding="utf-8")
        assert "It changed how I read code reviews." not in text
        assert "withdrawn by its author" in text
    quotes = json.loads((outcome.report_html.parent / "quotes.json").read_text(encoding="utf-8"))
    assert "m_mentee01" not in quotes


def test_contributions_from_the_organizers_csv_by_id_or_address(store_url, spec_copy, home) -> None:
    text = spec_copy.read_text(encoding="utf-8").replace(
        "contributions: {question: exit.contributions}", "contributions: {csv: counted.csv}"
    )
    spec_copy.write_text(text, encoding="utf-8")
    (spec_copy.parent / "counted.csv").write_text(
        "member_id,email,contributions\n"
        f"{A},,3\n"
        f",{B.upper()}@EXAMPLE.ORG,0\n"
        ",stranger@example.org,7\n",
        encoding="utf-8",
    )
    b = program(store_url, spec_copy)
    for member_id, role in ((A, "mentor"), (B, "mentee"), (C, "mentee")):
        b.member(member_id, role)
    c = _figures(b)["contributions"]
    assert c["source"] == "csv counted.csv"
    assert (c["counted"], c["total"], c["rows_naming_nobody"]) == (2, 3, 1)
    assert c["contributed"] == {"n": 1, "of": 3, "pct": None}
    assert "stranger" not in json.dumps(c)


def test_report_command_prints_where_the_report_is(store_url, home, monkeypatch) -> None:
    from typer.testing import CliRunner

    from mentorflow.cli.main import app

    b = _three_people(store_url)
    monkeypatch.setenv("MENTORFLOW_DB_URL", store_url)
    result = CliRunner().invoke(app, ["report", str(b.spec.path)])
    assert result.exit_code == 0, result.output
    assert "applied 4, enrolled 3, matched 3 of 3 (n<5)" in result.output
    assert (
        str(home / "reports" / "retro-2027" / "2027-03-01" / "retrospective.html") in result.output
    )
    missing = CliRunner().invoke(app, ["report", str(b.spec.path), "--cycle", "2030-01-01"])
    assert missing.exit_code == 1 and "cycle 2030-01-01 of retro-2027 is not in the store" in (
        missing.output
    )


def test_earlier_cycles_are_compared_and_can_be_reported_alone(store_url, home) -> None:
    b = _three_people(store_url)
    outcome = run_retrospective(b.engine, b.spec, NOW)
    text = outcome.report_md.read_text(encoding="utf-8")
    across = text.split("## Earlier cycles of the program", 1)[1].split("##", 1)[0]
    assert "| 2026-11-02 | 1 | 1 | 0 of 1 (n<5) |" in across
    assert "| 2027-03-01 | 4 | 3 | 3 of 3 (n<5) | 1 of 2 (n<5) |" in across
    old = run_retrospective(b.engine, b.spec, NOW, "2026-11-02")
    assert old.proposal == [] and old.headline["enrolled"] == 1
    assert old.report_html.parent.name == "2026-11-02"


def test_response_rates_and_escalations_come_from_the_outbox(store_url, home) -> None:
    b = _three_people(store_url)
    for member_id in (A, B, C):
        b.mail(member_id, "survey", "exit-1.p_1")
    b.mail(C, "nudge", "no_meeting.p_2")
    b.mail(A, "check_in", "checkin-1.p_1")
    b.answer(A, "exit", {"growth": 4})
    b.answer(B, "exit", {"growth": 3})
    figures = _figures(b)
    rates = {r["survey"]: r["rate"] for r in figures["response_rates"]}
    assert rates["exit"] == {"n": 2, "of": 3, "pct": None}
    assert rates["pulse"] == {"n": 0, "of": 0, "pct": None}
    e = figures["engagement"]
    assert e["escalations"]["no_meeting_nudges"] == 1 and e["check_in_invitations"] == 1
    assert metrics.unanswered_questions(b.spec, _cycle_data(b)) == [
        {"survey": "exit", "question": "contributions", "responses": 2}
    ]


def _cycle_data(b: Builder):  # type: ignore[no-untyped-def]
    with b.engine.connect() as conn:
        return figures_for(conn, b.spec, b.cycle_id)[1]
