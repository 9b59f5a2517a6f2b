#!/usr/bin/env python3
"""Reference output of segment-anything's SamAutomaticMaskGenerator on the tiny random-weight SAM of
../shared/golden/sam (sam_tiny.pth, image of sam_tiny_a), for tests/core/ml/SamAutoMaskTest.cpp.

  SAM_SRC=<dir holding segment_anything/ from facebookresearch/segment-anything dca509fe> \
      python3 scripts/make-amg-reference.py ../shared tests/data/amg

The weights are random, so predicted IoUs are low: the thresholds are lowered to keep masks (the semantics are
unchanged; box_nms_thresh 1.0 keeps every mask). Each setting writes <name>.json: the generator's records in its
order (area, bbox, predicted IoU, point, stability score, crop box; the noisy random-weight masks themselves are
not stored).
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.environ["SAM_SRC"])
from segment_anything.automatic_mask_generator import SamAutomaticMaskGenerator  # noqa: E402
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer  # noqa: E402
from functools import partial  # noqa: E402

shared, out = sys.argv[1], sys.argv[2]
torch.set_num_threads(1)
enc = ImageEncoderViT(img_size=1024, patch_size=16, embed_dim=64, depth=4, num_heads=4, mlp_ratio=4, out_chans=64,
                      qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), use_rel_pos=True,
                      global_attn_indexes=(1, 3), window_size=14)
model = Sam(image_encoder=enc,
            prompt_encoder=PromptEncoder(embed_dim=64, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                                         mask_in_chans=16),
            mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                     transformer=TwoWayTransformer(depth=2, embedding_dim=64, mlp_dim=256, num_heads=8),
                                     transformer_dim=64, iou_head_depth=3, iou_head_hidden_dim=64),
            pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])
model.load_state_dict(torch.load(os.path.join(shared, "golden/sam/sam_tiny.pth")))
model.eval()
image = np.load(os.path.join(shared, "golden/sam/sam_tiny_a/image.npy"))

settings = {
    "grid4_all": dict(points_per_side=4, points_per_batch=6, pred_iou_thresh=0.0, stability_score_thresh=0.0,
                      stability_score_offset=0.05,
                      box_nms_thresh=1.0),
    "grid8_iou": dict(points_per_side=8, points_per_batch=64, pred_iou_thresh=0.09, stability_score_thresh=0.6,
                      stability_score_offset=0.02,
                      box_nms_thresh=0.7),
    "grid6_crops": dict(points_per_side=6, points_per_batch=64, pred_iou_thresh=0.0, stability_score_thresh=0.0,
                        crop_n_layers=1, crop_n_points_downscale_factor=2),
}
os.makedirs(out, exist_ok=True)
for name, kw in settings.items():
    gen = SamAutomaticMaskGenerator(model, **kw)
    with torch.no_grad():
        records = gen.generate(image)
    rows = []
    for r in records:
        rows.append({k: r[k] for k in ("area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box")})
    doc = {"settings": kw, "image": "golden/sam/sam_tiny_a/image.npy", "shape": list(image.shape[:2]), "masks": rows}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
    print(name, len(rows), "masks")
