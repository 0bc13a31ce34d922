"""deploy/kubernetes/base-job-template.json, checked offline against prefect-kubernetes: the
server's template rules, the worker's job configuration, and the manifest a flow run gets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import uuid4

from jsonschema import Draft202012Validator
from prefect.client.schemas.objects import FlowRun
from prefect.server.schemas.actions import validate_base_job_template
from prefect_kubernetes.worker import KubernetesWorker, KubernetesWorkerJobConfiguration

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = json.loads((ROOT / "deploy/kubernetes/base-job-template.json").read_text("utf-8"))


def _defaults() -> dict:
    properties = TEMPLATE["variables"]["properties"]
    return {name: p["default"] for name, p in properties.items() if "default" in p}


def _manifest(values: dict) -> dict:
    config = asyncio.run(
        KubernetesWorkerJobConfiguration.from_template_and_values(TEMPLATE, values)
    )
    config.prepare_for_flow_run(flow_run=FlowRun(flow_id=uuid4(), name="demo-mentoring/tick/x"))
    return config.job_manifest


def test_the_template_passes_the_servers_checks_and_keeps_every_prefect_variable() -> None:
    validate_base_job_template(TEMPLATE)
    Draft202012Validator.check_schema(TEMPLATE["variables"])
    default = KubernetesWorker.get_default_base_job_template()
    assert set(default["variables"]["properties"]) <= set(TEMPLATE["variables"]["properties"])
    assert set(default["job_configuration"]) == set(TEMPLATE["job_configuration"])


def test_a_flow_runs_job_gets_the_store_from_a_secret_and_home_from_a_volume() -> None:
    manifest = _manifest({**_defaults(), "env": {"MENTORFLOW_LOG": "1"}})
    pod = manifest["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MENTORFLOW_DB_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": "mentorflow-store", "key": "url"}
    }
    assert env["MENTORFLOW_HOME"]["value"] == "/var/lib/mentorflow"
    assert "PREFECT__FLOW_RUN_ID" in env and env["MENTORFLOW_LOG"]["value"] == "1"
    assert container["image"] == "mentorflow:0.1.0"
    assert container["volumeMounts"] == [
        {"name": "mentorflow-home", "mountPath": "/var/lib/mentorflow"}
    ]
    assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "mentorflow-home"}


def test_the_secret_and_the_claim_are_variables_an_organizer_can_set() -> None:
    manifest = _manifest({**_defaults(), "store_secret": "orga-db", "home_claim": "orga-home"})
    pod = manifest["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["MENTORFLOW_DB_URL"]["valueFrom"]["secretKeyRef"]["name"] == "orga-db"
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "orga-home"
