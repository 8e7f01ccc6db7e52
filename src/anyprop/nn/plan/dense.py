"""The fast path: a network whose every group is fed by dense connections only (a
layered network, with skips and merges), run like the hand-written delta rule.

Forward, for each group in topological order, into buffers reused while the
batch size stays the same::

    net_j = o_a · W_aj (+ o_b · W_bj ...) + b_j      o_j = f_j(net_j)

Backward, in reverse order: each group's incoming gradient g_j accumulates in
its buffer (the first product written, later ones added through a scratch
buffer), becomes δ_j = f'_j(net_j) ⊙ g_j in place, and sends δ_j · W_ijᵀ to
its sources; ∂L/∂W_ij = o_iᵀ · δ_j and ∂L/∂b_j = Σ_samples δ_j land in the flat
gradient buffer. No array is allocated per step, except by a transfer function
that needs one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.errors import AnypropError


def forward(plan: Any, outs: dict[str, np.ndarray]) -> None:
    """Every group's net input and output, into the plan's buffers (adds to ``outs``)."""
    params, nets, cache = plan.network.params, plan.nets, plan.cache
    outbuf, scratch, dtype = plan.outbuf, plan.scratch, plan.dtype
    matmul = np.matmul  # (local names: this loop runs once per group per step)
    for step in plan.steps:
        net = nets[step.name]
        dense = step.dense
        matmul(outs[dense[0][0]], params[dense[0][1]], out=net)
        if len(dense) > 1:  # further sources through one scratch buffer, no temporaries
            tmp = scratch[step.name]
            for src, par, *_ in dense[1:]:
                matmul(outs[src], params[par], out=tmp)
                net += tmp
        if step.bias is not None:
            net += params[step.bias]
        if step.fused_forward is not None:  # softmax + cross-entropy: one stable pass
            out, cache[step.name] = step.fused_forward(net)
        else:
            out = step.transfer.forward_into(net, outbuf[step.name])
        outs[step.name] = out if out.dtype == dtype else out.astype(dtype)


def incoming(go: np.ndarray | None, lg: tuple | None) -> np.ndarray | None:
    """∂L/∂o_j: ``go`` (Σ_k δ_k · W_jkᵀ, gathered in its buffer from the groups j feeds),
    with ∂L/∂o of j's own loss added where j is an output (``lg`` = ("out", ∂L/∂o))."""
    if lg is not None and lg[0] == "out":
        if go is None:
            return lg[1]
        go += lg[1]
    return go


def backward(
    plan: Any, outs: dict[str, np.ndarray], loss_grads: dict[str, tuple]
) -> dict[str, np.ndarray]:
    """The deltas of every group (the gradients land in ``plan.grads``)."""
    params, grads, nets = plan.network.params, plan.grads, plan.nets
    gacc, scratch, back_first = plan.gacc, plan.scratch, plan.back_first
    matmul, add_reduce = np.matmul, np.add.reduce
    deltas: dict[str, np.ndarray] = {}
    steps = plan.steps
    for i in range(len(steps) - 1, -1, -1):
        step = steps[i]
        name = step.name
        lg = loss_grads.get(name)
        go = incoming(gacc.get(name), lg)
        if go is None:  # a fused output feeding nothing: its delta is o − t, given whole
            delta = lg[1] if lg is not None else np.zeros_like(nets[name])
        else:
            try:  # δ = f'(net) ⊙ go, written over go where the transfer function can
                delta = step.transfer.backward_into(nets[name], outs[name], go, scratch.get(name))
            except AnypropError as e:
                raise type(e)(f"group '{name}': {e}") from None
            if lg is not None and lg[0] == "fused":
                delta += lg[1]
        deltas[name] = delta
        if step.bias is not None:
            add_reduce(delta, axis=0, out=grads[step.bias])
        for j, (src, par, first, trainable, src_input) in enumerate(step.dense):
            o = outs[src]
            if trainable:  # ∂L/∂W = o_srcᵀ · δ: written by the first use, added by others
                if first:
                    matmul(o.T, delta, out=grads[par])
                else:
                    grads[par] += o.T @ delta
            if src_input:  # no delta is wanted for the data
                continue
            if back_first[(i, j)]:
                matmul(delta, params[par].T, out=gacc[src])
            else:
                tmp = scratch[src]
                matmul(delta, params[par].T, out=tmp)
                gacc[src] += tmp
    return deltas
