"""The source of the compiled step: one numba function that runs the training pass
of any dense network, read from a table of its groups and connections.

The function computes what :mod:`.dense` computes, in the same order::

    net_j = Σ_i o_i · W_ij + b_j          o_j = f_j(net_j)
    g_j = ∂L/∂o_j + Σ_k δ_k · W_jkᵀ       δ_j = f'_j(net_j) ⊙ g_j
    ∂L/∂W_ij = o_iᵀ · δ_j                 ∂L/∂b_j = Σ_samples δ_j

(for a fused output, softmax with cross-entropy or sigmoid with binary
cross-entropy, δ_j is the loss's own s·(o − t)). Every array lives in three
flat vectors the caller owns: the weights and the gradients (both in the plan's
flat layout) and a work vector of each group's net input, output, incoming
gradient and delta for the batch. The network is data, not code (a table made
by :mod:`.kernel`), so the module compiles once per machine and anyprop version,
not once per network; the transfer functions' loops are written from their
scalar forms (``Builtin.scalar``), one loop per function.

This module writes text only; it imports neither numba nor the network code.
"""

from __future__ import annotations

from typing import Any

#: the step table's columns (one row per non-input group, in topological order)
SIZE, NET, OUT, GRAD, DELTA, KIND, BIAS, RECEIVES, LOSS, TCOL, USE0, USE1, Q = range(13)
STEP_COLUMNS = 13
#: the connection table's columns (one row per dense connection, by target group)
SRC, WOFF, ROWS, FIRST, TRAINABLE, BACK_ADD = range(6)
USE_COLUMNS = 6
#: the float table's columns (one row per step): the transfer function's parameters,
#: the loss weight, a fused sigmoid's steepness
P0, P1, LOSS_WEIGHT, STEEPNESS = range(4)
FLOAT_COLUMNS = 4

IDENTITY, FUSED_CE, FUSED_BCE = -1, -2, -3  # KIND besides a transfer function's number
NO_LOSS, MSE, CROSS_ENTROPY, BCE = -1, 0, 1, 2  # LOSS
#: the losses a compiled step computes, by name
LOSSES = {"mse": MSE, "cross_entropy": CROSS_ENTROPY, "binary_cross_entropy": BCE}

#: products with at most this many multiply-adds are loops; larger ones go to BLAS
#: (np.dot), whose call and result array cost more than the loops below it
SMALL_PRODUCT = 8192


