"""prefect.yaml stays deployable: every entrypoint is a flow and every parameter fits it."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
import yaml

from mentorflow.spec import check_spec

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_entrypoint_is_a_flow_taking_the_parameters(deployment):
    path, _, name = deployment["entrypoint"].partition(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, name)
    assert type(flow).__name__ == "Flow"
    accepted = inspect.signature(flow.fn).parameters
    assert set(deployment.get("parameters", {})) <= set(accepted)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_parameters_name_a_valid_spec_and_no_personal_data(deployment):
    parameters = deployment.get("parameters", {})
    assert check_spec(ROOT / parameters["spec_path"]) == []
    assert "@" not in yaml.safe_dump(parameters)
