#!/usr/bin/env bash
# Fresh Debian 12 machine -> running CamSight: installs the dependencies, builds, starts the app.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
exec "$root/build/bin/camsight" "$@"
