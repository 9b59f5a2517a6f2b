#!/usr/bin/python3
"""The reference SamPredictor (segment-anything; MobileSAM for vit_t) on the weights and image bench_sam wrote, for the
side-by-side timing.

Usage: SAM_SRC=<folder holding segment_anything/ and mobile_sam/> /usr/bin/python3 bench/reference_sam.py DIR THREADS REPEATS CLICKS VARIANT...

Needs Debian's python3-torch and python3-torchvision. timm (imported by MobileSAM's TinyViT for trivial helpers) is
replaced by a stand-in when it is not installed. Writes <variant>_ref_low_res.npy and _ref_embedding.npy so the outputs can be compared, and
<variant>_ref64_low_res.npy: the last click decoded in float64 (how much float32 rounding alone moves the logits).
"""
import os
import statistics
import sys
import time
import types

import numpy as np
import torch

src = os.environ.get("SAM_SRC")
if not src or not os.path.isdir(os.path.join(src, "segment_anything")):
    sys.exit("set SAM_SRC to a folder holding segment_anything/ (facebookresearch) and mobile_sam/ (ChaoningZhang)")
sys.path.insert(0, src)
try:
    import timm  # noqa: F401
except ImportError:
    timm = types.ModuleType("timm")
    models = types.ModuleType("timm.models")
    layers = types.ModuleType("timm.models.layers")
    registry = types.ModuleType("timm.models.registry")

    class DropPath(torch.nn.Module):
        def __init__(self, drop_prob=None):
            super().__init__()

        def forward(self, x):
            return x

    layers.DropPath = DropPath
    layers.to_2tuple = lambda x: tuple(x) if isinstance(x, (tuple, list)) else (x, x)
    layers.trunc_normal_ = lambda t, std=1.0, **k: torch.nn.init.normal_(t, std=std)
    registry.register_model = lambda f: f
    for name, m in (("timm", timm), ("timm.models", models), ("timm.models.layers", layers), ("timm.models.registry", registry)):
        sys.modules[name] = m


def main():
    folder, threads, repeats, clicks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    image = np.load(os.path.join(folder, "image.npy"))
    for variant in sys.argv[5:]:
        ckpt = os.path.join(folder, variant + "_random.pth")
        if variant == "vit_t":
            from mobile_sam import sam_model_registry, SamPredictor
        else:
            from segment_anything import sam_model_registry, SamPredictor
        sam = sam_model_registry[variant](checkpoint=ckpt)
        sam.eval()  # refreshes TinyViT's attention-bias cache after loading (MobileSAM's README does the same)
        predictor = SamPredictor(sam)
        with torch.no_grad():
            predictor.set_image(image)  # warm-up
            enc = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                predictor.set_image(image)
                enc.append((time.perf_counter() - t0) * 1000)
            dec = []
            for i in range(clicks + 1):
                pt = np.array([[300.0 + 20 * (i % 10), 200.0 + 15 * (i % 7)]])
                t0 = time.perf_counter()
                masks, iou, low = predictor.predict(point_coords=pt, point_labels=np.array([1]), multimask_output=True,
                                                    return_logits=True)
                if i > 0:
                    dec.append((time.perf_counter() - t0) * 1000)
        np.save(os.path.join(folder, variant + "_ref_low_res.npy"), low.astype(np.float32))
        np.save(os.path.join(folder, variant + "_ref_embedding.npy"), predictor.features.numpy().astype(np.float32))
        # The same last click decoded in float64 from the same embedding and prompt embeddings: how far float32
        # rounding alone moves this model's logits (random weights make the decoder's softmaxes sharp).
        with torch.no_grad():
            coords = torch.as_tensor(predictor.transform.apply_coords(pt, predictor.original_size), dtype=torch.float)[None]
            sparse, dense = sam.prompt_encoder(points=(coords, torch.ones(1, 1)), boxes=None, masks=None)
            pe = sam.prompt_encoder.get_dense_pe()
            decoder = sam.mask_decoder.double()

            def decode64(features):
                low64, _ = decoder(image_embeddings=features.double(), image_pe=pe.double(),
                                   sparse_prompt_embeddings=sparse.double(), dense_prompt_embeddings=dense.double(),
                                   multimask_output=True)
                return low64.numpy()

            np.save(os.path.join(folder, variant + "_ref64_low_res.npy"), decode64(predictor.features))
            # From CamSight's own embedding too (when bench_sam wrote it): its decoder's rounding alone.
            own = os.path.join(folder, variant + "_cs_embedding.npy")
            if os.path.exists(own):
                np.save(os.path.join(folder, variant + "_cs64_low_res.npy"), decode64(torch.from_numpy(np.load(own))))
        print(f"reference {variant}  encoder (set_image) median {statistics.median(enc):.0f} ms (min {min(enc):.0f}, "
              f"{repeats} runs)  decode per click (predict) median {statistics.median(dec):.2f} ms (min {min(dec):.2f}, {clicks} clicks)")


if __name__ == "__main__":
    main()
