"""Exports the demo model: a small CNN with the patterns qreport cares about.

Run with a Python whose torch is no newer than the LibTorch qreport is built on; for the
default build, Debian's:  /usr/bin/python3 examples/export_example.py OUT_DIR
It writes OUT_DIR/small_cnn.pt, a scripted TorchScript archive.
"""
import os
import sys

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, cin, cout, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class SmallCNN(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = Block(3, 16)
        self.body = nn.Sequential(Block(16, 16, groups=16), Block(16, 32))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, classes))

    def forward(self, x):
        x = self.pool(self.body(self.stem(x))).flatten(1)
        return self.head(x)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: export_example.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    model = SmallCNN().eval()
    path = os.path.join(out_dir, "small_cnn.pt")
    torch.jit.script(model).save(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
