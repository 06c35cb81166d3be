"""Python helpers for the tests that save TorchScript (fixtures, the reference's cases)."""
from __future__ import annotations


def forget_replaced_ops():
    """Works around a PyTorch 2.x bug behind an occasional "builtin cannot be used as a value"
    from torch.jit.script. TorchScript's table of builtins is keyed by id() and holds no
    reference to the ops that torch.ops enters in it; adding an overload to an op (importing
    torch.ao.quantization does, for quantized_decomposed::quantize_per_tensor) replaces the op
    and frees the old one, whose id stays in the table. A later object at that address, such as
    a Conv2d's padding tuple, is then taken for the op. Drops the entries of replaced ops."""
    import torch  # here, so that importing this module costs nothing

    table = torch.jit._builtins._get_builtin_table()
    kept = {id(fn) for fn, _ in torch.jit._builtins._builtin_ops}
    for key, qualname in list(table.items()):
        namespace, _, name = qualname.partition("::")
        packet = getattr(torch.ops, namespace).__dict__.get(name)  # only packets already made
        if (isinstance(packet, torch._ops.OpOverloadPacket) and id(packet._op) != key
                and key not in kept):
            del table[key]
