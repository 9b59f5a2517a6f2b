#!/usr/bin/env bash
# Side by side: CamSight's CAMs and pytorch-grad-cam on the same ResNet-18-shaped classifier (random weights) and
# 224x224 input, same thread count. Needs Debian's python3-torch and python3-opencv, and the reference source:
#   git clone https://github.com/jacobgil/pytorch-grad-cam && git -C pytorch-grad-cam checkout 084273b
#   GRADCAM_SRC=$PWD/pytorch-grad-cam bash bench/run_cam.sh build
set -euo pipefail
build=${1:-build}
threads=${THREADS:-2}
repeats=${REPEATS:-10}
here=$(cd "$(dirname "$0")" && pwd)
: "${GRADCAM_SRC:?set GRADCAM_SRC to an extracted jacobgil/pytorch-grad-cam}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/make_bench_classifier.py" "$tmp"
methods=(gradcam gradcam++ xgradcam hirescam layercam eigencam scorecam)
/usr/bin/python3 "$here/reference_cam.py" "$tmp" layer4 "$repeats" "$threads" "${methods[@]}"
"$build/bench/bench_cam" "$tmp" layer4 "$repeats" "$threads" "${methods[@]}"
