"""The general path: any mix of connection kinds, shared and transposed weights, the
merged sparse block, gradients for the inputs and Fahlman's prime offset.

Forward, per group: net_j = Σ_c o_src(c) · W_c + b_j, each contribution from the
connection's own kind (:meth:`Connection.forward`), and o_j = f_j(net_j).
Backward, in reverse order::

    δ_j = f'_j(net_j) ⊙ (Σ_{c: j→k} δ_k · W_cᵀ + ∂L/∂o_j)      ∂L/∂W_c = o_srcᵀ · δ_tgt

with the products again the kind's (:meth:`Connection.backward`,
:meth:`Connection.weight_grad`). The merged sparse block reads and writes the
unit-major buffers ``ot`` (outputs) and ``dt`` (deltas).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.errors import AnypropError


def forward(plan: Any, outs: dict[str, np.ndarray]) -> None:
    """Every group's net input (into the plan's buffers) and output (adds to ``outs``)."""
    params, nets, ot, cache = plan.network.params, plan.nets, plan.ot, plan.cache
    block, operands = plan.block, plan.operands
    if block is not None:  # the block's weights and the inputs it reads, unit-major
        block.refresh(params)
        for name in plan.inputs:
            if name in plan.block_sources:
                a = plan.offsets[name]
                ot[a : a + outs[name].shape[1]] = outs[name].T
    dtype = plan.dtype
    for step in plan.steps:  # topological order: every source's output is ready
        net = nets[step.name]  # (the batch's buffer, reused from step to step)
        if step.simple:  # every connection dense as stored: the textbook products
            dense = step.dense
            np.matmul(outs[dense[0][0]], params[dense[0][1]], out=net)
            for src, par, *_ in dense[1:]:
                net += outs[src] @ params[par]
        else:
            first = True  # the first contribution is written into net, later ones added
            if step.block_target:
                net[...] = block.forward(step.name, ot).T
                first = False
            for u in step.uses:
                op = u.conn.operand(params[u.param], operands)
                if first:
                    u.conn.forward(outs[u.src], op, out=net)
                else:
                    net += u.conn.forward(outs[u.src], op)
                first = False
            if first:  # no incoming connection: the bias alone
                net.fill(0)
        if step.bias is not None:
            net += params[step.bias]
        if step.fused_forward is not None:
            out, cache[step.name] = step.fused_forward(net)
        else:
            out = step.transfer.forward(net)
        if out.dtype != dtype:
            out = out.astype(dtype)
        outs[step.name] = out
        if step.block_source:
            ot[step.offset : step.offset + step.size] = out.T


def backward(
    plan: Any,
    outs: dict[str, np.ndarray],
    loss_grads: dict[str, tuple],
    input_grads: bool,
    prime_offset: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """(every group's deltas, ∂L/∂x per input group or None); gradients land in
    ``plan.grads``."""
    params, grads, nets, dt = plan.network.params, plan.grads, plan.nets, plan.dt
    block, operands, dtype = plan.block, plan.operands, plan.dtype
    gout: dict[str, np.ndarray] = {}  # Σ_k δ_k · W_jkᵀ so far, by group
    deltas: dict[str, np.ndarray] = {}
    matmul = np.matmul
    for step in reversed(plan.steps):  # every group this one feeds has its delta already
        name = step.name
        go = gout.pop(name, None)  # ∂L/∂o_j from the groups it feeds
        if step.block_source:
            back = block.backward(name, dt).T
            go = back if go is None else go + back
        lg = loss_grads.get(name)
        if lg is not None and lg[0] == "out":  # an output: ∂L/∂o of its own loss joins in
            go = lg[1] if go is None else go + lg[1]
        if go is None:
            delta = lg[1] if lg is not None and lg[0] == "fused" else np.zeros_like(nets[name])
            lg = None  # (a fused delta is taken whole)
        else:
            try:
                delta = step.transfer.backward(nets[name], outs[name], go)
            except AnypropError as e:
                raise type(e)(f"group '{name}': {e}") from None
            if prime_offset and not step.transfer.vector:
                delta = delta + prime_offset * go  # (f' + offset) ⊙ go
        if lg is not None and lg[0] == "fused":
            delta = delta + lg[1]
        if delta.dtype != dtype:
            delta = delta.astype(dtype)
        deltas[name] = delta
        if step.bias is not None:  # ∂L/∂b_j = Σ_samples δ_j
            np.add.reduce(delta, axis=0, out=grads[step.bias])
        if step.simple:
            for src, par, first, trainable, src_input in step.dense:
                o = outs[src]
                if trainable:
                    if first:
                        matmul(o.T, delta, out=grads[par])
                    else:
                        grads[par] += o.T @ delta
                if src_input and not input_grads:
                    continue
                back = delta @ params[par].T
                prev = gout.get(src)
                gout[src] = back if prev is None else prev + back
            continue
        if step.block_target:
            rows = dt[step.offset : step.offset + step.size]
            rows[...] = delta.T
            block.weight_grads(name, rows, plan.ot)
        for u in step.uses:
            o = outs[u.src]
            if u.trainable:  # written by the first use of a weight, added by later ones
                gw = u.conn.weight_grad(o, delta)
                if u.first:
                    grads[u.param][...] = gw
                else:
                    grads[u.param] += gw
            if u.src_is_input and not input_grads:
                continue
            # δ · Wᵀ in the kind's own form, summed into what the source receives
            back = u.conn.backward(delta, u.conn.operand(params[u.param], operands))
            prev = gout.get(u.src)
            gout[u.src] = back if prev is None else prev + back
    in_grads = None
    if input_grads:
        in_grads = {}
        for name in plan.inputs:
            gi = gout.get(name)
            if name in plan.block_sources:
                back = block.backward(name, dt).T
                gi = back if gi is None else gi + back
            in_grads[name] = np.zeros_like(outs[name]) if gi is None else np.ascontiguousarray(gi)
    return deltas, in_grads
