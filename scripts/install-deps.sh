#!/usr/bin/env bash
# Installs from Debian 12 everything CamSight's build, tests, benchmarks and app need.
# Non-interactive and idempotent: when every package is present it returns in about a second.
set -euo pipefail

PACKAGES=(
  # Toolchain
  build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev
  # Qt 6 (Widgets, OpenGL widgets, Concurrent, Test); never VTK's Qt 5 module
  qt6-base-dev qt6-base-dev-tools libqt6opengl6-dev libqt6svg6 libgl-dev
  # Imaging stack
  libvtk9-dev libdcmtk-dev libinsighttoolkit5-dev libopenjp2-7-dev zlib1g-dev libgdcm-tools
  # LibTorch (CPU) and a fast BLAS for it
  libtorch-dev libopenblas0-pthread
  # Tests: GoogleTest, a virtual X server, fonts for pixel tests, and tools used by benchmarks
  libgtest-dev xvfb xauth fonts-dejavu-core dcm2niix time
  # Packaging
  dpkg-dev file
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
else
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LibTorch must use OpenBLAS, never Debian's reference BLAS (about 35x slower here).
if command -v update-alternatives >/dev/null; then
  arch_dir=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
  for lib in libblas.so.3 liblapack.so.3; do
    target="/usr/lib/${arch_dir}/openblas-pthread/${lib}"
    if [ -e "$target" ] && ! update-alternatives --query "${lib}-${arch_dir}" 2>/dev/null | grep -q "^Value: ${target}"; then
      ${SUDO:-} update-alternatives --set "${lib}-${arch_dir}" "$target" >/dev/null
    fi
  done
fi
