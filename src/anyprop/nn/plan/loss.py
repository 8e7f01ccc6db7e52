"""The loss of a pass and its gradient at the outputs, group by group.

L = Σ_groups loss_weight_g · L_g, each L_g averaged over the samples (or summed,
with ``reduction="sum"``), optionally weighted per sample. For each output
group the pass then starts from either ∂L/∂o (to go through f') or, for a fused
pair such as softmax with cross-entropy, the delta itself (o − t).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.errors import AnypropError, ShapeError
from anyprop.nn.plan.compile import fused_steepness
from anyprop.nn.plan.results import DEFAULT_OPTIONS, Options
from anyprop.nn.values import numbers


def output_loss(
    plan: Any,
    outs: dict[str, np.ndarray],
    targets: Any,
    sample_weight: Any,
    options: Options = DEFAULT_OPTIONS,
    need_grad: bool = True,
) -> tuple[float, dict[str, float], dict[str, tuple]]:
    """(L, L per output group, and for each group either ('fused', δ) or ('out', ∂L/∂o)).

    The outputs and net inputs are those of the plan's last forward pass."""
    if not isinstance(options, Options):
        raise AnypropError(f"options must be an Options, got {type(options).__name__}")
    n = plan.batch
    if n == 0:
        raise AnypropError("no samples: a loss needs a batch of at least one")
    targets = plan.targets(targets)
    per_sample = 1.0 if options.reduction == "sum" else 1.0 / n
    atanh_error = options.atanh_error
    weights = None
    if sample_weight is not None:
        s = numbers(sample_weight, "sample_weight", plan.dtype, copy=False).reshape(-1)
        if s.shape != (n,):
            raise ShapeError(f"sample_weight has {s.size} values for {n} samples")
        if np.any(s < 0) or not np.all(np.isfinite(s)):
            raise AnypropError("sample_weight must be finite and >= 0")
        weights = (s * per_sample)[:, None]
    total, losses, grads = 0.0, {}, {}
    for name in plan.loss_groups:  # L = Σ_g loss_weight_g · L_g
        g = plan.groups[name]
        t = g.loss.prepare_target(targets[name], g.size, plan.dtype)
        if t.shape[0] != n:
            raise ShapeError(f"targets for '{name}' have {t.shape[0]} samples, inputs {n}")
        per = None
        if plan.fused(name) and not atanh_error:
            s = fused_steepness(g)
            net = plan.nets[name] if s == 1 else plan.nets[name] * s  # sigmoid(s·net)
            if weights is None:  # the sum over the batch, from the forward's cached values
                value_sum, d = g.loss.fused_total(net, t, outs[name], plan.cache.get(name))
            else:
                per, d = g.loss.fused(net, t)
            if s != 1:  # ∂ℓ/∂net = s·(o − t)
                d *= s
            kind = "fused"
        elif weights is None:
            value_sum, d = g.loss.total(outs[name], t)
            kind = "out"
        else:
            per, d = g.loss.per_sample(outs[name], t)
            kind = "out"
        if atanh_error and kind == "out" and g.loss.name == "mse":
            # Fahlman: the output error is atanh(o − t) instead of o − t
            d = np.arctanh(np.clip(outs[name] - t, -0.9999999, 0.9999999)).astype(d.dtype)
        if weights is None:
            value = value_sum * per_sample
            scale: Any = g.loss_weight * per_sample
        else:
            value = float((per * weights[:, 0]).sum())
            scale = g.loss_weight * weights
        losses[name] = value
        total += g.loss_weight * value
        if need_grad:  # ∂L/∂o (or δ) with the 1/N of the mean, the sample and group weights
            d *= scale  # d is the loss's own fresh array
            grads[name] = (kind, d)
    return total, losses, grads
