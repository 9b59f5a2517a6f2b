#!/usr/bin/env bash
# Side by side: CamSight's automatic mask generation and the reference SamAutomaticMaskGenerator (32 x 32 points,
# 64 per batch) on the full-size random-weight vit_b and vit_t that bench_sam writes, same image, same threads.
# Reference sources as for run_sam.sh (fetched for the run, never committed):
#   SAM_SRC=$PWD/src bash bench/run_automask.sh build
set -euo pipefail
build=${1:-build}
threads=${THREADS:-2}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/bench_sam" "$tmp" "$threads" 1 1 vit_b vit_t >/dev/null   # writes the weights and the image
"$build/bench/bench_automask" "$tmp" "$threads" vit_t vit_b
if [ -n "${SAM_SRC:-}" ]; then
  /usr/bin/python3 "$here/reference_automask.py" "$tmp" "$threads" vit_t vit_b
else
  echo "SAM_SRC not set: reference SamAutomaticMaskGenerator skipped"
fi
