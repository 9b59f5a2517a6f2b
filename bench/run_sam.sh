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
"$build/bench/bench_sam" "$tmp" "$threads" ${REPEATS:-3} 20 vit_b vit_t
if [ -n "${SAM_SRC:-}" ]; then
  /usr/bin/python3 "$here/reference_sam.py" "$tmp" "$threads" ${REPEATS:-3} 20 vit_b vit_t
  # The image embedding and the last click's low-resolution logits of both sides, on the same weights and image.
  /usr/bin/python3 - "$tmp" <<'PY'
import sys, numpy as np
for v in ("vit_b", "vit_t"):
    a = np.load(f"{sys.argv[1]}/{v}_cs_low_res.npy"); b = np.load(f"{sys.argv[1]}/{v}_ref_low_res.npy").reshape(a.shape)
    c = np.load(f"{sys.argv[1]}/{v}_ref64_low_res.npy").reshape(a.shape)
    d = np.load(f"{sys.argv[1]}/{v}_cs64_low_res.npy").reshape(a.shape)
    print(f"{v}: low-res logits of the last click (max abs value {np.abs(b).max():.1f}), max abs difference: CamSight vs "
          f"reference {np.abs(a - b).max():.2e}; against the reference decoder in float64 from the same embedding: "
          f"CamSight {np.abs(a - d).max():.2e}, reference {np.abs(b - c).max():.2e}")
    a = np.load(f"{sys.argv[1]}/{v}_cs_embedding.npy"); b = np.load(f"{sys.argv[1]}/{v}_ref_embedding.npy")
    print(f"{v}: image embedding, max abs difference {np.abs(a - b).max():.2e} (max abs value {np.abs(b).max():.1f})")
PY
else
  echo "SAM_SRC not set: reference SamPredictor skipped"
fi
