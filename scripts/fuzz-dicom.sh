#!/usr/bin/env bash
# Builds the libFuzzer target of the DICOM file-to-volume path with clang (ASan + UBSan) and runs it.
#   bash scripts/fuzz-dicom.sh [SECONDS]   (default 600)
# The corpus starts from ../shared/data/dicom when present; crashes are written to build-fuzz/artifacts/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
out="$root/build-fuzz"
cmake -S "$root/fuzz" -B "$out" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out"
mkdir -p "$out/corpus" "$out/artifacts"
if [ -d "$root/../shared/data/dicom" ]; then
  find "$root/../shared/data/dicom" -type f -size -2M -exec cp -n {} "$out/corpus/" \; 2>/dev/null || true
fi
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 LSAN_OPTIONS=suppressions="$root/fuzz/lsan.supp" \
  "$out/fuzz_dicom" "$out/corpus" -artifact_prefix="$out/artifacts/" -max_total_time="$seconds" -rss_limit_mb=4096 \
  -timeout=30 -max_len=4000000 -print_final_stats=1
