"""A network written as anyprop ops on the engine's tape.

The same computation as the plan, built from primitives the engine
differentiates. It is the reference the plan is tested against (the two must
give the same gradients), and the route for anything the plan does not fuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.autodiff import Tensor
from anyprop.nn.plan.compile import fused_steepness


@dataclass
class TapeResult:
    loss: Tensor
    losses: dict[str, Tensor]
    params: dict[str, Tensor]
    nets: dict[str, Tensor]
    outputs: dict[str, Tensor]


def run_on_tape(
    network: Any,
    inputs: Any,
    targets: Any,
    sample_weight: Any = None,
    dtype: Any = None,
    params: dict[str, Tensor] | None = None,
) -> TapeResult:
    """Forward the network with ops, recording the tape; ``loss.backward()`` then
    fills each parameter tensor's ``.grad``. ``dtype`` overrides the network's;
    ``params`` supplies tensors to use in place of some of the network's weights."""
    plan = network.plan()
    dt = np.dtype(dtype) if dtype is not None else network.dtype
    x = plan.prepare(inputs, network.inputs, "input")
    trainable = network.trainable()
    tensors = {
        k: Tensor(v.astype(dt), requires_grad=k in trainable) for k, v in network.params.items()
    }
    tensors.update(params or {})
    params = tensors
    outs: dict[str, Tensor] = {k: Tensor(v.astype(dt)) for k, v in x.items()}
    nets: dict[str, Tensor] = {}
    for name in network.order():
        g = network.groups[name]
        if g.is_input:
            continue
        terms = []
        for c in network.incoming(name):  # each connection's contribution, by its kind
            terms.append(c.on_tape(outs[c.src], params[c.param]))
        net = terms[0] if terms else Tensor(np.zeros((next(iter(x.values())).shape[0], g.size), dt))
        for t in terms[1:]:
            net = net + t
        if g.bias:
            net = net + params[g.bias_param]
        nets[name] = net
        outs[name] = g.transfer.on_tape(net)
    with_loss = plan.loss_groups
    targets = plan.targets(targets)
    n = next(iter(x.values())).shape[0]
    s = None if sample_weight is None else Tensor(np.asarray(sample_weight, dt).reshape(-1))
    losses = {}
    total: Any = 0.0
    for name in with_loss:
        g = network.groups[name]
        t = Tensor(g.loss.prepare_target(targets[name], g.size, dt))
        per = (
            g.loss.fused_on_tape(nets[name] * fused_steepness(g), t)
            if plan.fused(name)
            else g.loss.on_tape(outs[name], t)
        )
        value = (per if s is None else per * s).sum() / n
        losses[name] = value
        total = total + g.loss_weight * value
    return TapeResult(total, losses, params, nets, outs)
