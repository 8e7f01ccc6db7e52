"""The plan: a network compiled once into the generalized delta rule over whole batches.

Forward, group by group in topological order::

    net_j = Σ_c o_src(c) · W_c + b_j          o_j = f_j(net_j)

Backward, in reverse order, every group's delta is built from the deltas of the
groups it feeds, and every weight's gradient from its source's output::

    δ_j = f'_j(net_j) ⊙ (Σ_{c: j→k} δ_k · W_cᵀ + ∂L/∂o_j)      ∂L/∂W_c = o_srcᵀ · δ_tgt

(for softmax, f'⊙ is the Jacobian-transpose product). Net inputs and weight
gradients live in buffers that are reused while the batch size stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.errors import AnypropError, ShapeError
from anyprop.nn.connections import Connection, csr
from anyprop.nn.sparse_block import SparseBlock
from anyprop.nn.transfer import TRANSFERS


@dataclass
class Backprop:
    """What one forward and backward pass found, readable by name.

    ``loss`` is L (the weighted sum over output groups); ``losses`` L per output
    group; ``grads`` ∂L/∂θ per parameter name; ``deltas`` δ = ∂L/∂net per group,
    shape (samples, units); ``nets`` and ``outputs`` each group's net input and
    output; ``input_grads`` ∂L/∂x per input group when asked for.
    """

    loss: float
    losses: dict[str, float]
    grads: dict[str, np.ndarray]
    deltas: dict[str, np.ndarray]
    nets: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    input_grads: dict[str, np.ndarray] | None = None


@dataclass
class _Use:
    """One incoming connection of a group, as the plan runs it."""

    conn: Connection
    kind: str
    src: str
    param: str
    transpose: bool
    trainable: bool
    first: bool  # the first gradient written into this parameter in a backward pass
    owner: Connection


class Plan:
    """Runs a network's forward and backward passes over batches."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.dtype = network.dtype
        self.order = network.order()
        self.groups = network.groups
        self.inputs = network.inputs
        self.outputs = list(network.outputs)
        incoming: dict[str, list[Connection]] = {g: [] for g in self.groups}
        for c in network.connections.values():
            incoming[c.tgt].append(c)
        self.steps: list[tuple[str, list[_Use]]] = []
        for name in self.order:
            if self.groups[name].is_input:
                continue
            uses = []
            for c in incoming[name]:
                owner = network.connections[c.share] if c.share else c
                uses.append(
                    _Use(c, owner.kind, c.src, c.param, c.transpose, c.trainable, False, owner)
                )
            self.steps.append((name, uses))
        seen: set[str] = set()
        for _, uses in reversed(self.steps):  # the order backward visits them
            for u in uses:
                if u.trainable:
                    u.first = u.param not in seen
                    seen.add(u.param)
        # Groups fed by several sparse connections of their own run them as one block.
        self.offsets: dict[str, int] = {}
        start = 0
        for name in self.order:
            self.offsets[name] = start
            start += self.groups[name].size
        self.units = start
        merged: dict[str, list[_Use]] = {}
        for i, (name, uses) in enumerate(self.steps):
            own = [
                u
                for u in uses
                if u.kind == "sparse" and u.conn.share is None and (u.first or not u.trainable)
            ]
            if len(own) >= 2:
                merged[name] = own
                self.steps[i] = (name, [u for u in uses if u not in own])
        self.block = None
        if merged:
            sizes = {g: grp.size for g, grp in self.groups.items()}
            self.block = SparseBlock(merged, sizes, self.offsets, self.units, self.dtype)
        self.block_targets = set(merged)
        self.block_sources = {u.src for us in merged.values() for u in us}
        self._ot: np.ndarray | None = None
        self._dt: np.ndarray | None = None
        self._csr: dict[str, Any] = {}
        self._fused = {
            name: g.loss is not None
            and g.loss.fused_with is not None
            and type(g.transfer) is TRANSFERS.get(g.loss.fused_with)
            and not g.transfer.params
            for name, g in self.groups.items()
        }
        self._nets: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self._batch = -1

    # --- helpers --------------------------------------------------------------
    def fused(self, group: str) -> bool:
        """Whether the group's transfer function and loss run as one fused primitive."""
        return self._fused[group]

    def _matrix(self, u: _Use) -> Any:
        """The sparse (target, source) matrix of a sparse use, sharing the weight array."""
        owner = u.owner
        w = self.network.params[u.param]
        m = self._csr.get(owner.name)
        if m is None or m.data is not w:
            ns, nt = self.groups[owner.src].size, self.groups[owner.tgt].size
            m = csr(owner.rows, owner.cols, w, nt, ns)
            self._csr[owner.name] = m
        return m.T if u.transpose else m

    def _buffers(self, n: int) -> None:
        if n != self._batch:
            self._nets = {
                name: np.empty((n, self.groups[name].size), self.dtype) for name, _ in self.steps
            }
            if self.block is not None:  # unit-major outputs and deltas for the sparse block
                self._ot = np.zeros((self.units, n), self.dtype)
                self._dt = np.zeros((self.units, n), self.dtype)
            self._batch = n
        if not self._grads:
            if self.block is not None:
                self.block.rehome(self.network.params)
            grads = {k: np.empty_like(v) for k, v in self.network.trainable().items()}
            if self.block is not None:
                self.block.grad_views(grads)
            self._grads = grads

    def prepare(
        self, data: Any, names: list[str], what: str, check: bool = True
    ) -> dict[str, np.ndarray]:
        """Inputs (or targets) as (samples, units) arrays of the network's dtype."""
        from anyprop.nn.network import as_batch

        batch = as_batch(self.network, data, names, what)
        out = {}
        n = None
        for name in names:
            if name not in batch:
                raise AnypropError(f"no {what}s given for {what} group '{name}'")
            units = self.groups[name].size
            x = np.asarray(batch[name])
            if what == "input":
                if x.ndim == 1 and units == 1:
                    x = x[:, None]
                if x.ndim != 2 or x.shape[1] != units:
                    hint = (
                        "; for one sample use x[None, :]" if x.ndim == 1 and x.size == units else ""
                    )
                    raise ShapeError(
                        f"input group '{name}' has {units} units: inputs must have shape "
                        f"(samples, {units}), got {x.shape}{hint}"
                    )
                if x.dtype != self.dtype:
                    try:
                        x = x.astype(self.dtype)
                    except (TypeError, ValueError):
                        raise AnypropError(f"inputs for group '{name}' are not numbers") from None
                if check and not np.all(np.isfinite(x)):
                    bad = np.argwhere(~np.isfinite(x))[0]
                    raise AnypropError(
                        f"inputs for group '{name}' contain NaN or infinity (sample {bad[0]}, "
                        f"unit {bad[1]})"
                    )
            if n is None:
                n = x.shape[0]
            elif x.shape[0] != n:
                raise ShapeError(f"{what}s for '{name}' have {x.shape[0]} samples, others {n}")
            out[name] = x
        return out

    # --- forward --------------------------------------------------------------
    def forward(self, inputs: Any, check: bool = True) -> dict[str, np.ndarray]:
        """Every group's output for ``inputs``; net inputs are kept in the buffers."""
        outs = self.prepare(inputs, self.inputs, "input", check)
        n = next(iter(outs.values())).shape[0]
        self._buffers(n)
        params = self.network.params
        ot = self._ot
        if self.block is not None:
            self.block.refresh(params)
        for name in self.inputs:
            if name in self.block_sources:
                a = self.offsets[name]
                ot[a : a + outs[name].shape[1]] = outs[name].T
        for name, uses in self.steps:
            g = self.groups[name]
            net = self._nets[name]
            first = True
            if name in self.block_targets:
                net[...] = self.block.forward(name, ot).T
                first = False
            for u in uses:
                o = outs[u.src]
                if u.kind == "dense":
                    w = params[u.param]
                    if u.transpose:
                        w = w.T
                    if first:
                        np.matmul(o, w, out=net)
                    else:
                        net += o @ w
                elif u.kind == "one_to_one":
                    if first:
                        np.multiply(o, params[u.param], out=net)
                    else:
                        net += o * params[u.param]
                else:
                    contrib = (self._matrix(u) @ o.T).T
                    if first:
                        net[...] = contrib
                    else:
                        net += contrib
                first = False
            if first:
                net.fill(0)
            if g.bias:
                net += params[g.bias_param]
            out = g.transfer.forward(net)
            if out.dtype != self.dtype:
                out = out.astype(self.dtype)
            outs[name] = out
            if name in self.block_sources:
                a = self.offsets[name]
                ot[a : a + g.size] = out.T
        return outs

    def loss(self, inputs: Any, targets: Any, sample_weight: Any = None) -> float:
        outs = self.forward(inputs)
        total, _, _ = self._loss(outs, targets, sample_weight, need_grad=False)
        return total

    def _loss(
        self, outs: dict[str, np.ndarray], targets: Any, sample_weight: Any, need_grad: bool = True
    ) -> tuple[float, dict[str, float], dict[str, tuple]]:
        """L per output group, and for each either ('fused', δ) or ('out', ∂L/∂o)."""
        with_loss = [g for g in self.outputs if self.groups[g].loss is not None]
        if not with_loss:
            raise AnypropError("no output group has a loss; give one with add_output(..., loss=)")
        if not hasattr(targets, "keys"):
            if len(with_loss) != 1:
                raise AnypropError(
                    f"the network has {len(with_loss)} output groups with losses "
                    f"({', '.join(with_loss)}); give the targets as a dict by group name"
                )
            targets = {with_loss[0]: targets}
        unknown = set(targets) - set(with_loss)
        if unknown:
            raise AnypropError(
                f"targets given for {sorted(unknown)}, which are not output groups "
                f"with a loss ({', '.join(with_loss)})"
            )
        n = self._batch
        if sample_weight is None:
            scale: Any = 1.0 / n
        else:
            s = np.asarray(sample_weight, dtype=self.dtype).reshape(-1)
            if s.shape != (n,):
                raise ShapeError(f"sample_weight has {s.size} values for {n} samples")
            if np.any(s < 0) or not np.all(np.isfinite(s)):
                raise AnypropError("sample_weight must be finite and >= 0")
            scale = (s / n)[:, None]
        total, losses, grads = 0.0, {}, {}
        for name in with_loss:
            g = self.groups[name]
            if name not in targets:
                raise AnypropError(f"no targets given for output group '{name}'")
            t = g.loss.prepare_target(targets[name], g.size, self.dtype)
            if t.shape[0] != n:
                raise ShapeError(f"targets for '{name}' have {t.shape[0]} samples, inputs {n}")
            if self._fused[name]:
                per, d = g.loss.fused(self._nets[name], t)
                kind = "fused"
            else:
                per, d = g.loss.per_sample(outs[name], t)
                kind = "out"
            value = float(np.sum(per * (scale if np.ndim(scale) == 0 else scale[:, 0])))
            losses[name] = value
            total += g.loss_weight * value
            if need_grad:
                grads[name] = (kind, (g.loss_weight * scale) * d)
        return total, losses, grads

    # --- backward -------------------------------------------------------------
    def backprop(
        self,
        inputs: Any,
        targets: Any,
        sample_weight: Any = None,
        input_grads: bool = False,
        check: bool = True,
    ) -> Backprop:
        outs = self.forward(inputs, check)
        total, losses, loss_grads = self._loss(outs, targets, sample_weight)
        params = self.network.params
        grads = self._grads
        gout: dict[str, np.ndarray] = {}
        deltas: dict[str, np.ndarray] = {}
        dt = self._dt
        for name, uses in reversed(self.steps):
            g = self.groups[name]
            go = gout.pop(name, None)
            if name in self.block_sources:
                back = self.block.backward(name, dt).T
                go = back if go is None else go + back
            lg = loss_grads.get(name)
            if lg is not None and lg[0] == "out":
                go = lg[1] if go is None else go + lg[1]
            if go is None:
                delta = np.zeros_like(self._nets[name])
            else:
                try:
                    delta = g.transfer.backward(self._nets[name], outs[name], go)
                except AnypropError as e:
                    raise type(e)(f"group '{name}': {e}") from None
            if lg is not None and lg[0] == "fused":
                delta = delta + lg[1]
            if delta.dtype != self.dtype:
                delta = delta.astype(self.dtype)
            deltas[name] = delta
            if g.bias:
                np.sum(delta, axis=0, out=grads[g.bias_param])
            if name in self.block_targets:
                a = self.offsets[name]
                dt[a : a + g.size] = delta.T
                self.block.weight_grads(name, dt[a : a + g.size], self._ot)
            for u in uses:
                o = outs[u.src]
                src = self.groups[u.src]
                if u.trainable:
                    self._weight_grad(u, o, delta, grads[u.param])
                if src.is_input and not input_grads:
                    continue
                if u.kind == "dense":
                    w = params[u.param]
                    back = delta @ (w if u.transpose else w.T)
                elif u.kind == "one_to_one":
                    back = delta * params[u.param]
                else:
                    back = (self._matrix(u).T @ delta.T).T
                prev = gout.get(u.src)
                gout[u.src] = back if prev is None else prev + back
        in_grads = None
        if input_grads:
            in_grads = {}
            for name in self.inputs:
                gi = gout.get(name)
                in_grads[name] = (
                    np.zeros_like(outs[name]) if gi is None else np.ascontiguousarray(gi)
                )
        return Backprop(total, losses, grads, deltas, dict(self._nets), outs, in_grads)

    def _weight_grad(self, u: _Use, o: np.ndarray, delta: np.ndarray, into: np.ndarray) -> None:
        """∂L/∂W for one use of a weight: written on the first use, added on later ones."""
        if u.kind == "dense":
            if u.transpose:
                gw = delta.T @ o
            elif u.first:
                np.matmul(o.T, delta, out=into)
                return
            else:
                gw = o.T @ delta
        elif u.kind == "one_to_one":
            gw = np.einsum("nk,nk->k", o, delta)
        else:
            c = u.conn
            gw = np.einsum("nk,nk->k", delta[:, c.rows], o[:, c.cols])
        if u.first:
            into[...] = gw
        else:
            into += gw
