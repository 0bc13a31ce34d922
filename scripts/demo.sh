#!/usr/bin/env bash
# Installs mentorflow into .venv and runs one demo cycle on the embedded defaults.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec mentorflow demo "$@"
