"""Small eager models the tests share."""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# The MLP (12 -> 16 -> ReLU -> 5) and the module called twice are the reference cases'.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                "reference"))
from detector_reference import Mlp, Twice  # noqa: E402,F401


class ConvBnRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 5)
        with torch.no_grad():
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.2, 0.2)
            self.bn.running_mean.uniform_(-0.1, 0.1)
            self.bn.running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        x = self.conv2(self.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(F.relu(x), 1))


class SharedBatchNorm(nn.Module):
    """One BatchNorm on a conv's output, where it folds into the conv, and on the input
    itself, where nothing folds."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn(self.conv(x)) + self.bn(x)


class Residual(nn.Module):
    """conv -> bn, then an in-place add before the ReLU: the BatchNorm folds, the ReLU must
    not fuse (its input is not the BatchNorm's output any more)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.bn(self.conv(x))
        out += x
        return self.relu(out)


class DataDependent(nn.Module):
    """Control flow on the data: FX cannot trace it; qreport analyses it all the same."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)

    def forward(self, x):
        if x.sum() > 0:
            return self.b(torch.relu(self.a(x)))
        return self.b(x)


class NoLayers(nn.Module):
    def forward(self, x):
        return torch.tanh(x) * 2


def encoder_layer():
    return nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, dropout=0.0).eval()


def batches(shape, count=6, scale_growth=1.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=gen) * (scale_growth ** i) for i in range(count)]


class Fusable(nn.Module):
    """conv+bn+relu and linear+relu, to be fused by fuse_modules into torch.nn.intrinsic
    containers (ConvReLU2d with the BatchNorm folded, LinearReLU)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.bn = nn.BatchNorm2d(6)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(6 * 6 * 6, 8)
        self.relu2 = nn.ReLU()
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.flatten(self.relu(self.bn(self.conv(x))), 1)
        return self.out(self.relu2(self.fc(x)))


def fused_intrinsic():
    from torch.ao.quantization import fuse_modules

    model = Fusable().eval()
    return fuse_modules(model, [["conv", "bn", "relu"], ["fc", "relu2"]])