def kinds(transfers: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The transfer functions with a scalar form, numbered in name order: (name, class)."""
    seen, out = set(), []
    for _, cls in sorted(transfers, key=lambda item: item[1].name):
        if cls in seen or getattr(cls, "scalar", None) is None:
            continue
        seen.add(cls)
        out.append((cls.name, cls))
    return out


def library(numbered: list[tuple[str, Any]]) -> str:
    """The module's text, for the numbered transfer functions (see :func:`kinds`)."""
    fwd, bwd = [], []
    for k, (name, cls) in enumerate(numbered):
        params = sorted(getattr(cls, "defaults", {}))
        if len(params) > 2:
            raise ValueError(f"transfer function '{name}': more than two parameters")
        bind = "".join(f"        {p} = p{i}\n" for i, p in enumerate(params))
        f, df = cls.scalar
        head = "if" if k == 0 else "elif"
        fwd.append(
            f"    {head} kind == {k}:  # {name}\n{bind}"
            f"        for i in range(n):\n            for j in range(m):\n"
            f"                x = net[i, j]\n                out[i, j] = {f}\n"
        )
        bwd.append(
            f"    {head} kind == {k}:  # {name}\n{bind}"
            f"        for i in range(n):\n            for j in range(m):\n"
            f"                x = net[i, j]\n                f = out[i, j]\n"
            f"                d[i, j] = ({df}) * g[i, j]\n"
        )
    return (
        _HEADER
        + "\n\n@njit(cache=True)\ndef forward(kind, net, out, p0, p1):\n"
        + '    """out = f(net), for the transfer function numbered kind"""\n'
        + "    n, m = net.shape\n"
        + "".join(fwd)
        + "\n\n@njit(cache=True)\ndef backward(kind, net, out, g, d, p0, p1):\n"
        + '    """d = f\'(net) ⊙ g"""\n'
        + "    n, m = net.shape\n"
        + "".join(bwd)
        + _STEP
        + _PAIRS
    )


_HEADER = f'''"""The compiled step, written by anyprop.nn.plan.kernel_source: do not edit."""

import numpy as np
from math import exp, expm1, log, log1p, tanh
from numba import njit

SMALL = {SMALL_PRODUCT}


@njit(cache=True)
def mm(a, b, out, add):
    """out (+)= a · b"""
    n, k = a.shape
    m = b.shape[1]
    if n * k * m <= SMALL:
        if not add:
            out[:, :] = 0.0
        for i in range(n):
            for p in range(k):
                v = a[i, p]
                for j in range(m):
                    out[i, j] += v * b[p, j]
    elif add:
        out += np.dot(a, b)
    else:
        out[:, :] = np.dot(a, b)


@njit(cache=True)
def mm_tn(a, d, out, add):
    """out (+)= aᵀ · d"""
    n, k = a.shape
    m = d.shape[1]
    if n * k * m <= SMALL:
        if not add:
            out[:, :] = 0.0
        for i in range(n):
            for p in range(k):
                v = a[i, p]
                for j in range(m):
                    out[p, j] += v * d[i, j]
    elif add:
        out += np.dot(a.T, d)
    else:
        out[:, :] = np.dot(a.T, d)


@njit(cache=True)
def mm_nt(d, w, out, add):
    """out (+)= d · wᵀ"""
    n, m = d.shape
    k = w.shape[0]
    if n * k * m <= SMALL:
        for i in range(n):
            for p in range(k):
                s = 0.0
                for j in range(m):
                    s += d[i, j] * w[p, j]
                if add:
                    out[i, p] += s
                else:
                    out[i, p] = s
    elif add:
        out += np.dot(d, w.T)
    else:
        out[:, :] = np.dot(d, w.T)
'''

_STEP = '''

@njit(cache=True)
def view(work, at, n, size):
    return work[at * n:(at + size) * n].reshape(n, size)


@njit(cache=True)
def step(x, t, w, g, work, steps, uses, fp, per_sample):
    """One pass over the batch x (targets t, the loss groups' columns side by side):
    the gradients into g, each loss group's summed loss returned."""
    n = x.shape[0]
    losses = np.zeros(steps.shape[0])
    for k in range(steps.shape[0]):  # forward, in topological order
        size = steps[k, 0]
        net = view(work, steps[k, 1], n, size)
        for u in range(steps[k, 10], steps[k, 11]):
            src = uses[u, 0]
            rows = uses[u, 2]
            wt = w[uses[u, 1]:uses[u, 1] + rows * size].reshape(rows, size)
            if src < 0:
                mm(x, wt, net, u > steps[k, 10])
            else:
                mm(view(work, steps[src, 2], n, rows), wt, net, u > steps[k, 10])
        if steps[k, 6] >= 0:
            b = w[steps[k, 6]:steps[k, 6] + size]
            for i in range(n):
                for j in range(size):
                    net[i, j] += b[j]
        kind = steps[k, 5]
        if kind >= 0:
            forward(kind, net, view(work, steps[k, 2], n, size), fp[k, 0], fp[k, 1])
    for k in range(steps.shape[0]):  # the losses, and ∂L/∂o (or a fused δ) at the outputs
        loss = steps[k, 8]
        if loss < 0:
            continue
        size = steps[k, 0]
        net = view(work, steps[k, 1], n, size)
        out = view(work, steps[k, 2], n, size)
        gk = view(work, steps[k, 3], n, size)
        dk = view(work, steps[k, 4], n, size)
        c = steps[k, 9]
        scale = fp[k, 2] * per_sample
        total = 0.0
        if loss == 0:  # mse: ½ Σ (o − t)², ∂/∂o = o − t
            for i in range(n):
                for j in range(size):
                    e = out[i, j] - t[i, c + j]
                    total += 0.5 * e * e
                    gk[i, j] = e * scale
        elif loss == 1:  # softmax with cross-entropy: z = net − max, s = Σ exp(z)
            for i in range(n):
                m = net[i, 0]
                for j in range(1, size):
                    m = max(m, net[i, j])
                s = 0.0
                tsum = 0.0
                tz = 0.0
                for j in range(size):
                    z = net[i, j] - m
                    e = exp(z)
                    out[i, j] = e
                    s += e
                    tsum += t[i, c + j]
                    tz += t[i, c + j] * z
                total += tsum * log(s) - tz
                for j in range(size):
                    p = out[i, j] / s
                    out[i, j] = p
                    dk[i, j] = (p * tsum - t[i, c + j]) * scale
        else:  # sigmoid(s·net) with binary cross-entropy
            st = fp[k, 3]
            for i in range(n):
                for j in range(size):
                    u = st * net[i, j]
                    o = 1.0 / (1.0 + exp(-u))
                    out[i, j] = o
                    total += max(u, 0.0) + log1p(exp(-abs(u))) - t[i, c + j] * u
                    dk[i, j] = st * (o - t[i, c + j]) * scale
        losses[steps[k, 12]] = total
    for k in range(steps.shape[0] - 1, -1, -1):  # backward, in reverse order
        size = steps[k, 0]
        net = view(work, steps[k, 1], n, size)
        out = view(work, steps[k, 2], n, size)
        gk = view(work, steps[k, 3], n, size)
        dk = view(work, steps[k, 4], n, size)
        kind = steps[k, 5]
        if kind == -2 or kind == -3:
            pass  # δ written with the loss
        elif steps[k, 7] == 0:  # feeding nothing, with no loss: δ = 0
            dk[:, :] = 0.0
        elif kind == -1:
            dk[:, :] = gk
        else:
            backward(kind, net, out, gk, dk, fp[k, 0], fp[k, 1])
        if steps[k, 6] >= 0:  # ∂L/∂b = Σ_samples δ
            gb = g[steps[k, 6]:steps[k, 6] + size]
            gb[:] = 0.0
            for i in range(n):
                for j in range(size):
                    gb[j] += dk[i, j]
        for u in range(steps[k, 10], steps[k, 11]):
            src = uses[u, 0]
            rows = uses[u, 2]
            at = uses[u, 1]
            if src < 0:
                if uses[u, 4]:
                    mm_tn(x, dk, g[at:at + rows * size].reshape(rows, size), not uses[u, 3])
                continue
            if uses[u, 4]:
                o = view(work, steps[src, 2], n, rows)
                mm_tn(o, dk, g[at:at + rows * size].reshape(rows, size), not uses[u, 3])
            wt = w[at:at + rows * size].reshape(rows, size)
            mm_nt(dk, wt, view(work, steps[src, 3], n, rows), uses[u, 5] != 0)
    return losses
'''


_PAIRS = '''

@njit(cache=True, fastmath={"reassoc", "contract"})
def pair_grads(r, c, order, rows, ot, out):
    """out[order[k]] = Σ_n rows[r[k], n] · ot[c[k], n]: each pair's gradient of a sparse
    block (a dot product of two rows of samples, summed in SIMD lanes)"""
    m = rows.shape[1]
    for k in range(r.shape[0]):
        a = rows[r[k]]
        b = ot[c[k]]
        s = a[0] * b[0]
        for i in range(1, m):
            s += a[i] * b[i]
        out[order[k]] = s
'''
