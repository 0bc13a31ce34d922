"""Matching reads the typed spec itself: no copied fields, what-if weights on the typed criteria."""

from __future__ import annotations

from dataclasses import fields

import pytest

from mentorflow.matching.settings import criterion_name, settings_from_spec
from mentorflow.spec import load_spec
from mentorflow.spec.model import Criterion, Matching, Model
from tests.conftest import REPO_ROOT

SPECS = sorted((REPO_ROOT / "program_specs").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_settings_hold_the_spec_parts_themselves(path):
    spec = load_spec(path)
    s = settings_from_spec(spec)
    assert s.shape is spec.model and s.matching is spec.matching
    assert all(type(c) is Criterion for c in s.criteria)
    # Beside the two spec parts only solver options are stored: a spec field copied into the
    # settings would show up here.
    spec_names = {f.name for f in fields(Matching)} | {f.name for f in fields(Model)}
    own = {f.name for f in fields(s)} - {"shape", "matching"}
    assert own == {"candidates", "max_pricing_rounds"} and not own & spec_names


def test_group_sizes_follow_the_spec_and_are_one_elsewhere():
    by_type = {load_spec(p).model.type: settings_from_spec(load_spec(p)) for p in SPECS}
    group = load_spec(REPO_ROOT / "program_specs" / "group.yaml").model.group_size
    assert group is not None
    assert (by_type["group"].group_min, by_type["group"].group_max) == (group.min, group.max)
    assert (by_type["one_to_one"].group_min, by_type["one_to_one"].group_max) == (1, 1)
    assert by_type["rotational"].no_repeat_pairs and by_type["rotational"].rounds >= 1


def test_what_if_weights_replace_the_typed_criteria_and_leave_the_spec_alone():
    spec = load_spec(REPO_ROOT / "program_specs" / "one_to_one.yaml")
    s = settings_from_spec(spec)
    first = next(c for c in s.criteria if not c.is_hard)
    changed = s.with_weights({criterion_name(first): 9.5})
    assert changed.criteria[s.criteria.index(first)].weight == 9.5
    assert type(changed.criteria[0]) is Criterion
    assert spec.matching.criteria == s.criteria  # the loaded spec is untouched
    if first.field:
        assert s.with_weights({first.field: 2.0}).criteria[s.criteria.index(first)].weight == 2.0
    with pytest.raises(KeyError, match="unknown criteria"):
        s.with_weights({"nope": 1.0})
