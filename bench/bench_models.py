"""The benchmark models and their calibration batches, shared by the exporter (which
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
# (chosen so `make bench` stays within 15 minutes on a 2-core machine, the reference included).
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


class SelfAttention(nn.Module):
    """nn.MultiheadAttention's self-attention (batch first, no mask, eval) in plain operations,
    with its parameter names, on tokens as rows: [batch * length, d_model]. The reference's
    outlier detector calls the observer it puts before a leaf module with all of the module's
    arguments, and nn.MultiheadAttention's three (query, key, value) make that observer fail."""

    def __init__(self, d_model, nhead):
        super().__init__()
        self.nhead = nhead
        self.head_dim = d_model // nhead
        self.scale = float(self.head_dim) ** -0.5
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)

    def heads(self, x, batch: int):
        return x.reshape(batch, -1, self.nhead, self.head_dim).transpose(1, 2)

    def forward(self, tokens, batch: int):
        qkv = nn.functional.linear(tokens, self.in_proj_weight, self.in_proj_bias).chunk(3, -1)
        q = self.heads(qkv[0], batch) * self.scale
        weights = torch.softmax(torch.matmul(q, self.heads(qkv[1], batch).transpose(-2, -1)), -1)
        attended = torch.matmul(weights, self.heads(qkv[2], batch)).transpose(1, 2)
        return self.out_proj(attended.reshape(tokens.size(0), -1))


class EncoderLayer(nn.Module):
    """nn.TransformerEncoderLayer's post-norm, ReLU, batch-first computation as plain module
    calls, with the same submodule and parameter names. FX cannot trace the library class
    (its forward branches on its inputs to choose the fused path), so the reference gets this
    one. Its Linear layers see tokens as rows, [batch * length, d_model]: on [batch, length,
    d_model] the reference's input-weight equalization detector takes the length for the
    channels and fails."""

    def __init__(self, d_model, nhead, dim_feedforward, dropout=0.1):
        super().__init__()
        self.self_attn = SelfAttention(d_model, nhead)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.relu = nn.ReLU()

    def forward(self, x):
        tokens = x.reshape(-1, x.size(-1))
        tokens = self.norm1(tokens + self.dropout1(self.self_attn(tokens, x.size(0))))
        fed = self.linear2(self.dropout(self.relu(self.linear1(tokens))))
        return self.norm2(tokens + self.dropout2(fed)).reshape(x.shape)


class Encoder(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def transformer_encoder_fx():
    """The transformer's weights (built first, from the same seed) in EncoderLayer form."""
    library = transformer_encoder()
    model = Encoder([EncoderLayer(256, 8, 1024) for _ in range(4)])
    model.load_state_dict(library.state_dict())
    return model


MODELS = {
    "mlp": Spec(Mlp, (64, 784), 32),
    "small_cnn": Spec(SmallCnn, (32, 3, 32, 32), 16),
    "resnet18": Spec(lambda: torchvision.models.resnet18(weights=None), (8, 3, 224, 224), 8),
    "mobilenet_v2": Spec(lambda: torchvision.models.mobilenet_v2(weights=None), (8, 3, 224, 224),
                         8),
    "transformer": Spec(transformer_encoder, (8, 128, 256), 8),
    "transformer_fx": Spec(transformer_encoder_fx, (8, 128, 256), 8),
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
