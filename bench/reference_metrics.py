#!/usr/bin/env python3
"""Reference timing for bench_metrics: the same metrics on the same .npy pair, computed as the reference code does
(Quantus v0.5.3 formulas with numpy argsort, scikit-learn roc_curve + auc, torcheval's binary_auprc restated in
numpy, the seed notebook's AUC-Judd vectorised, thresholded Dice/IoU). Needs python3-numpy and python3-sklearn.

Usage: reference_metrics.py DIR [REPEATS]"""
import sys
import time

import numpy as np
from sklearn.metrics import auc, roc_curve


def all_metrics(a, s):
    af, sf = a.ravel(), s.ravel().astype(bool)
    out = {}
    # Quantus v0.5.3 evaluate_instance formulas
    out["PointingGame"] = float(np.any(sf[np.argwhere(af == af.max()).ravel()]))
    out["AttributionLocalisation"] = af[sf].sum() / af.sum()
    k = 1000
    top = np.argsort(af)[-k:]
    out["TopKIntersection"] = sf[top].sum() / k
    out["RelevanceMassAccuracy"] = af[sf].sum() / af.sum()
    K = int(sf.sum())
    out["RelevanceRankAccuracy"] = sf[np.argsort(af)[-K:]].sum() / K
    fpr, tpr, _ = roc_curve(sf, af)
    out["AUC"] = auc(fpr, tpr)
    # torcheval binary_auprc, restated in numpy
    order = np.argsort(-af, kind="stable")
    thr = af[order]
    t = sf[order]
    last = np.r_[np.diff(thr) != 0, True]
    tp = np.cumsum(t)[last]
    fp = np.cumsum(~t)[last]
    precision = (tp / (tp + fp)).astype(np.float32)[::-1]
    recall = (tp / tp[-1]).astype(np.float32)[::-1]
    precision = np.r_[precision, np.float32(1)]
    recall = np.r_[recall, np.float32(0)]
    out["auprc_torcheval"] = -np.sum((recall[1:] - recall[:-1]) * precision[:-1])
    # AUC-Judd as the seed notebook (vectorised)
    n, P = af.size, K
    sorted_all = np.sort(af)
    sorted_in = np.sort(af[sf])
    tvals = af[sf]
    ge_all = n - np.searchsorted(sorted_all, tvals, side="left")
    ge_in = P - np.searchsorted(sorted_in, tvals, side="left")
    tpr_j = np.round(ge_in / P, 4)
    fpr_j = np.round((ge_all - ge_in) / (n - P), 4)
    tpr_j = np.r_[0, tpr_j, 1]
    fpr_j = np.r_[0, fpr_j, 1]
    o = np.argsort(fpr_j, kind="stable")
    out["auc_judd"] = np.trapz(tpr_j[o], fpr_j[o])
    # Energy pointing game and thresholded overlap
    pos = np.maximum(af, 0)
    out["energy_pointing_game"] = pos[sf].sum() / pos.sum()
    for f in (0.2, 0.5, 0.8):
        b = af >= f * af.max()
        inter = np.logical_and(b, sf).sum()
        out[f"dice_thr{f}"] = 2 * inter / (b.sum() + sf.sum())
        out[f"iou_thr{f}"] = inter / np.logical_or(b, sf).sum()
    return out


def main():
    d = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    a = np.load(f"{d}/bench_heatmap.npy")
    s = np.load(f"{d}/bench_mask.npy")
    res = all_metrics(a, s)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        all_metrics(a, s)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"reference numpy/scikit-learn ({len(res)} metrics, 512x512): median {times[len(times)//2]:.3f} ms, "
          f"min {times[0]:.3f} ms over {repeats} runs")
    for k in ("AUC", "auprc_torcheval", "auc_judd", "TopKIntersection", "RelevanceRankAccuracy",
              "RelevanceMassAccuracy", "PointingGame", "dice_thr0.5"):
        print(f"  {k} = {float(res[k]):.10g}")


if __name__ == "__main__":
    main()
