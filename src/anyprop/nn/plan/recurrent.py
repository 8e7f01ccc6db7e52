"""The plan of a recurrent network: the generalized delta rule through time, over whole
arrays (backpropagation through time).

Forward, for t = 0 … T−1 and the groups in topological order (o(t) = 0 for t < 0)::

    net_j(t) = Σ_c [o_gate(c)(t − g_c) ⊙] (o_src(c)(t − d_c) · W_c) + b_j,   o_j(t) = f_j(net_j(t))

Backward, for t = T−1 … 0 and the groups in reverse order::

    δ_j(t) = f'_j(net_j(t)) ⊙ (Σ_{c: j→k} ∂net_k(t + d_c)/∂o_j(t) · δ_k(t + d_c) + ∂L/∂o_j(t))

that is δ_k · W_cᵀ (times the gate's output for a gated c) from every connection j feeds,
at the step it feeds, and δ_k ⊙ (o_src · W_c) from every connection j gates; then

    ∂L/∂W_c = Σ_t o_src(t − d_c)ᵀ · (δ_tgt(t) [⊙ o_gate(t − g_c)])      ∂L/∂b_j = Σ_t Σ_n δ_j(t)

The loss is L = Σ_g w_g · Σ_{n,t} s_n m_{n,t} ℓ_g(n, t) / Σ_{n,t} m_{n,t} (the mean over
the sample-steps kept by the mask m; ``reduction="sum"`` drops the division), with
per-sequence weights s_n.

What makes it fast (the same arrays a hand-written loop would use):

- the buffers (net inputs, outputs and deltas of every group at every step, time-major,
  (T, n, units)) are made once per (T, n) and reused;
- connections out of input groups do not depend on the recurrence: their contributions
  at every step come from one product over all T·n rows before the loop;
- plain dense connections that share a source and a delay run as one product into
  targets laid out side by side (an LSTM's four gates: one (n, h) · (h, 4h) product per
  step, forward and backward);
- every weight gradient is one product over all T·n rows after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop.errors import AnypropError, ShapeError
from anyprop.limits import check_bytes
from anyprop.nn.plan.compile import flat_layout, fused_steepness, is_fused
from anyprop.nn.plan.results import DEFAULT_OPTIONS, Options
from anyprop.nn.values import numbers


@dataclass
class Product:
    """Connections from one source with one delay, run as one product per step (a
    merged set of plain dense ones, or a single connection of any kind)."""

    src: str
    delay: int
    conns: list[Any]
    merged: bool  # plain dense, ungated: one product into the targets side by side
    early: bool  # from an input group, ungated: every step's contribution before the loop
    first: str = ""  # the target that comes first in topological order
    #: the targets' columns in the product's output: (group, start, stop)
    cols: list[tuple[str, int, int]] = field(default_factory=list)
    width: int = 0
    #: the targets' net-input and delta storage as one (T, n, width) array, if side by side
    bundle: int | None = None


@dataclass(slots=True)
class SequenceBackprop:
    """What one pass over sequences found. ``deltas``, ``nets`` and ``outputs`` are
    (sequences, steps, units) views of the plan's buffers (overwritten by the next pass);
    ``grads`` ∂L/∂θ by parameter name."""

    loss: float
    losses: dict[str, float]
    grads: dict[str, np.ndarray]
    deltas: dict[str, np.ndarray]
    nets: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    mask: np.ndarray  # (sequences, steps): the sample-steps the loss was taken on


def _products(net: Any, order: list[str]) -> list[Product]:
    """The connections grouped into products (see the module's docstring)."""
    pos = {g: i for i, g in enumerate(order)}
    keyed: dict[tuple, Product] = {}
    out: list[Product] = []
    for c in net.connections.values():
        from_input = net.groups[c.src].is_input
        mergeable = c.plain_dense and c.gate is None
        key = (c.src, c.delay) if mergeable else None
        if key is not None and key in keyed:
            keyed[key].conns.append(c)
            continue
        p = Product(c.src, c.delay, [c], mergeable, from_input and c.gate is None)
        if key is not None:
            keyed[key] = p
        out.append(p)
    for p in out:
        p.conns.sort(key=lambda c: pos[c.tgt])
        p.first = p.conns[0].tgt
        if p.merged and len({c.tgt for c in p.conns}) < len(p.conns):
            p.merged = len(p.conns) == 1  # two into one group: run them one by one
        start = 0
        for c in p.conns:
            size = net.groups[c.tgt].size
            p.cols.append((c.tgt, start, start + size))
            start += size
        p.width = start
    # merged products split back into single ones where their targets repeat
    final: list[Product] = []
    for p in out:
        if p.merged or len(p.conns) == 1:
            final.append(p)
        else:
            for c in p.conns:
                q = Product(p.src, p.delay, [c], True, p.early, c.tgt)
                q.cols = [(c.tgt, 0, net.groups[c.tgt].size)]
                q.width = net.groups[c.tgt].size
                final.append(q)
    return final


class SequencePlan:
    """Runs a recurrent (or gated) network's passes over (sequences, steps, units) data."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.dtype = network.dtype
        self.groups = network.groups
        self.order = network.order()
        self.inputs = network.inputs
        self.outputs = list(network.outputs)
        self.loss_groups = [g for g in self.outputs if self.groups[g].loss is not None]
        self.hidden = [g for g in self.order if not self.groups[g].is_input]
        self.products = _products(network, self.order)
        self.flat, _ = flat_layout(network, None, self.dtype)
        self.fused = {g: is_fused(self.groups[g]) for g in self.loss_groups}
        # a bundle: targets of one merged product laid out side by side, so that the
        # product's output adds to (and its delta is read from) one slice
        self.bundles: list[tuple[int, list[tuple[str, int, int]]]] = []  # (width, cols)
        placed: dict[str, tuple[int, int, int]] = {}  # group -> (bundle, start, stop)
        ranked = sorted(self.products, key=lambda p: (p.early, -len(p.conns)))
        for p in ranked:  # the per-step products first: they are the hot ones
            if p.merged and len(p.conns) > 1 and not any(t in placed for t, *_ in p.cols):
                b = len(self.bundles)
                self.bundles.append((p.width, p.cols))
                for t, a, z in p.cols:
                    placed[t] = (b, a, z)
        for g in self.hidden:
            if g not in placed:
                b = len(self.bundles)
                size = self.groups[g].size
                self.bundles.append((size, [(g, 0, size)]))
                placed[g] = (b, 0, size)
        self.placed = placed
        for p in self.products:
            spots = [placed[t] for t, *_ in p.cols]
            same = len({s[0] for s in spots}) == 1
            if same and all(s[1] == a for s, (_, a, _z) in zip(spots, p.cols, strict=True)):
                p.bundle = spots[0][0]
                # the product's columns are the bundle's from its first target on
                p.cols = [(t, a + spots[0][1], z + spots[0][1]) for t, a, z in p.cols]
        self.into = {g: [p for p in self.products if p.first == g] for g in self.hidden}
        self.shape = (-1, -1)
        self.grads: Any = None

    # --- buffers ---------------------------------------------------------------
    def _buffers(self, steps: int, n: int) -> None:
        """Net inputs, outputs and deltas of every group at every step, made when (T, n)
        changes; the gradients' flat storage once."""
        if (steps, n) != self.shape:
            units = sum(self.groups[g].size for g in self.hidden)
            gated = sum(self.groups[c.tgt].size for p in self.products for c in p.conns if c.gate)
            widest = max((p.width for p in self.products), default=0)
            cells = steps * n * (3 * units + gated + widest)
            what = f"a pass over {n:,} sequences of {steps:,} steps ({units:,} units)"
            check_bytes(cells * self.dtype.itemsize, what)
            self.net_b = [np.empty((steps, n, w), self.dtype) for w, _ in self.bundles]
            self.delta_b = [np.empty((steps, n, w), self.dtype) for w, _ in self.bundles]
            self.nets = {g: self._view(self.net_b, g) for g in self.hidden}
            self.deltas = {g: self._view(self.delta_b, g) for g in self.hidden}
            self.outs = {
                g: np.empty((steps, n, self.groups[g].size), self.dtype) for g in self.hidden
            }
            # a gated connection's ungated contribution o_src · W, for the gate's delta
            self.contrib = {
                c.name: np.empty((steps, n, self.groups[c.tgt].size), self.dtype)
                for p in self.products
                for c in p.conns
                if c.gate is not None
            }
            self.scratch = {
                g: np.empty((n, self.groups[g].size), self.dtype)
                for g in self.hidden
                if self.groups[g].transfer.needs_scratch
            }
            self.shape = (steps, n)
        if self.grads is None:
            self.grads = self.flat.grads()
        if self.network.params.version != self.flat.version:
            self.flat.rehome(self.network.params)

    def _view(self, arrays: list[np.ndarray], g: str) -> np.ndarray:
        b, a, z = self.placed[g]
        return arrays[b][:, :, a:z]

    # --- data ------------------------------------------------------------------
    def prepare(self, data: Any, names: list[str], what: str) -> dict[str, np.ndarray]:
        """(sequences, steps, units) arrays by group, time-major copies (steps first)."""
        if not isinstance(data, dict):
            if len(names) != 1:
                raise AnypropError(
                    f"the network has {len(names)} {what} groups ({', '.join(names)}); give "
                    f"the {what}s as a dict by group name"
                )
            data = {names[0]: data}
        out = {}
        for name in names:
            if name not in data:
                raise AnypropError(f"no {what}s given for group '{name}'")
            arr = numbers(data[name], f"{what}s for group '{name}'", self.dtype, copy=False)
            units = self.groups[name].size
            if arr.ndim != 3 or arr.shape[2] != units:
                raise ShapeError(
                    f"{what}s for group '{name}' must have shape (sequences, steps, {units}), "
                    f"got {arr.shape}"
                )
            if not np.all(np.isfinite(arr)):
                raise AnypropError(f"the {what}s for group '{name}' contain NaN or infinity")
            out[name] = np.ascontiguousarray(arr.transpose(1, 0, 2))
        shapes = {a.shape[:2] for a in out.values()}
        if len(shapes) != 1:
            raise ShapeError(f"the {what}s' steps and sequences differ between groups: {shapes}")
        if 0 in next(iter(shapes)):
            raise AnypropError(f"the {what}s hold no step of any sequence")
        return out

    # --- passes ----------------------------------------------------------------
    def forward(self, inputs: Any) -> dict[str, np.ndarray]:
        """Every group's output, (sequences, steps, units) views of the plan's buffers."""
        xs = self.prepare(inputs, self.inputs, "input")
        self._forward(xs)
        return {g: a.transpose(1, 0, 2) for g, a in {**xs, **self.outs}.items()}

    def _forward(self, xs: dict[str, np.ndarray]) -> None:
        steps, n = next(iter(xs.values())).shape[:2]
        self._buffers(steps, n)
        params, outs, nets, contrib = (
            self.network.params,
            {**xs, **self.outs},
            self.nets,
            self.contrib,
        )
        for g in self.hidden:  # the biases, and the early products, at every step at once
            bias = self.groups[g].bias_param
            if bias is not None:
                nets[g][...] = params[bias]
            else:
                nets[g].fill(0)
        w_cat = {}
        for p in self.products:
            w = [c.operand(params[c.param], {}) for c in p.conns]
            w_cat[id(p)] = w[0] if len(w) == 1 else np.concatenate(w, axis=1)
            if p.early:
                src = outs[p.src]
                d = p.delay
                if d >= steps:
                    continue
                rows = src[: steps - d].reshape(-1, src.shape[2])
                part = (
                    p.conns[0].forward(rows, w_cat[id(p)]) if not p.merged else rows @ w_cat[id(p)]
                )
                part = part.reshape(steps - d, n, -1)
                self._add(p, part, nets, slice(d, steps))
        self.w_cat = w_cat
        live = [(g, [p for p in self.into[g] if not p.early]) for g in self.hidden]
        fused = {g: self.groups[g].loss.fused_forward for g in self.loss_groups if self.fused[g]}
        for t in range(steps):
            for g, prods in live:
                for p in prods:
                    if p.delay > t:
                        continue
                    o = outs[p.src][t - p.delay]
                    if p.merged:
                        self._add(p, o @ w_cat[id(p)], nets, t)
                        continue
                    c = p.conns[0]
                    part = c.forward(o, w_cat[id(p)])
                    if c.gate is not None:
                        contrib[c.name][t] = part
                        if c.gate_delay > t:
                            continue
                        part = part * outs[c.gate][t - c.gate_delay]
                    nets[c.tgt][t] += part
                tr = self.groups[g].transfer
                if g in fused and fused[g] is not None:
                    outs[g][t] = fused[g](nets[g][t])[0]
                else:
                    res = tr.forward_into(nets[g][t], outs[g][t])
                    if res is not outs[g][t]:
                        outs[g][t] = res

    def _add(self, p: Product, part: np.ndarray, nets: dict[str, np.ndarray], t: Any) -> None:
        """Add a product's output (its targets side by side) into their net inputs."""
        if p.bundle is not None:
            a, z = p.cols[0][1], p.cols[-1][2]
            self.net_b[p.bundle][t, :, a:z] += part
            return
        start = 0
        for tgt, a, z in p.cols:
            w = z - a
            nets[tgt][t] += part[..., start : start + w]
            start += w

    def backprop(
        self,
        inputs: Any,
        targets: Any,
        mask: Any = None,
        sample_weight: Any = None,
        options: Options = DEFAULT_OPTIONS,
    ) -> SequenceBackprop:
        """One forward and backward pass through time over whole sequences.

        ``targets``: (sequences, steps, units) for a loss at every step, or (sequences,
        units) (class indices: (sequences,)) for a loss at each sequence's last step
        (its last kept step under the mask). ``mask``: (sequences, steps) of 0/1.
        ``sample_weight``: one weight per sequence."""
        if not isinstance(options, Options):
            raise AnypropError(f"options must be an Options, got {type(options).__name__}")
        if options.atanh_error:
            raise AnypropError("atanh_error is not available for recurrent networks")
        xs = self.prepare(inputs, self.inputs, "input")
        steps, n = next(iter(xs.values())).shape[:2]
        self._forward(xs)
        m = self._mask(mask, steps, n)
        ts, kept = self._targets(targets, m, steps, n)
        total, losses = self._loss(ts, kept, self._weights(sample_weight, n), options)
        self._backward(xs, options)
        view = lambda d: {g: a.transpose(1, 0, 2) for g, a in d.items()}  # noqa: E731
        outs = {**xs, **self.outs}
        return SequenceBackprop(
            total, losses, self.grads, view(self.deltas), view(self.nets), view(outs), kept.T
        )

    def _mask(self, mask: Any, steps: int, n: int) -> np.ndarray:
        """The mask, time-major (T, n)."""
        if mask is None:
            m = np.ones((steps, n), self.dtype)
        else:
            m = numbers(mask, "mask", np.float64)
            if m.shape != (n, steps) or np.any((m != 0) & (m != 1)):
                raise ShapeError(
                    f"the mask must hold 0 or 1 per sequence and step, shape {(n, steps)}, "
                    f"got {m.shape if m.shape != (n, steps) else 'other values'}"
                )
            m = m.T.astype(self.dtype)
        return m

    def _weights(self, weight: Any, n: int) -> np.ndarray | None:
        """One weight per sequence, or None."""
        if weight is None:
            return None
        s = numbers(weight, "sample_weight", np.float64).reshape(-1)
        if s.shape != (n,) or np.any(s < 0) or not np.all(np.isfinite(s)):
            raise ShapeError(f"sample_weight must hold {n} finite values >= 0, one per sequence")
        return s.astype(self.dtype)

    def _targets(self, targets: Any, m: np.ndarray, steps: int, n: int) -> tuple[dict, np.ndarray]:
        """Targets by loss group as time-major (T·n, units) arrays, and the mask of the
        sample-steps taking a loss (the last kept step of each sequence for last-step
        targets)."""
        if not self.loss_groups:
            raise AnypropError("no output group has a loss; give one with add_group(..., loss=)")
        if not isinstance(targets, dict):
            if len(self.loss_groups) != 1:
                raise AnypropError(
                    f"the network has {len(self.loss_groups)} output groups with a loss; give "
                    "the targets as a dict by group name"
                )
            targets = {self.loss_groups[0]: targets}
        out, last = {}, None
        for g in self.loss_groups:
            if g not in targets:
                raise AnypropError(f"no targets given for group '{g}'")
            group = self.groups[g]
            t = numbers(targets[g], f"targets for group '{g}'", np.float64, copy=False)
            per_step = t.ndim == 3
            if per_step:
                if t.shape[:2] != (n, steps):
                    raise ShapeError(
                        f"targets for group '{g}' have shape {t.shape}: (sequences, steps) "
                        f"must be {(n, steps)} as the inputs'"
                    )
                t = t.transpose(1, 0, 2).reshape(steps * n, -1)
                if t.shape[1] == 1 and group.size > 1:
                    t = t[:, 0]  # class indices
            elif t.shape[:1] != (n,):
                raise ShapeError(
                    f"targets for group '{g}' have shape {t.shape}: give (sequences, steps, "
                    f"{group.size}) for every step or (sequences, {group.size}) for the last, "
                    f"with {n} sequences"
                )
            prepared = group.loss.prepare_target(t, group.size, self.dtype)
            if not per_step:  # the last step only: zero targets elsewhere, masked out
                full = np.zeros((steps, n, group.size), self.dtype)
                full[-1] = prepared
                prepared = full.reshape(steps * n, -1)
                last = True if last is None else last
            elif last:
                raise AnypropError("give every group's targets at every step, or all at the last")
            else:
                last = False
            out[g] = prepared
        kept = m
        if last:  # the loss at each sequence's last kept step
            ends = steps - 1 - np.argmax(m[::-1] != 0, axis=0)
            kept = np.zeros_like(m)
            kept[ends, np.arange(n)] = m[ends, np.arange(n)]
            if np.any(ends != steps - 1):  # move the targets to the step they belong to
                for arr in out.values():
                    full = arr.reshape(steps, n, -1)
                    full[ends, np.arange(n)] = full[-1].copy()
        return out, kept

    def _loss(
        self, ts: dict, kept: np.ndarray, weights: np.ndarray | None, options: Options
    ) -> tuple[float, dict]:
        """L, L per group, and each group's seed: ∂L/∂o(t), or δ(t) for a fused pair."""
        if not np.any(kept):
            raise AnypropError("the mask leaves no step to take a loss on")
        norm = 1.0 if options.reduction == "sum" else float(kept.sum())
        steps, n = kept.shape
        scaled = kept if weights is None else kept * weights
        w = (scaled.reshape(-1) / norm).astype(self.dtype)
        self.seeds: dict[str, tuple[str, np.ndarray]] = {}
        total, losses = 0.0, {}
        for g in self.loss_groups:
            group = self.groups[g]
            if self.fused[g]:
                s = fused_steepness(group)
                net = self.nets[g].reshape(steps * n, -1)
                per, d = group.loss.fused(net if s == 1 else net * s, ts[g])
                if s != 1:
                    d = d * s
                kind = "fused"
            else:
                per, d = group.loss.per_sample(self.outs[g].reshape(steps * n, -1), ts[g])
                kind = "out"
            value = float((per * w).sum())
            losses[g] = value
            total += group.loss_weight * value
            d = d * (w * group.loss_weight)[:, None]
            self.seeds[g] = (kind, d.astype(self.dtype, copy=False).reshape(steps, n, -1))
        return total, losses

    def _backward(self, xs: dict[str, np.ndarray], options: Options) -> None:
        outs, deltas = {**xs, **self.outs}, self.deltas
        nets, contrib, w_cat = self.nets, self.contrib, self.w_cat
        steps = self.shape[0]
        for g in self.hidden:  # ∂L/∂o from the loss, then what the groups fed send back
            seed = self.seeds.get(g)
            if seed is not None and seed[0] == "out":
                deltas[g][...] = seed[1]
            else:
                deltas[g].fill(0)
        # deltas[g][t] holds ∂L/∂o_j(t) until the group is reached at t, then δ_j(t)
        back = [(g, [p for p in self.into[g] if not p.early]) for g in reversed(self.hidden)]
        fused = {g: s[1] for g, s in self.seeds.items() if s[0] == "fused"}
        offset = options.prime_offset
        inputs = set(self.inputs)
        for t in range(steps - 1, -1, -1):
            for g, _ in back:
                tr = self.groups[g].transfer
                go = deltas[g][t]
                keep = go.copy() if offset and not tr.vector else None
                res = tr.backward_into(nets[g][t], outs[g][t], go, self.scratch.get(g))
                if res is not go:
                    go[...] = res
                if keep is not None:  # (f' + offset) ⊙ ∂L/∂o
                    go += offset * keep
                if g in fused:
                    go += fused[g][t]
                # what g's incoming connections send back to their sources (and gates)
                for p in self.into[g]:
                    if p.delay > t:
                        continue
                    if p.merged:
                        if p.src in inputs:
                            continue
                        if p.bundle is not None:
                            a, z = p.cols[0][1], p.cols[-1][2]
                            dcat = self.delta_b[p.bundle][t, :, a:z]
                        else:
                            dcat = np.concatenate([deltas[tg][t] for tg, *_ in p.cols], axis=1)
                        deltas[p.src][t - p.delay] += dcat @ w_cat[id(p)].T
                        continue
                    c = p.conns[0]
                    dc = go
                    if c.gate is not None:
                        if c.gate_delay > t:
                            continue
                        if c.gate not in inputs:  # ∂net/∂o_gate = o_src · W
                            deltas[c.gate][t - c.gate_delay] += go * contrib[c.name][t]
                        dc = go * outs[c.gate][t - c.gate_delay]
                    if p.src not in inputs:
                        deltas[p.src][t - p.delay] += c.backward(dc, w_cat[id(p)])
            # (a merged product is sent back once all its targets' deltas are known:
            # its first target is the last of them reached at t, handled above in order)
        self._weight_grads(outs)

    def _weight_grads(self, outs: dict[str, np.ndarray]) -> None:
        """∂L/∂W_c = Σ_t o_src(t − d)ᵀ · δ_c(t), each one product over all T·n rows."""
        grads, deltas, steps = self.grads, self.deltas, self.shape[0]
        grads.flat[...] = 0
        for g in self.hidden:
            bias = self.groups[g].bias_param
            if bias is not None:
                grads[bias][...] = deltas[g].sum(axis=(0, 1))
        for p in self.products:
            for c in p.conns:
                if not c.trainable:
                    continue
                lo = max(c.delay, c.gate_delay if c.gate is not None else 0)
                if lo >= steps:
                    continue
                o = outs[c.src][lo - c.delay : steps - c.delay]
                d = deltas[c.tgt][lo:]
                if c.gate is not None:
                    d = d * outs[c.gate][lo - c.gate_delay : steps - c.gate_delay]
                rows = o.shape[0] * o.shape[1]
                grads[c.param] += c.weight_grad(o.reshape(rows, -1), d.reshape(rows, -1))
