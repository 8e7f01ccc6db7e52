"""The plan: a network compiled once into the generalized delta rule over whole batches.

Forward, group by group in topological order::

    net_j = Σ_c o_src(c) · W_c + b_j          o_j = f_j(net_j)

Backward, in reverse order, every group's delta is built from the deltas of the
groups it feeds, and every weight's gradient from its source's output::

    δ_j = f'_j(net_j) ⊙ (Σ_{c: j→k} δ_k · W_cᵀ + ∂L/∂o_j)      ∂L/∂W_c = o_srcᵀ · δ_tgt

(for softmax, f'⊙ is the Jacobian-transpose product). Net inputs and weight
gradients live in buffers that are reused while the batch size stays the same.
Groups fed by several sparse connections run them as one block
(:mod:`anyprop.nn.sparse_block`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.errors import AnypropError, ShapeError
from anyprop.nn.connections import Connection, csr
from anyprop.nn.flat import FlatParams
from anyprop.nn.sparse_block import SparseBlock
from anyprop.nn.transfer import TRANSFERS


@dataclass(frozen=True)
class Options:
    """How a pass computes the loss and the deltas (given per call; the plan keeps none).

    ``reduction``: "mean" (L averages over samples, the default) or "sum" (as the
    classic papers' E = ½ Σ_patterns Σ_units (o − t)²). ``prime_offset`` and
    ``atanh_error``: Fahlman's (1988) fixes for the flat spot of sigmoid units, a
    constant added to f' of elementwise units and the atanh error at MSE outputs.
    """

    reduction: str = "mean"
    prime_offset: float = 0.0
    atanh_error: bool = False


DEFAULT_OPTIONS = Options()


@dataclass(slots=True)
class Backprop:
    """What one forward and backward pass found, readable by name.

    ``loss`` is L (the weighted sum over output groups); ``losses`` L per output
    group; ``grads`` ∂L/∂θ per parameter name; ``deltas`` δ = ∂L/∂net per group,
    shape (samples, units); ``nets`` and ``outputs`` each group's net input and
    output; ``input_grads`` ∂L/∂x per input group when asked for. The arrays are
    the plan's buffers, overwritten by the next pass: copy what you want to keep.
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
    src_is_input: bool = False


@dataclass
class _Step:
    """One non-input group, with everything its forward and backward need."""

    name: str
    size: int
    transfer: Any
    bias: str | None
    uses: list[_Use]
    offset: int
    block_target: bool = False
    block_source: bool = False
    #: the fast path: every incoming connection dense and as stored (not shared transposed)
    simple: bool = False
    fused_forward: Any = None  # the loss's forward for a fused pair (output, cache), or None
    dense: tuple = ()  # ((source, parameter, first gradient write, trainable, source is input),)


def _finite(x: np.ndarray) -> bool:
    """All elements finite: one float64 sum (NaN and inf propagate; finite float32
    values cannot overflow it), with an exact scan only on an alarm."""
    if np.isfinite(np.add.reduce(x, axis=None, dtype=np.float64)):
        return True
    return bool(np.isfinite(x).all())


class Plan:
    """Runs a network's forward and backward passes over batches."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.dtype = network.dtype
        self.order = network.order()
        self.groups = network.groups
        self.inputs = network.inputs
        self.outputs = list(network.outputs)
        self.loss_groups = [g for g in self.outputs if self.groups[g].loss is not None]
        incoming: dict[str, list[Connection]] = {g: [] for g in self.groups}
        for c in network.connections.values():
            incoming[c.tgt].append(c)

        self.offsets: dict[str, int] = {}
        start = 0
        for name in self.order:
            self.offsets[name] = start
            start += self.groups[name].size
        self.units = start

        self.steps: list[_Step] = []
        for name in self.order:
            g = self.groups[name]
            if g.is_input:
                continue
            uses = []
            for c in incoming[name]:
                owner = network.connections[c.share] if c.share else c
                uses.append(
                    _Use(
                        c,
                        owner.kind,
                        c.src,
                        c.param,
                        c.transpose,
                        c.trainable,
                        False,
                        owner,
                        self.groups[c.src].is_input,
                    )
                )
            self.steps.append(
                _Step(name, g.size, g.transfer, g.bias_param, uses, self.offsets[name])
            )
        seen: set[str] = set()
        for step in reversed(self.steps):  # the order backward visits them
            for u in step.uses:
                if u.trainable:
                    u.first = u.param not in seen
                    seen.add(u.param)

        # Groups fed by several sparse connections of their own run them as one block.
        merged: dict[str, list[_Use]] = {}
        for step in self.steps:
            own = [
                u
                for u in step.uses
                if u.kind == "sparse" and u.conn.share is None and (u.first or not u.trainable)
            ]
            if len(own) >= 2:
                merged[step.name] = own
                step.uses = [u for u in step.uses if u not in own]
                step.block_target = True
        self.block = None
        if merged:
            sizes = {g: grp.size for g, grp in self.groups.items()}
            self.block = SparseBlock(merged, sizes, self.offsets, self.units, self.dtype)
        self.block_sources = {u.src for us in merged.values() for u in us}
        for step in self.steps:
            step.block_source = step.name in self.block_sources
            step.simple = (
                bool(step.uses)
                and not step.block_target
                and not step.block_source
                and all(u.kind == "dense" and not u.transpose for u in step.uses)
            )
            step.dense = tuple(
                (u.src, u.param, u.first, u.trainable, u.src_is_input) for u in step.uses
            )

        # The flat layout of the trainable parameters: a block's first (contiguous, so
        # that it works on a slice), then the rest in the network's order.
        trainable = network.trainable()
        layout: list[str] = []
        self.flat_complete = True
        if self.block is not None:
            if all(u.trainable for u in self.block.uses):
                layout += [u.param for u in self.block.uses]
            else:  # a block holding fixed weights keeps its own storage
                self.flat_complete = False
        own = {u.param for u in self.block.uses} if self.block is not None else set()
        layout += [k for k in trainable if k not in layout and k not in own]
        self.flat = FlatParams(layout, network.params, self.dtype)
        if self.block is not None and self.flat_complete and layout:
            names = [u.param for u in self.block.uses]
            self._block_names = names
        else:
            self._block_names = []

        self._csr: dict[str, Any] = {}
        self._fused = {
            name: g.loss is not None
            and g.loss.fused_with is not None
            and type(g.transfer) is TRANSFERS.get(g.loss.fused_with)
            and not g.transfer.params
            for name, g in self.groups.items()
        }
        for step in self.steps:
            if self._fused[step.name]:
                step.fused_forward = self.groups[step.name].loss.fused_forward
        # Every group fed by dense connections only (a layered network, with skips and
        # merges): forward and backward run in reused buffers, like the hand-written rule.
        self.dense_only = self.block is None and all(step.simple for step in self.steps)
        self._back_first: dict[tuple[int, int], bool] = {}
        self._receives: set[str] = set()
        # scratch buffers only where used: sums of several sources, transfer functions that
        # need one, and groups that receive more than one back-propagated product
        self._needs_scratch = {
            s.name for s in self.steps if len(s.dense) > 1 or s.transfer.needs_scratch
        }
        for i in range(len(self.steps) - 1, -1, -1):
            for j, (src, *_rest) in enumerate(self.steps[i].dense):
                if self.groups[src].is_input:
                    continue
                self._back_first[(i, j)] = src not in self._receives
                if src in self._receives:
                    self._needs_scratch.add(src)
                self._receives.add(src)
        self._cache: dict[str, Any] = {}
        self._in_units = self.groups[self.inputs[0]].size if len(self.inputs) == 1 else -1
        self._nets: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self._ot: np.ndarray | None = None
        self._dt: np.ndarray | None = None
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
            self._nets = {s.name: np.empty((n, s.size), self.dtype) for s in self.steps}
            if self.dense_only:
                self._outbuf = {s.name: np.empty((n, s.size), self.dtype) for s in self.steps}
                self._scratch = {
                    s.name: np.empty((n, s.size), self.dtype)
                    for s in self.steps
                    if s.name in self._needs_scratch
                }
                self._gacc = {
                    g: np.empty((n, self.groups[g].size), self.dtype) for g in self._receives
                }
            if self.block is not None:  # unit-major outputs and deltas for the sparse block
                self._ot = np.zeros((self.units, n), self.dtype)
                self._dt = np.zeros((self.units, n), self.dtype)
            self._batch = n
        if not self._grads:
            grads = self.flat.grads()
            if self._block_names:
                self.block.attach(
                    self.flat.segment(self.flat.weights, self._block_names),
                    self.flat.segment(grads.flat, self._block_names),
                )
            elif self.block is not None:
                self.block.rehome(self.network.params)
                self.block.grad_views(grads)
            if not self.flat_complete:
                grads.flat = None
            self._grads = grads
        params = self.network.params
        if params.version != self.flat.version:  # an array was replaced: make it a view again
            self.flat.rehome(params)

    def prepare(
        self, data: Any, names: list[str], what: str, check: bool = True
    ) -> dict[str, np.ndarray]:
        """Inputs as (samples, units) arrays of the network's dtype, checked."""
        if (
            type(data) is np.ndarray
            and len(names) == 1
            and data.ndim == 2
            and data.dtype == self.dtype
            and data.shape[1] == self.groups[names[0]].size
        ):  # the common case, fast
            if check and not _finite(data):
                self._not_finite(names[0], data)
            return {names[0]: data}
        from anyprop.nn.network import as_batch

        batch = as_batch(self.network, data, names, what)
        out = {}
        n = None
        for name in names:
            if name not in batch:
                raise AnypropError(f"no {what}s given for {what} group '{name}'")
            units = self.groups[name].size
            x = np.asarray(batch[name])
            if x.ndim == 1 and units == 1:
                x = x[:, None]
            if x.ndim != 2 or x.shape[1] != units:
                hint = "; for one sample use x[None, :]" if x.ndim == 1 and x.size == units else ""
                raise ShapeError(
                    f"{what} group '{name}' has {units} units: {what}s must have shape "
                    f"(samples, {units}), got {x.shape}{hint}"
                )
            if x.dtype != self.dtype:
                try:
                    x = x.astype(self.dtype)
                except (TypeError, ValueError):
                    raise AnypropError(f"{what}s for group '{name}' are not numbers") from None
            if check and not _finite(x):
                self._not_finite(name, x)
            if n is None:
                n = x.shape[0]
            elif x.shape[0] != n:
                raise ShapeError(f"{what}s for '{name}' have {x.shape[0]} samples, others {n}")
            out[name] = x
        return out

    @staticmethod
    def _not_finite(name: str, x: np.ndarray) -> None:
        bad = np.argwhere(~np.isfinite(x))[0]
        raise AnypropError(
            f"inputs for group '{name}' contain NaN or infinity (sample {bad[0]}, unit {bad[1]})"
        )

    # --- forward --------------------------------------------------------------
    def forward(self, inputs: Any, check: bool = True) -> dict[str, np.ndarray]:
        """Every group's output for ``inputs``; net inputs are kept in the buffers."""
        if (  # the common case in a training loop: same input shape as the last step
            not check
            and type(inputs) is np.ndarray
            and inputs.shape[0] == self._batch
            and inputs.dtype == self.dtype
            and len(self.inputs) == 1
            and inputs.ndim == 2
            and inputs.shape[1] == self._in_units
            and self._grads
            and self.network.params.version == self.flat.version
        ):
            outs = {self.inputs[0]: inputs}
        else:
            outs = self.prepare(inputs, self.inputs, "input", check)
            self._buffers(next(iter(outs.values())).shape[0])
        params = self.network.params
        nets = self._nets
        ot = self._ot
        if self.block is not None:
            self.block.refresh(params)
            for name in self.inputs:
                if name in self.block_sources:
                    a = self.offsets[name]
                    ot[a : a + outs[name].shape[1]] = outs[name].T
        dtype = self.dtype
        matmul = np.matmul
        dense_only = self.dense_only
        for step in self.steps:
            net = nets[step.name]
            if step.simple:
                dense = step.dense
                matmul(outs[dense[0][0]], params[dense[0][1]], out=net)
                if dense_only and len(dense) > 1:
                    scratch = self._scratch[step.name]
                    for src, par, *_ in dense[1:]:
                        matmul(outs[src], params[par], out=scratch)
                        net += scratch
                elif not dense_only:
                    for src, par, *_ in dense[1:]:
                        net += outs[src] @ params[par]
                if step.bias is not None:
                    net += params[step.bias]
                if step.fused_forward is not None:
                    out, self._cache[step.name] = step.fused_forward(net)
                elif dense_only:
                    out = step.transfer.forward_into(net, self._outbuf[step.name])
                else:
                    out = step.transfer.forward(net)
                outs[step.name] = out if out.dtype == dtype else out.astype(dtype)
                continue
            first = True
            if step.block_target:
                net[...] = self.block.forward(step.name, ot).T
                first = False
            for u in step.uses:
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
            if step.bias is not None:
                net += params[step.bias]
            if step.fused_forward is not None:
                out, self._cache[step.name] = step.fused_forward(net)
            else:
                out = step.transfer.forward(net)
            if out.dtype != dtype:
                out = out.astype(dtype)
            outs[step.name] = out
            if step.block_source:
                ot[step.offset : step.offset + step.size] = out.T
        return outs

    def loss(
        self,
        inputs: Any,
        targets: Any,
        sample_weight: Any = None,
        options: Options = DEFAULT_OPTIONS,
    ) -> float:
        outs = self.forward(inputs)
        total, _, _ = self._loss(outs, targets, sample_weight, options, need_grad=False)
        return total

    def _targets(self, targets: Any) -> dict[str, Any]:
        with_loss = self.loss_groups
        if type(targets) is np.ndarray and len(with_loss) == 1:  # the common case
            return {with_loss[0]: targets}
        if not with_loss:
            raise AnypropError("no output group has a loss; give one with add_output(..., loss=)")
        if not hasattr(targets, "keys"):
            if len(with_loss) != 1:
                raise AnypropError(
                    f"the network has {len(with_loss)} output groups with losses "
                    f"({', '.join(with_loss)}); give the targets as a dict by group name"
                )
            return {with_loss[0]: targets}
        unknown = set(targets) - set(with_loss)
        if unknown:
            raise AnypropError(
                f"targets given for {sorted(unknown)}, which are not output groups "
                f"with a loss ({', '.join(with_loss)})"
            )
        missing = [g for g in with_loss if g not in targets]
        if missing:
            raise AnypropError(f"no targets given for output group '{missing[0]}'")
        return targets

    def _loss(
        self,
        outs: dict[str, np.ndarray],
        targets: Any,
        sample_weight: Any,
        options: Options = DEFAULT_OPTIONS,
        need_grad: bool = True,
    ) -> tuple[float, dict[str, float], dict[str, tuple]]:
        """L per output group, and for each either ('fused', δ) or ('out', ∂L/∂o)."""
        targets = self._targets(targets)
        n = self._batch
        per_sample = 1.0 if options.reduction == "sum" else 1.0 / n
        atanh_error = options.atanh_error
        weights = None
        if sample_weight is not None:
            s = np.asarray(sample_weight, dtype=self.dtype).reshape(-1)
            if s.shape != (n,):
                raise ShapeError(f"sample_weight has {s.size} values for {n} samples")
            if np.any(s < 0) or not np.all(np.isfinite(s)):
                raise AnypropError("sample_weight must be finite and >= 0")
            weights = (s * per_sample)[:, None]
        total, losses, grads = 0.0, {}, {}
        for name in self.loss_groups:
            g = self.groups[name]
            t = g.loss.prepare_target(targets[name], g.size, self.dtype)
            if t.shape[0] != n:
                raise ShapeError(f"targets for '{name}' have {t.shape[0]} samples, inputs {n}")
            per = None
            if self._fused[name] and not atanh_error:
                if weights is None:
                    value_sum, d = g.loss.fused_total(
                        self._nets[name], t, outs[name], self._cache.get(name)
                    )
                else:
                    per, d = g.loss.fused(self._nets[name], t)
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
                if per is not None:
                    value_sum = float(np.add.reduce(per, axis=None))
                value = value_sum * per_sample
                scale: Any = g.loss_weight * per_sample
            else:
                value = float((per * weights[:, 0]).sum())
                scale = g.loss_weight * weights
            losses[name] = value
            total += g.loss_weight * value
            if need_grad:
                d *= scale  # d is the loss's own fresh array
                grads[name] = (kind, d)
        return total, losses, grads

    # --- backward -------------------------------------------------------------
    def backprop(
        self,
        inputs: Any,
        targets: Any,
        sample_weight: Any = None,
        input_grads: bool = False,
        check: bool = True,
        options: Options = DEFAULT_OPTIONS,
    ) -> Backprop:
        outs = self.forward(inputs, check)
        total, losses, loss_grads = self._loss(outs, targets, sample_weight, options)
        prime_offset = options.prime_offset
        if self.dense_only and not input_grads and not prime_offset:
            deltas = self._backward_dense(outs, loss_grads)
            return Backprop(total, losses, self._grads, deltas, self._nets, outs, None)
        params = self.network.params
        grads = self._grads
        nets = self._nets
        dtype = self.dtype
        gout: dict[str, np.ndarray] = {}
        deltas: dict[str, np.ndarray] = {}
        dt = self._dt
        matmul = np.matmul
        for step in reversed(self.steps):
            name = step.name
            go = gout.pop(name, None)
            if step.block_source:
                back = self.block.backward(name, dt).T
                go = back if go is None else go + back
            lg = loss_grads.get(name)
            if lg is not None and lg[0] == "out":
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
            if step.bias is not None:
                np.add.reduce(delta, axis=0, out=grads[step.bias])
            if step.simple:  # every connection dense: the textbook products, nothing else
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
                self.block.weight_grads(name, rows, self._ot)
            for u in step.uses:
                o = outs[u.src]
                if u.trainable:
                    self._weight_grad(u, o, delta, grads[u.param])
                if u.src_is_input and not input_grads:
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
                if name in self.block_sources:
                    back = self.block.backward(name, dt).T
                    gi = back if gi is None else gi + back
                in_grads[name] = (
                    np.zeros_like(outs[name]) if gi is None else np.ascontiguousarray(gi)
                )
        return Backprop(total, losses, grads, deltas, nets, outs, in_grads)

    def _backward_dense(
        self, outs: dict[str, np.ndarray], loss_grads: dict[str, tuple]
    ) -> dict[str, np.ndarray]:
        """The backward pass of a dense-only plan, in reused buffers: each group's
        incoming gradient accumulates in its buffer (the first contribution written, the
        others added), becomes the delta in place, and sends products to its sources."""
        params, grads, nets = self.network.params, self._grads, self._nets
        gacc, scratch, back_first = self._gacc, self._scratch, self._back_first
        matmul, add_reduce = np.matmul, np.add.reduce
        deltas: dict[str, np.ndarray] = {}
        steps = self.steps
        for i in range(len(steps) - 1, -1, -1):
            step = steps[i]
            name = step.name
            lg = loss_grads.get(name)
            go = gacc.get(name)
            if lg is not None and lg[0] == "out":
                if go is None:
                    go = lg[1]
                else:
                    go += lg[1]
            if go is None:
                delta = lg[1] if lg is not None else np.zeros_like(nets[name])
            else:
                try:
                    delta = step.transfer.backward_into(
                        nets[name], outs[name], go, scratch.get(name)
                    )
                except AnypropError as e:
                    raise type(e)(f"group '{name}': {e}") from None
                if lg is not None and lg[0] == "fused":
                    delta += lg[1]
            deltas[name] = delta
            if step.bias is not None:
                add_reduce(delta, axis=0, out=grads[step.bias])
            for j, (src, par, first, trainable, src_input) in enumerate(step.dense):
                o = outs[src]
                if trainable:
                    if first:
                        matmul(o.T, delta, out=grads[par])
                    else:
                        grads[par] += o.T @ delta
                if src_input:
                    continue
                if back_first[(i, j)]:
                    matmul(delta, params[par].T, out=gacc[src])
                else:
                    tmp = scratch[src]
                    matmul(delta, params[par].T, out=tmp)
                    gacc[src] += tmp
        return deltas

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
