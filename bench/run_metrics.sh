#!/usr/bin/env bash
# Side by side: CamSight's metrics and the numpy/scikit-learn reference on the same 512x512 pair, one core each.
set -euo pipefail
build=${1:-build}
tmp=$(mktemp -d)
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c 0 "$build/bench/bench_metrics" "$tmp" 300
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c 0 /usr/bin/python3 "$(dirname "$0")/reference_metrics.py" "$tmp" 30
rm -rf "$tmp"
