#!/usr/bin/env bash
# Side by side: CamSight's SAM and the reference SamPredictor on the same full-size random-weight vit_b and vit_t
# (written by bench_sam as torch.save files) and the same 1024x768 image, same thread count. Needs Debian's
# python3-torch and python3-torchvision, and the reference sources (fetched for the run, never committed):
#   git clone https://github.com/facebookresearch/segment-anything   (dca509fe)
#   git clone https://github.com/ChaoningZhang/MobileSAM              (34bbbfdf)
#   mkdir src && cp -r segment-anything/segment_anything MobileSAM/mobile_sam src/
#   SAM_SRC=$PWD/src bash bench/run_sam.sh build
set -euo pipefail
build=${1:-build}
threads=${THREADS:-2}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/bench_sam" "$tmp" "$threads" 3 20 vit_b vit_t
if [ -n "${SAM_SRC:-}" ]; then
  /usr/bin/python3 "$here/reference_sam.py" "$tmp" "$threads" 3 20 vit_b vit_t
else
  echo "SAM_SRC not set: reference SamPredictor skipped"
fi
