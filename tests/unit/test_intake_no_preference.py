"""Issue 8: an answer the spec maps to null means no preference; a list maps to several values.

Input: tests/data/issue8/no_preference.csv (goals answered "egal", "Beides", "egal, Netzwerk",
a typed "*", "Karriere", "Netzwerk") read with the spec mapping below, then matched.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from mentorflow.clock import FixedClock
from mentorflow.intake.service import ingest
from mentorflow.intake.sources import read_csv
from mentorflow.matching import build_pool
from mentorflow.matching.explain import Explainer
from mentorflow.matching.scoring import NEUTRAL, Scorer, score_of
from mentorflow.matching.settings import settings_for
from mentorflow.spec.model import NO_PREFERENCE, Criterion
from mentorflow.store.db import open_store
from tests.conftest import REPO_ROOT
from tests.fakes.intake import intake_spec

DATA = REPO_ROOT / "tests" / "data" / "issue8" / "no_preference.csv"
GOALS = {"egal": None, "Beides": ("Karriere", "Python")}  # the spec's `egal: null`, `[a, b]`


@pytest.fixture
def answers(tmp_path: Path) -> dict[str, dict]:
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = intake_spec(DATA, values={**intake_spec(DATA).intake.values, "goals": GOALS})
    report = ingest(
        engine,
        read_csv(settings.intake.source),
        settings,
        FixedClock(datetime(2027, 1, 20, tzinfo=UTC)),
    )
    assert report.accepted == 6
    from mentorflow.store.tables import enrolments, members

    query = select(members.c.name, enrolments.c.answers, enrolments.c.role).join(
        enrolments, enrolments.c.member_id == members.c.id
    )
    with engine.connect() as conn:
        found = {row.name: {**row.answers, "role": row.role} for row in conn.execute(query)}
    engine.dispose()
    return found


def test_egal_is_stored_as_no_preference_and_beides_as_both_values(answers):
    assert answers["Egon"]["goals"] == [NO_PREFERENCE]
    assert answers["Bea"]["goals"] == ["Karriere", "Python"]
    assert answers["Max"]["goals"] == ["Netzwerk"]  # a preference beside "egal" counts
    assert answers["Stella"]["goals"] == []  # a typed "*" is no answer, not "egal"


def _pool(answers: dict[str, dict], kind: str):
    names = ["Egon", "Bea", "Max", "Karl", "Nina"]
    records = [{"id": name, **answers[name]} for name in names]
    settings = settings_for(criteria=(Criterion(kind, 1.0, field="goals"),))
    return build_pool(records, settings), settings


@pytest.mark.parametrize("kind", ["overlap", "same", "different"])
def test_no_preference_scores_every_pair_neutral_and_is_never_a_shared_value(answers, kind):
    pool, settings = _pool(answers, kind)
    mentees, mentors = np.arange(3), np.array([3, 4])  # Egon, Bea, Max x Karl, Nina
    scorer = Scorer(pool, settings, mentees, mentors)
    scores = score_of(scorer.profit(np.arange(3)))
    np.testing.assert_allclose(scores[0], [NEUTRAL, NEUTRAL])  # Egon: neither match nor not
    usual = {"overlap": [0.0, 1.0], "same": [0.0, 1.0], "different": [1.0, 0.0]}[kind]
    np.testing.assert_allclose(scores[2], usual)  # Max (egal, Netzwerk) is scored as usual
    explainer = Explainer(pool, settings)
    for mentor in (3, 4):
        (part,) = explainer.pair(mentor, 0).contributions
        assert part.score == NEUTRAL
        assert (part.detail_en, part.detail_de) == (
            "no preference on goals",
            "keine Präferenz bei Ziele",
        )
    pairs = [explainer.pair(m, e) for m in (3, 4) for e in (1, 2)]
    texts = [p.detail_en + p.detail_de for pair in pairs for p in pair.contributions]
    assert not any(NO_PREFERENCE in text for text in texts)


def test_no_preference_never_forbids_a_pair(answers):
    pool, _ = _pool(answers, "same")
    settings = settings_for(criteria=(Criterion("required_common", 0.0, field="goals"),))
    pool = build_pool([{"id": n, **answers[n]} for n in ("Egon", "Bea", "Karl", "Nina")], settings)
    profits = Scorer(pool, settings, np.array([0, 1]), np.array([2, 3])).profit(np.arange(2))
    assert (profits[0] > 0).all()  # Egon (egal) may meet anyone
    assert profits[1, 0] > 0 and profits[1, 1] == 0  # Bea shares Karriere with Karl, not Nina
