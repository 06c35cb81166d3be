"""The weights detectors analyse, as PyTorch's fusion would leave them: a folded BatchNorm
scales each output channel by gamma / sqrt(running_var + eps). Computed like the TorchScript
front-end (src/torchscript/load/weights.cpp), in float32, so both report the same numbers."""

from __future__ import annotations

import hashlib
from typing import Optional

import torch

from .. import _core
from .discovery import Discovery, FoundLayer


def analysed_weight(model: torch.nn.Module, layer: FoundLayer, batch_norm: Optional[str],
                    eps: float) -> torch.Tensor:
    with torch.no_grad():
        weight = layer.weight.detach()
        if weight.device.type != "cpu":
            weight = weight.cpu()
        weight = weight.to(torch.float32)
        if batch_norm is None:
            return weight
        bn = model.get_submodule(batch_norm)
        scale = torch.rsqrt(bn.running_var.detach().cpu().to(torch.float32) + eps)
        if getattr(bn, "weight", None) is not None:
            scale = bn.weight.detach().cpu().to(torch.float32) * scale
        if scale.numel() != weight.shape[0]:
            raise _core.BadModelError(
                f"layer '{layer.fqn}': BatchNorm '{batch_norm}' has {scale.numel()} channels, "
                f"the weight has {weight.shape[0]} outputs")
        shape = [1] * weight.dim()
        shape[0] = -1
        return weight * scale.reshape(shape)


def weight_scheme_in_model(layer: FoundLayer) -> Optional["_core.WeightScheme"]:
    """How a QAT layer's own fake-quant quantizes its weight; None for float layers."""
    if layer.family not in (_core.ModuleFamily.Qat, _core.ModuleFamily.QatFused):
        return None
    fake_quant = getattr(layer.owner, "weight_fake_quant", None)
    flag = getattr(fake_quant, "is_per_channel", None)
    if isinstance(flag, torch.Tensor):
        flag = bool(flag.item())
    if not isinstance(flag, bool):
        return None
    return _core.WeightScheme.PerChannel if flag else _core.WeightScheme.PerTensor


def fingerprint(model: torch.nn.Module, discovery: Discovery) -> str:
    """Which model a state belongs to: the module tree, the layers and their weights' shapes
    and sums. States of another model refuse to merge."""
    digest = hashlib.sha256()
    for fqn, module in model.named_modules():
        digest.update(f"{fqn}:{type(module).__qualname__};".encode())
    with torch.no_grad():
        for layer in discovery.layers:
            w = layer.weight.detach()
            digest.update(f"{layer.weight_path}:{tuple(w.shape)}:{float(w.double().sum()):.17g};"
                          .encode())
    return digest.hexdigest()
