#!/usr/bin/env python3
"""SamAutomaticMaskGenerator (defaults: 32 x 32 points, 64 per batch) on the files bench_sam writes.

  SAM_SRC=<folder with segment_anything/ and mobile_sam/> python3 bench/reference_automask.py DIR THREADS vit_b vit_t
"""
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_sam  # noqa: E402,F401  (puts SAM_SRC on the path and stubs timm for MobileSAM)


def main():
    folder, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    image = np.load(os.path.join(folder, "image.npy"))
    for variant in sys.argv[3:]:
        if variant == "vit_t":
            from mobile_sam import SamAutomaticMaskGenerator, sam_model_registry
        else:
            from segment_anything import SamAutomaticMaskGenerator, sam_model_registry
        sam = sam_model_registry[variant](checkpoint=os.path.join(folder, variant + "_random.pth"))
        sam.eval()
        gen = SamAutomaticMaskGenerator(sam)
        with torch.no_grad():
            gen.predictor.set_image(image)  # warm-up
            t0 = time.perf_counter()
            masks = gen.generate(image)
            s = time.perf_counter() - t0
        print(f"reference {variant}  automatic masks, 32 x 32 points: {s:.2f} s per image ({len(masks)} masks kept)")


if __name__ == "__main__":
    main()
