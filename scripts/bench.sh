#!/usr/bin/env bash
# Runs every benchmark and prints its figures beside its named baseline. Pass --quick for small sizes.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
status=0
for module in bench_mail bench_intake bench_matching bench_groups bench_tick bench_surveys bench_retrospective bench_demo; do
  echo "== benchmarks.$module"
  python -m "benchmarks.$module" "$@" || status=1
done
exit $status
