"""`mentorflow deploy SPEC...`: every stage's Prefect deployment for each program, from its spec.

One spec that does not load, or whose deployments the server refuses, is reported and skipped:
the other programs are still deployed, and the command exits 1 at the end.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import typer

from mentorflow.cli._flows import fail
from mentorflow.deployments import DeploymentPlan, plan_deployments
from mentorflow.spec.model import ProgramSpec


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)


SpecsArgument = typer.Argument(..., help="One or more program specs (YAML).")


def deploy(
    specs: list[Path] = SpecsArgument,
    pool: str = typer.Option("mentorflow", help="The Prefect work pool the runs go to."),
    home: str = typer.Option(
        None, help="MENTORFLOW_HOME for the runs (job variable); else the worker's own."
    ),
    db_url: str = typer.Option(
        None,
        help="MENTORFLOW_DB_URL for the runs (job variable, visible in the Prefect UI: without a"
        " password; give that to the worker as PGPASSWORD or ~/.pgpass).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; deploy nothing."),
) -> None:
    """Create or update the deployments of every stage, schedules in the program's time zone."""
    if db_url and urlsplit(db_url).password:
        fail(ValueError("--db-url has a password in it: the Prefect UI would show it to anyone."))
    variables = _job_variables(home, db_url)
    failed = 0
    for path in specs:
        try:
            spec = _load(path)
            plans = plan_deployments(spec)
            if not dry_run:
                _apply(spec, plans, pool, variables)
            for plan in plans:
                typer.echo(f"{path}: {_describe(spec, plan)}{'' if dry_run else ': deployed'}")
        except Exception as error:  # one program's failure never stops the next one
            failed += 1
            typer.secho(f"{path}: not deployed: {error}", err=True, fg=typer.colors.RED)
    if failed:
        raise typer.Exit(1)


def _load(path: Path) -> ProgramSpec:
    from mentorflow.spec import load_spec, require_runtime

    spec = load_spec(path)
    require_runtime(spec)
    return spec


def _job_variables(home: str | None, db_url: str | None) -> dict[str, Any]:
    env = {"MENTORFLOW_HOME": home, "MENTORFLOW_DB_URL": db_url}
    return {"env": {k: v for k, v in env.items() if v}}


def _describe(spec: ProgramSpec, plan: DeploymentPlan) -> str:
    when = f"cron {plan.cron!r} in {spec.program.timezone}" if plan.cron else "started by hand"
    return f"{plan.flow_name}/{plan.name(spec)} ({when})"


def _apply(
    spec: ProgramSpec, plans: list[DeploymentPlan], pool: str, variables: dict[str, Any]
) -> None:
    """All of one program's deployments in one call to the server; Prefect's tables unprinted."""
    from prefect import deploy

    with contextlib.redirect_stdout(io.StringIO()):
        deploy(
            *(_deployment(spec, plan, variables) for plan in plans),
            work_pool_name=pool,
            build=False,
            push=False,
            print_next_steps_message=False,
            ignore_warnings=True,
        )


def _deployment(spec: ProgramSpec, plan: DeploymentPlan, variables: dict[str, Any]) -> Any:
    from prefect import Flow, flow
    from prefect.schedules import Cron

    import flows

    source = Path(flows.__file__).resolve().parent.parent  # checkout or installed wheel
    loaded = flow.from_source(source=str(source), entrypoint=plan.entrypoint)
    assert isinstance(loaded, Flow)  # in a sync context from_source returns the flow itself
    return loaded.to_deployment(
        name=plan.name(spec),
        schedules=[Cron(plan.cron, timezone=spec.program.timezone)] if plan.cron else [],
        concurrency_limit=plan.concurrency_limit,
        parameters={"spec_path": str(spec.path)},
        job_variables=variables,
        description=plan.description,
        tags=plan.tags(spec),
    )
