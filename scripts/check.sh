#!/usr/bin/env bash
# Everything CI checks: lint, format, types of the core, the import contract, then the tests.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ruff check .
ruff format --check .
mypy
lint-imports
exec bash scripts/test.sh "$@"
