"""Recurrent networks over sequences: the network unrolled in time on the engine's tape,
and the general rule applied to it (backpropagation through time).

A connection with ``delay = d`` feeds its target the source's output d steps earlier,
and one with a ``gate`` multiplies its contribution by the gate group's output, unit by
unit (a sigma-pi connection):

    net_j(t) = Σ_c [o_gate(c)(t − g_c) ⊙] (o_src(t − d_c) · W_c) + b_j,   o_j(t) = f_j(net_j(t)),

with o(t) = 0 before the first step. Connections without a delay form a DAG within a
step; delayed ones may close any cycle (a group onto itself, the output back to a hidden
group). The loss is the mean over the sequences' steps of the output groups' losses,
each weighted by its ``loss_weight`` (a ``mask`` of 0/1 per sample and step leaves steps
out, and the mean is over the steps kept):

    L = Σ_g w_g · Σ_{n,t} m_{n,t} ℓ_g(o_g(n, t), t_g(n, t)) / Σ_{n,t} m_{n,t}.

Backwards the engine applies the chain rule through the unrolled graph, which is the rule
δ_j(t) = f'_j(net_j(t)) ⊙ (Σ_{j→k, no delay} W_cᵀ δ_k(t) + Σ_{j→k, delay d} W_cᵀ δ_k(t + d)
+ ∂L/∂o_j(t)), and ∂L/∂W_c = Σ_t o_src(t − d)ᵀ δ_tgt(t).

This is the reference implementation (every connection kind and transfer function,
through their op-level forms, ``on_tape``); the plan's fast recurrent passes and the
trainer's sequence support are built on it and tested against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from anyprop.autodiff import Tensor, no_grad
from anyprop.errors import AnypropError, ShapeError
from anyprop.nn.plan.sequence_data import prepare_sequences
from anyprop.nn.values import numbers


def _by_group(data: Any, names: list[str], what: str, net: Any) -> dict[str, np.ndarray]:
    """Time-major (steps, sequences, units) arrays by group name, checked as the plan
    over sequences checks them."""
    return prepare_sequences(net.groups, net.dtype, data, names, what)


def _unroll(
    net: Any, inputs: Any, params: Mapping[str, Any], state: Any = None
) -> tuple[list[dict], int, int]:
    """Every group's output at every step, as tensors: outs[t][group]. Before the first
    step: ``state`` ((sequences, H, units) by group) if given, else each group's learned
    initial state, else 0 (None)."""
    xs = _by_group(inputs, list(net.inputs), "input", net)
    steps, n = next(iter(xs.values())).shape[:2]
    order = net.order()
    incoming = {g: [c for c in net.connections.values() if c.tgt == g] for g in net.groups}
    outs: list[dict[str, Any]] = []

    def before(g: str, k: int) -> Any:
        """o_g(−k), k ≥ 1: the state's, the learned one's, or None for 0."""
        if state is not None:
            return Tensor(np.asarray(state[g], net.dtype)[:, -k])
        name = net.groups[g].initial_param
        if name is None:
            return None
        return Tensor(np.zeros((n, net.groups[g].size), net.dtype)) + params[name]

    def read(now: dict, g: str, t: int, d: int) -> Any:
        if not d:
            return now[g]
        return outs[t - d][g] if t >= d else before(g, d - t)

    for t in range(steps):
        now: dict[str, Any] = {}
        for g in order:
            group = net.groups[g]
            if group.is_input:
                now[g] = Tensor(xs[g][t])
                continue
            total = None
            for c in incoming[g]:
                src = read(now, c.src, t, c.delay)
                gate = None if c.gate is None else read(now, c.gate, t, c.gate_delay)
                if src is None or (c.gate is not None and gate is None):
                    continue  # o_src(t − d) (or the gate's) before the first step: 0
                part = c.on_tape(src, params[c.param])
                if gate is not None:  # sigma-pi: o_gate(t − d_g) ⊙ (o_src(t − d) · W)
                    part = part * gate
                total = part if total is None else total + part
            if total is None:  # no input at this step (the first steps of a delayed one)
                total = Tensor(np.zeros((n, group.size), net.dtype))
            if group.bias_param is not None:
                total = total + params[group.bias_param]
            now[g] = group.transfer.on_tape(total)
        outs.append(now)
    return outs, n, steps


def sequence_forward(net: Any, inputs: Any, state: Any = None) -> dict[str, np.ndarray]:
    """Every group's output over the sequences: (sequences, steps, units) by group."""
    with no_grad():
        params = {k: Tensor(v) for k, v in net.params.items()}
        outs, _, _ = _unroll(net, inputs, params, state)
    return {g: np.stack([o[g].data for o in outs], axis=1) for g in net.groups}


def _loss(
    net: Any, inputs: Any, targets: Any, mask: Any, params: Mapping[str, Any], state: Any = None
) -> Any:
    outs, n, steps = _unroll(net, inputs, params, state)
    groups = [g for g in net.outputs if net.groups[g].loss is not None]
    if not groups:
        raise AnypropError("no output group has a loss; give one with add_group(..., loss=)")
    ts = _by_group(targets, groups, "target", net)
    for g, arr in ts.items():
        if arr.shape[:2] != (steps, n):
            raise ShapeError(
                f"targets for '{g}' have {arr.shape[1]} sequences of {arr.shape[0]} steps, "
                f"the inputs {n} of {steps}"
            )
    m = np.ones((n, steps)) if mask is None else numbers(mask, "mask")
    if m.shape != (n, steps) or np.any((m != 0) & (m != 1)):
        raise ShapeError(f"the mask must be 0 or 1 per sample and step, shape {(n, steps)}")
    kept = float(m.sum())
    if kept == 0:
        raise AnypropError("the mask leaves no step to take a loss on")
    total = None
    for t in range(steps):
        weight = Tensor(m[:, t].astype(net.dtype))
        for g in groups:
            group = net.groups[g]
            per = group.loss.on_tape(outs[t][g], Tensor(ts[g][t]))
            term = (per * weight).sum() * (group.loss_weight / kept)
            total = term if total is None else total + term
    return total


def sequence_loss(net: Any, inputs: Any, targets: Any, mask: Any = None) -> float:
    """L over the sequences (the mean over kept sample-steps; see the module)."""
    with no_grad():
        params = {k: Tensor(v) for k, v in net.params.items()}
        return float(_loss(net, inputs, targets, mask, params).data)


def sequence_gradients(
    net: Any, inputs: Any, targets: Any, mask: Any = None, state: Any = None
) -> tuple[float, dict[str, np.ndarray]]:
    """(L, ∂L/∂θ for every parameter): backpropagation through time over whole sequences
    of (sequences, steps, units) inputs and targets, from ``state`` if given."""
    params = {k: Tensor(v, requires_grad=True) for k, v in net.params.items()}
    loss = _loss(net, inputs, targets, mask, params, state)
    loss.backward()
    grads = {
        k: (p.grad if p.grad is not None else np.zeros_like(p.data)) for k, p in params.items()
    }
    return float(loss.data), grads
