#!/usr/bin/python3
"""pytorch-grad-cam on the same classifier and input as bench_cam, for the side-by-side timing.

Usage: GRADCAM_SRC=<extracted jacobgil/pytorch-grad-cam> /usr/bin/python3 bench/reference_cam.py DIR LAYER REPEATS THREADS METHOD...

DIR is what make_bench_classifier.py wrote. pytorch-grad-cam registers forward hooks, which TorchScript modules refuse
("register_forward_hook is not supported on ScriptModules"), so the reference runs the eager ResNet18 of
make_bench_classifier.py with the very weights of the scripted file CamSight loads.

Needs Debian's python3-torch and python3-opencv. Packages the library imports but never uses on these code paths
(ttach, matplotlib, torchvision, tqdm) are replaced by inert stand-ins when they are not installed. Writes each
method's map next to INPUT as ref_<method>.npy so that the two implementations can be compared.
"""
import os
import statistics
import sys
import time
import types

import numpy as np
import torch


def stub(name, **attrs):
    if name in sys.modules:
        return
    try:
        __import__(name)
        return
    except ImportError:
        pass
    m = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m


class _Inert:
    def __init__(self, *a, **k):
        pass


stub("ttach", Compose=_Inert, HorizontalFlip=_Inert, Multiply=_Inert)
stub("tqdm", tqdm=lambda it, *a, **k: it)
stub("matplotlib")
stub("matplotlib.pyplot")
stub("matplotlib.lines", Line2D=_Inert)
stub("torchvision")
stub("torchvision.transforms", Compose=_Inert, Normalize=_Inert, ToTensor=_Inert)

src = os.environ.get("GRADCAM_SRC")
if not src or not os.path.isdir(os.path.join(src, "pytorch_grad_cam")):
    sys.exit("set GRADCAM_SRC to an extracted jacobgil/pytorch-grad-cam (the folder holding pytorch_grad_cam/)")
# Import the method modules without the package __init__, which pulls in every optional dependency.
pkg = types.ModuleType("pytorch_grad_cam")
pkg.__path__ = [os.path.join(src, "pytorch_grad_cam")]
sys.modules["pytorch_grad_cam"] = pkg
from pytorch_grad_cam.grad_cam import GradCAM  # noqa: E402
from pytorch_grad_cam.grad_cam_plusplus import GradCAMPlusPlus  # noqa: E402
from pytorch_grad_cam.hirescam import HiResCAM  # noqa: E402
from pytorch_grad_cam.layer_cam import LayerCAM  # noqa: E402
from pytorch_grad_cam.eigen_cam import EigenCAM  # noqa: E402
from pytorch_grad_cam.score_cam import ScoreCAM  # noqa: E402
from pytorch_grad_cam.xgrad_cam import XGradCAM  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

METHODS = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "hirescam": HiResCAM, "layercam": LayerCAM,
           "eigencam": EigenCAM, "scorecam": ScoreCAM, "xgradcam": XGradCAM}


def main():
    folder, layer_path, repeats, threads = sys.argv[1:5]
    methods = sys.argv[5:]
    torch.set_num_threads(int(threads))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_bench_classifier import ResNet18
    model = ResNet18().eval()
    model.load_state_dict(torch.load(os.path.join(folder, "resnet18_bench_state.pt")))
    input_path = os.path.join(folder, "input224.npy")
    layer = model
    for part in layer_path.split("."):
        layer = getattr(layer, part)
    x = torch.from_numpy(np.load(input_path))
    with torch.no_grad():
        c = int(model(x).argmax())
    for name in methods:
        cam = METHODS[name](model=model, target_layers=[layer])
        run = lambda: cam(input_tensor=x, targets=[ClassifierOutputTarget(c)])  # noqa: E731
        out = run()  # warm-up
        times = []
        for _ in range(int(repeats)):
            t0 = time.perf_counter()
            out = run()
            times.append((time.perf_counter() - t0) * 1000)
        np.save(os.path.join(os.path.dirname(input_path), "ref_" + name.replace("+", "p") + ".npy"), out[0])
        print(f"reference {name:10s} median {statistics.median(times):9.2f} ms  min {min(times):9.2f} ms  ({repeats} runs)")


if __name__ == "__main__":
    main()
