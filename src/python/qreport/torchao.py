"""The recommendation as a torchao config, for ``torchao.quantization.quantize_``:

    from torchao.quantization import quantize_
    quantize_(model, report.torchao_config(), filter_fn=None)

One entry per layer, by fully qualified name (``FqnToConfig``; ``ModuleFqnToConfig`` on a
torchao without it):

- dynamic activations recommended: ``Int8DynamicActivationInt8WeightConfig`` (per-token
  activations, as torchao computes them at run time);
- static: ``Int8StaticActivationInt8WeightConfig`` with a per-tensor symmetric activation scale
  from the input range qreport observed, max(|min|, |max|) / 127.5, as torchao's symmetric
  int8 qparams are derived;
- weights per row (``PerRow``) where per-channel weights are advised, else ``PerTensor``;
- left out: layers the configuration leaves in float, convolutions (torchao's int8 configs
  quantize ``nn.Linear``; quantize convolutions with the QConfigMapping), and weights used
  outside their module's forward (``nn.MultiheadAttention``'s in_proj, functional layers),
  which ``quantize_`` cannot reach by module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:
    from .report import Report

SYMMETRIC_INT8_HALF_RANGE = 127.5  # (qmax - qmin) / 2 for int8 [-128, 127]


@dataclass(frozen=True)
class TorchaoEntry:
    fqn: str
    dynamic: bool
    per_row: bool
    scale: Optional[float]  # static only
    input_ndim: int


@dataclass(frozen=True)
class Omission:
    fqn: str
    reason: str


def plan(report: "Report"):
    """(entries, omissions): what the config holds and which layers it leaves out, why."""
    facts = {f.fqn: f for f in report.layers}
    entries: List[TorchaoEntry] = []
    omitted: List[Omission] = []
    for fqn, _name, kind, activation, weight in report.recommended_layers():
        fact = facts.get(fqn)
        if activation is None:
            omitted.append(Omission(fqn, "left in float by the configuration"))
        elif kind != "Linear":
            omitted.append(Omission(fqn, f"{kind}: torchao's int8 configs quantize nn.Linear"))
        elif fact is None or fact.functional:
            omitted.append(Omission(fqn, "its weight is used outside the module's forward"))
        elif activation == "dynamic":
            entries.append(TorchaoEntry(fqn, True, weight == "per_channel", None,
                                        fact.input_ndim or 2))
        elif fact.input_range is None:
            omitted.append(Omission(fqn, "no input range was observed for a static scale"))
        else:
            low, high = fact.input_range
            scale = max(abs(low), abs(high)) / SYMMETRIC_INT8_HALF_RANGE
            if scale == 0.0:
                omitted.append(Omission(fqn, "its input was zero in every batch"))
                continue
            entries.append(TorchaoEntry(fqn, False, weight == "per_channel", scale,
                                        fact.input_ndim or 2))
    return entries, omitted


def _container():
    from torchao import quantization

    return getattr(quantization, "FqnToConfig", None) or quantization.ModuleFqnToConfig


def torchao_config(report: "Report"):
    try:
        import torch
        from torchao.quantization import (Int8DynamicActivationInt8WeightConfig,
                                          Int8StaticActivationInt8WeightConfig)
        from torchao.quantization.granularity import PerRow, PerTensor
    except ImportError as e:
        raise ImportError("report.torchao_config() needs torchao: pip install torchao "
                          "(a version that matches your torch)") from e
    configs = {}
    for entry in plan(report)[0]:
        granularity = PerRow() if entry.per_row else PerTensor()
        if entry.dynamic:
            configs[entry.fqn] = Int8DynamicActivationInt8WeightConfig(
                granularity=[PerRow(), granularity])
        else:
            scale = torch.full([1] * entry.input_ndim, entry.scale, dtype=torch.float32)
            configs[entry.fqn] = Int8StaticActivationInt8WeightConfig(
                act_quant_scale=scale, granularity=[PerTensor(), granularity])
    return _container()(configs)


def torchao_config_source(report: "Report") -> str:
    """A Python program that rebuilds torchao_config() (written as torchao_config.py)."""
    import torchao  # noqa: F401  (the file is written only where torchao is installed)

    entries, omitted = plan(report)
    lines = [
        '"""torchao config written by qreport.',
        "",
        "    from torchao_config import torchao_config",
        "    torchao.quantization.quantize_(model, torchao_config, filter_fn=None)",
        '"""',
        "import torch",
        "from torchao import quantization",
        "from torchao.quantization import (Int8DynamicActivationInt8WeightConfig,",
        "                                  Int8StaticActivationInt8WeightConfig)",
        "from torchao.quantization.granularity import PerRow, PerTensor",
        "",
        "_FqnToConfig = getattr(quantization, 'FqnToConfig', None) or "
        "quantization.ModuleFqnToConfig",
        "",
        "torchao_config = _FqnToConfig({",
    ]
    for entry in entries:
        weight = "PerRow()" if entry.per_row else "PerTensor()"
        if entry.dynamic:
            lines.append(f"    {entry.fqn!r}: Int8DynamicActivationInt8WeightConfig("
                         f"granularity=[PerRow(), {weight}]),")
        else:
            shape = [1] * entry.input_ndim
            lines.append(f"    {entry.fqn!r}: Int8StaticActivationInt8WeightConfig(")
            lines.append(f"        act_quant_scale=torch.full({shape}, {entry.scale!r}),")
            lines.append(f"        granularity=[PerTensor(), {weight}]),")
    lines.append("})")
    if omitted:
        lines.append("")
        lines.append("# Left out:")
        lines += [f"#   {o.fqn}: {o.reason}" for o in omitted]
    return "\n".join(lines) + "\n"
