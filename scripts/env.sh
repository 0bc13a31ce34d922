# Shared by the scripts: a project venv with mentorflow installed in it. Sourced, not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv; then
    rm -rf .venv  # half made, without pip: the next run would fail with a less clear message
    echo "could not create .venv with '$PY -m venv'." >&2
    echo "On Debian/Ubuntu install venv first: sudo apt-get install python3-venv" >&2
    echo "(or choose another Python 3.11+: PYTHON=/path/to/python3 bash $0)" >&2
    exit 1
  fi
fi
stamp=.venv/.mentorflow-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[test,dev]"
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
