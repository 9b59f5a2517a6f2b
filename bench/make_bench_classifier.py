#!/usr/bin/python3
"""Writes a ResNet-18-shaped classifier (random weights, eval mode, torch.jit.script) and a 224x224 input for the CAM
benchmark. torchvision is not needed: the architecture is restated here (BasicBlock x [2, 2, 2, 2], 64..512 channels).

Usage: /usr/bin/python3 bench/make_bench_classifier.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.downsample(x))


class ResNet18(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        chans = [64, 128, 256, 512]
        cin = 64
        for i, c in enumerate(chans):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, c, stride), BasicBlock(c, c, 1)))
            cin = c
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    model = ResNet18().eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.6, 1.4)
            nn.init.normal_(m.bias, 0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    torch.jit.script(model).save(os.path.join(out, "resnet18_bench.pt"))
    # pytorch-grad-cam cannot hook a ScriptModule: the reference runs the eager model with these same weights.
    torch.save(model.state_dict(), os.path.join(out, "resnet18_bench_state.pt"))
    rng = np.random.default_rng(0)
    np.save(os.path.join(out, "input224.npy"), rng.standard_normal((1, 3, 224, 224)).astype(np.float32))


if __name__ == "__main__":
    main()
