"""The five benchmark models and their calibration batches, shared by the exporter (which
hands them to qreport as TorchScript) and the reference runner (which gives the same Python
modules, with the same weights, to PyTorch's ModelReport).

Every builder runs after torch.manual_seed(0), so both sides build identical weights; the
exporter also saves the state_dict, which the reference runner loads to be certain.
"""
from collections import namedtuple

import torch
import torchvision
from torch import nn

# shape: one batch of the single input; batches: how many calibration batches the bench runs
# (chosen so `make bench` stays near 15 minutes on a 2-core machine, the reference included).
Spec = namedtuple("Spec", "build shape batches")


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 512)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(512, 256)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc3(self.relu2(self.fc2(self.relu1(self.fc1(x)))))


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(ConvBlock(3, 32), ConvBlock(32, 64, stride=2),
                                      ConvBlock(64, 64), ConvBlock(64, 128, stride=2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def transformer_encoder():
    layer = nn.TransformerEncoderLayer(d_model=256, nhead=8, dim_feedforward=1024,
                                       batch_first=True)
    # Nested tensors only matter with a padding mask; off, so the scripted forward is the
    # plain dense computation on both sides.
    return nn.TransformerEncoder(layer, num_layers=4, enable_nested_tensor=False)


MODELS = {
    "mlp": Spec(Mlp, (64, 784), 32),
    "small_cnn": Spec(SmallCnn, (32, 3, 32, 32), 16),
    "resnet18": Spec(lambda: torchvision.models.resnet18(weights=None), (8, 3, 224, 224), 8),
    "mobilenet_v2": Spec(lambda: torchvision.models.mobilenet_v2(weights=None), (8, 3, 224, 224),
                         8),
    "transformer": Spec(transformer_encoder, (8, 128, 256), 8),
}


def build(name):
    torch.manual_seed(0)
    model = MODELS[name].build()
    # BatchNorm statistics away from the identity, as in a trained model, so folding them
    # into the convolutions changes the weights the detectors analyse.
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(torch.rand(module.num_features, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(module.num_features, generator=gen) * 0.2)
                module.running_mean.copy_(torch.randn(module.num_features, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=gen) + 0.5)
    return model.eval()


def batches(name):
    """Standard-normal batches whose scale drifts from batch to batch, so the dynamic/static
    detector has something to decide."""
    spec = MODELS[name]
    gen = torch.Generator().manual_seed(2)
    return [torch.randn(spec.shape, generator=gen) * (1.0 + 0.25 * i) for i in range(spec.batches)]
