"""Whatever an organizer writes, checking a spec reports located problems and never crashes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorflow.spec import check_spec, load_spec
from mentorflow.spec.loader import read_document

ROOT = Path(__file__).resolve().parents[2]
BASES = [
    ROOT / "tests" / "specs" / "valid" / "everything.yaml",
    ROOT / "program_specs" / "rotational.yaml",
]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "12w", "0d", "2027-02-30", "mentor", "x@y", "Europe/Berlin", "weight"]),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(data: Any, path: tuple, value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(BASES), pick=st.integers(0, 10_000), value=_values, delete=st.booleans()
)
def test_any_edit_gives_problems_or_a_spec_never_a_crash(
    base: Path, pick: int, value: Any, delete: bool
) -> None:
    document, _ = read_document(base)
    assert document is not None
    paths = _paths(document.data)
    data = _mutate(document.data, paths[pick % len(paths)], value, delete and pick % len(paths) > 0)
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / base.name
        spec.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        for sub in ("templates/hello", "templates/introduction", "templates/rotation_start"):
            (Path(folder) / sub).mkdir(parents=True)
        problems = check_spec(spec)
        assert all(p.line >= 1 and p.col >= 1 and p.json_path.startswith("$") for p in problems)
        if not problems:
            assert load_spec(spec).program.id
