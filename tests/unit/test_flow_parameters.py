"""Every deployed flow explains each of its parameters in the Prefect UI (from its docstring),
and no parameter could carry member data: each is a spec path, a date, a number or a flag."""

from __future__ import annotations

import pytest
from prefect.utilities.callables import parameter_schema

from mentorflow.deployments import plan_deployments
from mentorflow.spec import load_spec
from tests.unit.test_deployment_plan import ROOT


def _flows() -> list:
    import importlib

    spec = load_spec(ROOT / "program_specs/one_to_one.yaml")
    found = []
    for plan in plan_deployments(spec):
        path, name = plan.entrypoint.split(":")
        module = path.removesuffix(".py").replace("/", ".")
        found.append(getattr(importlib.import_module(module), name))
    return found


@pytest.mark.parametrize("flow", _flows(), ids=lambda f: f.name)
def test_each_parameter_has_a_description_and_a_plain_type(flow) -> None:
    properties = parameter_schema(flow.fn).model_dump()["properties"]
    assert "spec_path" in properties
    for name, schema in properties.items():
        assert schema.get("description"), f"{flow.name}.{name} has no description"
        types = {schema.get("type")} | {t.get("type") for t in schema.get("anyOf", [])}
        assert types - {None} <= {"string", "integer", "boolean", "null"}, (name, schema)
