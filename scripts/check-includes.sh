#!/usr/bin/env bash
# Fails when a layer includes what DESIGN.md forbids it:
#   core/: no Qt, VTK or ITK;  DCMTK only in core/dicom;  LibTorch only in core/ml, and never in a core/ml public
#   header (*.h); core/ml/internal/*.hpp are private LibTorch headers that nothing outside core/ml includes.
set -uo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
fail=0
check() {  # check <description> <grep -E pattern> <paths...>
  local what=$1 pattern=$2; shift 2
  local hits
  hits=$(grep -rnE --include='*.h' --include='*.hpp' --include='*.cpp' --include='*.cc' "$pattern" "$@" 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "FORBIDDEN: $what"; echo "$hits"; fail=1
  fi
}
qt='^\s*#\s*include\s*[<"](Q[A-Za-z]|Qt[A-Za-z]*/)'
vtk='^\s*#\s*include\s*[<"]vtk'
itk='^\s*#\s*include\s*[<"]itk'
dcmtk='^\s*#\s*include\s*[<"]dcmtk/'
torch='^\s*#\s*include\s*[<"](torch/|ATen/|c10/|caffe2/)'

check "Qt include under core/" "$qt" core
check "VTK include under core/" "$vtk" core
check "ITK include under core/ outside core/io and core/dicom" "$itk" $(ls -d core/* | grep -vE 'core/(io|dicom)$')
check "DCMTK include outside core/dicom" "$dcmtk" core/image core/io core/metrics core/ml ui app
check "LibTorch include outside core/ml" "$torch" core/image core/io core/metrics core/dicom ui app
check "LibTorch include in a core/ml header (use an opaque Impl)" "$torch" $(find core/ml -name '*.h' 2>/dev/null)
check "core/ml/internal included outside core/ml (white-box tests and benchmarks excepted)" '#\s*include\s*"core/ml/internal/' core/image core/io core/metrics core/dicom ui app
check "a public core/ml header includes core/ml/internal" '#\s*include\s*"core/ml/internal/' $(find core/ml -name '*.h' 2>/dev/null)
check "core/ml and core/metrics include each other" '#\s*include\s*"core/metrics/' core/ml
check "core/ml and core/metrics include each other" '#\s*include\s*"core/ml/' core/metrics
check "core/text is a leaf (no other CamSight module)" '#\s*include\s*"core/(image|io|metrics|ml|dicom)/' core/text
check "core/ includes ui/ or app/" '#\s*include\s*"(ui|app)/' core
check "ui/widgets run engines (core/ml)" '#\s*include\s*"core/ml/' ui/widgets ui/render

if [ $fail -eq 0 ]; then echo "include rules: ok ($(find core ui app -name '*.h' -o -name '*.cpp' | wc -l) files)"; fi
exit $fail
