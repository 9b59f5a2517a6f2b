#!/usr/bin/env bash
# Builds the .deb with CPack and checks that it declares its Debian runtime dependencies and ships the
# executables, the .desktop entry and the icon.
set -euo pipefail
build=$1
cd "$build"
rm -f camsight_*.deb
cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }
deb=$(ls camsight_*.deb | head -1)
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# (libvtk9.1 joins once a binary renders with VTK; dpkg-shlibdeps adds it from the binaries themselves.)
for lib in libqt6widgets6 libdcmtk17 libtorch1.13 libinsighttoolkit5.2 libopenblas0-pthread libqt6svg6; do
  echo "$depends" | grep -q "$lib" || { echo "missing runtime dependency $lib"; exit 1; }
done
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/camsight ./usr/bin/camsight-cli ./usr/share/applications/camsight.desktop \
         ./usr/share/icons/hicolor/scalable/apps/camsight.svg; do
  echo "$contents" | grep -q " $f\$" || { echo "missing $f in $deb"; exit 1; }
done
echo "package $deb: ok ($(du -h "$deb" | cut -f1))"
