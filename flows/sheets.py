"""Google Sheets for the flows: a gspread client from a credentials reference, and the retries.

The core reads sheets with a client it is handed (mentorflow/intake/sources.py); loading a
Prefect Secret block is the flows' part, so the client is built here.
"""

from __future__ import annotations

from typing import Any

from mentorflow.errors import SourceUnavailableError
from mentorflow.intake import sources
from mentorflow.spec.model import SecretRef


def client_for(ref: SecretRef) -> Any:
    """A gspread client with the service account JSON `ref` names: env variable or Secret block."""
    if ref.kind == "secret_block":  # a Prefect Secret block holding the service account JSON
        from prefect.blocks.system import Secret

        secret: Any = Secret.load(ref.name)
        info = sources.parse_credentials(secret.get(), f"Secret block {ref.name}")
    else:
        info = sources.credentials_from_env(ref.name)
    return sources.client_from_info(info)


def transient(_task: Any, _run: Any, state: Any) -> bool:
    """Retry a read that Google answered 429 or 5xx (or the network failed), nothing else."""
    return isinstance(state.result(raise_on_failure=False), SourceUnavailableError | OSError)


# @task(**SHEET_RETRIES, ...): a rate limit or an outage is retried after 5 s, 30 s and 2 min.
SHEET_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": [5, 30, 120],
    "retry_condition_fn": transient,
}
