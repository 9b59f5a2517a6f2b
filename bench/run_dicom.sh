#!/usr/bin/env bash
# Loading a 300-slice 512x512 CT-like series (written here with DCMTK): CamSight against ITK's GDCM series reader and
# dcm2niix (Debian package), on the same files with a warm page cache; 3 runs each, every run its own process.
#   bash bench/run_dicom.sh build [SLICES]
set -euo pipefail
build=${1:-build}
slices=${2:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/bench_dicom" write "$tmp/series" "$slices" 512
cat "$tmp"/series/* > /dev/null   # warm the page cache for everyone
for run in 1 2 3; do
  "$build/bench/bench_dicom" camsight "$tmp/series"
  "$build/bench/bench_dicom" itk "$tmp/series"
  rm -rf "$tmp/nii" && mkdir "$tmp/nii"
  /usr/bin/time -f "dcm2niix  %e s   peak %M KB" dcm2niix -z n -b n -o "$tmp/nii" "$tmp/series" > /dev/null
done
