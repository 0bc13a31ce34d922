#!/usr/bin/env bash
# Installs mentorflow into .venv, starts the services the tests need, and runs the whole suite.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source scripts/postgres.sh
source scripts/chromium.sh
source scripts/axe.sh
source scripts/poppler.sh
exec python -m pytest "$@"
