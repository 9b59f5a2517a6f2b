#!/usr/bin/env bash
# Proves the engine builds with LibTorch as its only third-party dependency: configures with Qt, VTK, DCMTK and ITK
# made unfindable, builds the CLI and the engine tests, and runs the CLI and the engine tests (CAM, SAM, metrics golden).
set -euo pipefail
src=$1
out=$2
rm -rf "$out"
cmake -S "$src" -B "$out" -G Ninja -DCAMSIGHT_ENGINE_ONLY=ON -DCAMSIGHT_BUILD_BENCH=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=TRUE -DCMAKE_DISABLE_FIND_PACKAGE_VTK=TRUE \
  -DCMAKE_DISABLE_FIND_PACKAGE_DCMTK=TRUE -DCMAKE_DISABLE_FIND_PACKAGE_ITK=TRUE
if grep -qE '^(Qt6_DIR|VTK_DIR|DCMTK_DIR|ITK_DIR):PATH=/' "$out/CMakeCache.txt"; then
  echo "engine-only build found a GUI/imaging package:"; grep -E '^(Qt6|VTK|DCMTK|ITK)_DIR' "$out/CMakeCache.txt"; exit 1
fi
cmake --build "$out" --target camsight-cli test_metrics test_io test_image test_cam test_sam test_ml_runtime test_text test_clip
for t in test_cam test_sam test_metrics test_io test_image test_ml_runtime test_text test_clip; do
  "$out/tests/$t" --gtest_brief=1 > "$out/$t.log" 2>&1 || { cat "$out/$t.log"; echo "engine-only $t failed"; exit 1; }
  tail -n 1 "$out/$t.log"
done
"$out/bin/camsight-cli" --version | tee "$out/version.txt"
grep -q "qt: not built (engine-only)" "$out/version.txt"
echo "engine-only build: ok"
