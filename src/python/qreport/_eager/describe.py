"""The core's description of an eager model, from what discovery found."""

from __future__ import annotations

import torch

from .. import _core
from .discovery import Discovery, FoundLayer
from .modules import class_name, classify
from .weights import weight_scheme_in_model


def _layer(model: torch.nn.Module, layer: FoundLayer) -> "_core.Layer":
    out = _core.Layer()
    out.fqn = layer.fqn
    out.weight_path = layer.weight_path
    out.kind = layer.kind
    out.family = layer.family
    out.module_type = class_name(type(layer.owner))
    parent, _, _ = layer.fqn.rpartition(".")
    if "." in layer.fqn:
        container = model.get_submodule(parent)
        info = classify(container)
        if info is not None and info.role == _core.ModuleRole.FusedContainer:
            out.fused_parent_fqn = parent
            out.fused_parent_type = class_name(type(container))
    out.weight_shape = list(layer.weight.shape)
    out.groups = layer.groups
    out.weight_channel_axis = 0
    out.input_channel_axis = -1 if layer.kind == _core.LayerKind.Linear else 1
    out.call_sites = [_core.CallSite(call.op) for call in layer.calls]
    fusion = layer.fusion()
    core_fusion = _core.Fusion()
    if fusion.batch_norm is not None:
        core_fusion.batch_norm_fqn = fusion.batch_norm
        core_fusion.batch_norm_eps = fusion.batch_norm_eps
    core_fusion.relu = fusion.relu
    core_fusion.relu_fqn = fusion.relu_fqn
    out.fusion = core_fusion
    producer = fusion.relu_fqn if fusion.relu else (fusion.batch_norm or "")
    out.observation_points = [
        _core.ObservationPoint(_core.Position.Pre, f"input of {layer.calls[0].op}"),
        _core.ObservationPoint(_core.Position.Post, fusion.post_value, producer),
    ]
    return out


def describe(model: torch.nn.Module, discovery: Discovery, name: str) -> "_core.ModelDescription":
    description = _core.ModelDescription()
    description.path = name
    description.layers = [_layer(model, layer) for layer in discovery.layers]
    description.weight_scheme_in_model = [weight_scheme_in_model(l) for l in discovery.layers]
    description.leaf_modules = [
        _core.LeafModule(leaf.fqn, class_name(type(leaf.module)), leaf.tensor_inputs,
                         leaf.folded_into)
        for leaf in discovery.leaves]
    modules = dict(model.named_modules())
    description.unanalysed = [
        _core.UnanalysedWeight(fqn, class_name(type(modules[fqn])), f"{fqn}.weight" if fqn else
                               "weight", "forward did not call it on the first batch")
        for fqn in discovery.unseen]
    return description
