#!/usr/bin/env bash
# Fresh Debian 12 machine -> every test: installs the dependencies, builds, runs CTest (GUI tests on Qt's offscreen
# platform). Tests that need ../shared skip visibly when it is absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
cd "${CAMSIGHT_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)" --timeout 1800
