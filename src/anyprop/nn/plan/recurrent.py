"""The plan of a recurrent network: the generalized delta rule through time, over whole
arrays (backpropagation through time).

Forward, for t = 0 … T−1 and the groups in topological order (o(t) = 0 for t < 0)::

    net_j(t) = Σ_c [o_gate(c)(t − g_c) ⊙] (o_src(c)(t − d_c) · W_c) + b_j,   o_j(t) = f_j(net_j(t))

Backward, for t = T−1 … 0 and the groups in reverse order::

    δ_j(t) = f'_j(net_j(t)) ⊙ (Σ_{c: j→k} ∂net_k(t + d_c)/∂o_j(t) · δ_k(t + d_c) + ∂L/∂o_j(t))

that is δ_k · W_cᵀ (times the gate's output for a gated c) from every connection j feeds,
at the step it feeds, and δ_k ⊙ (o_src · W_c) from every connection j gates; then

    ∂L/∂W_c = Σ_t o_src(t − d_c)ᵀ · (δ_tgt(t) [⊙ o_gate(t − g_c)])      ∂L/∂b_j = Σ_t Σ_n δ_j(t)

(the loss: :mod:`.sequence_data`). What makes it fast, the arrays a hand-written loop
would use:

- **three phases.** Only the *loop* groups (those on a recurrence: fed through a delay
  by a group, and feeding one) need a step at a time. The groups before it (fed by the
  inputs alone) and after it (the outputs of an Elman network) run over all T·n rows at
  once, forward and backward, and so do the connections from the former into the loop;
- the buffers (net inputs, outputs, deltas of every group at every step, time-major,
  (T, n, units)) are made once per (T, n) and reused;
- plain dense connections that share a source and a delay run as one product into
  targets laid out side by side (an LSTM's four gates: one (n, h) · (h, 4h) product a
  step, forward and backward), and side-by-side groups with the same elementwise
  transfer function run it once (the three sigmoid gates);
- an identity group's output is its net input (no copy); a fixed one-to-one connection
  of weight 1 passes its source on (no product);
- every weight gradient is one product over all T·n rows after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.limits import check_bytes
from anyprop.nn.plan.compile import flat_layout, is_fused
from anyprop.nn.plan.results import DEFAULT_OPTIONS, Options
from anyprop.nn.plan.sequence_data import (
    mask_of,
    prepare_sequences,
    sequence_loss,
    targets_of,
    weights_of,
)

PRE, LOOP, POST = "pre", "loop", "post"


@dataclass
class Product:
    """Connections from one source with one delay into targets of one phase, run as one
    product: a merged set of plain dense ones, or a single connection of any kind."""

    src: str
    delay: int
    conns: list[Any]
    merged: bool  # plain dense, ungated: one product into the targets side by side
    phase: str  # the targets'
    gate: str | None = None
    gate_delay: int = 0
    early: bool = False  # into the loop from outside it: every step at once, before it
    first: str = ""  # the target that comes first in topological order
    #: the targets' columns in the product's output: (group, start, stop)
    cols: list[tuple[str, int, int]] = field(default_factory=list)
    width: int = 0
    #: the bundle holding the targets side by side, with the product's first column there
    bundle: int | None = None
    ident: bool = False  # a fixed one-to-one of weight 1: the source passes on as it is

    @property
    def lo(self) -> int:
        """The first step at which the product contributes."""
        return max(self.delay, self.gate_delay if self.gate is not None else 0)


@dataclass(slots=True)
class SequenceBackprop:
    """What one pass over sequences found. ``deltas``, ``nets`` and ``outputs`` are
    (sequences, steps, units) views of the plan's buffers (overwritten by the next pass);
    ``grads`` ∂L/∂θ by parameter name; ``mask`` the sample-steps the loss was taken on."""

    loss: float
    losses: dict[str, float]
    grads: dict[str, np.ndarray]
    deltas: dict[str, np.ndarray]
    nets: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    mask: np.ndarray


def phases(net: Any) -> dict[str, str]:
    """Each non-input group's phase: ``loop`` if it lies on a recurrence (fed, through
    any path, by a delayed connection from a group, and feeding, within a step, the
    source of one), ``pre`` if it does not depend on earlier steps of any group, else
    ``post`` (it depends on the loop, but nothing of the loop depends on it)."""
    groups, conns = net.groups, list(net.connections.values())
    edges = []  # (source, target, delayed) for every signal: sources and gates
    for c in conns:
        edges.append((c.src, c.tgt, c.delay > 0))
        if c.gate is not None:
            edges.append((c.gate, c.tgt, c.gate_delay > 0))
    recur = {t for s, t, d in edges if d and not groups[s].is_input}
    grow = list(recur)
    while grow:  # everything downstream of a delayed signal from a group
        g = grow.pop()
        for s, t, _ in edges:
            if s == g and t not in recur:
                recur.add(t)
                grow.append(t)
    feeds = {s for s, _t, d in edges if d and not groups[s].is_input}
    grow = list(feeds)
    while grow:  # everything upstream, within a step, of a delayed signal's source
        g = grow.pop()
        for s, t, d in edges:
            if t == g and not d and s not in feeds and not groups[s].is_input:
                feeds.add(s)
                grow.append(s)
    out = {}
    for g in net.order():
        if not groups[g].is_input:
            out[g] = (LOOP if g in feeds else POST) if g in recur else PRE
    return out


def _products(net: Any, order: list[str], phase: dict[str, str]) -> list[Product]:
    """The connections grouped into products (see :class:`Product`)."""
    pos = {g: i for i, g in enumerate(order)}
    keyed: dict[tuple, Product] = {}
    out: list[Product] = []
    for c in net.connections.values():
        mergeable = c.plain_dense and c.gate is None
        key = (c.src, c.delay, phase[c.tgt]) if mergeable else None
        if key is not None and key in keyed and c.tgt not in {x.tgt for x in keyed[key].conns}:
            keyed[key].conns.append(c)
            continue
        p = Product(c.src, c.delay, [c], mergeable, phase[c.tgt], c.gate, c.gate_delay)
        if key is not None and key not in keyed:
            keyed[key] = p
        out.append(p)
    for p in out:
        p.conns.sort(key=lambda c: pos[c.tgt])
        p.first = p.conns[0].tgt
        p.early = p.phase == LOOP and phase.get(p.src) != LOOP and phase.get(p.gate) != LOOP
        start = 0
        for c in p.conns:
            size = net.groups[c.tgt].size
            p.cols.append((c.tgt, start, start + size))
            start += size
        p.width = start
    return out


class SequencePlan:
    """Runs a network's passes over (sequences, steps, units) data: any network, with
    delayed and gated connections too (see the module's docstring)."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.dtype = network.dtype
        self.groups = network.groups
        self.order = network.order()
        self.inputs = network.inputs
        self.outputs = list(network.outputs)
        self.loss_groups = [g for g in self.outputs if self.groups[g].loss is not None]
        self.phase = phases(network)
        self.hidden = [g for g in self.order if not self.groups[g].is_input]
        self.by_phase = {
            k: [g for g in self.hidden if self.phase[g] == k] for k in self.phase_names
        }
        self.products = _products(network, self.order, self.phase)
        self.flat, _ = flat_layout(network, None, self.dtype)
        self.fused = {g: is_fused(self.groups[g]) for g in self.loss_groups}
        self._lay_out()
        self.into = {g: [p for p in self.products if p.first == g] for g in self.hidden}
        self.early = [p for p in self.products if p.early]
        # identity groups (not fused with a loss): the output is the net input itself
        self.alias = {
            g
            for g in self.hidden
            if self.groups[g].transfer.name == "identity"
            and not self.groups[g].transfer.params
            and not self.fused.get(g, False)
        }
        self._runs()
        self.shape = (-1, -1)
        self.grads: Any = None

    phase_names = (PRE, LOOP, POST)

    # --- layout ----------------------------------------------------------------
    def _lay_out(self) -> None:
        """Bundles: the targets of a merged product side by side in one array, so that the
        product adds to (and its backward reads) one slice; the hot ones first."""
        self.bundles: list[list[tuple[str, int, int]]] = []
        placed: dict[str, tuple[int, int, int]] = {}  # group -> (bundle, start, stop)
        ranked = sorted(self.products, key=lambda p: (p.phase != LOOP or p.early, -len(p.conns)))
        for p in ranked:
            if p.merged and len(p.conns) > 1 and not any(t in placed for t, *_ in p.cols):
                for t, a, z in p.cols:
                    placed[t] = (len(self.bundles), a, z)
                self.bundles.append(p.cols)
        for g in self.hidden:
            if g not in placed:
                size = self.groups[g].size
                placed[g] = (len(self.bundles), 0, size)
                self.bundles.append([(g, 0, size)])
        self.placed = placed
        for p in self.products:
            spots = [placed[t] for t, *_ in p.cols]
            shift = spots[0][1]
            if len({s[0] for s in spots}) == 1 and all(
                s[1] == a + shift for s, (_, a, _z) in zip(spots, p.cols, strict=True)
            ):
                p.bundle = spots[0][0]
                p.cols = [(t, a + shift, z + shift) for t, a, z in p.cols]

    def _runs(self) -> None:
        """Side-by-side loop groups with one elementwise transfer function, run as one:
        each run's (bundle, start, stop) by its first and its last group."""
        self.run_first: dict[str, tuple[int, int, int]] = {}
        self.run_last: dict[str, tuple[int, int, int]] = {}
        self.in_run: set[str] = set()
        loop = self.by_phase[LOOP]
        pos = {g: i for i, g in enumerate(loop)}
        feeding = {
            g: [p for p in self.products if not p.early and any(t == g for t, *_ in p.cols)]
            for g in loop
        }
        links = {(c.src, c.tgt) for c in self.network.connections.values()}
        for cols in self.bundles:
            names = [t for t, *_ in cols]
            i = 0
            while i < len(names):
                j = i + 1
                while j < len(names) and self._same_run(names[j], names[i:j], pos, feeding, links):
                    j += 1
                if j - i > 1:
                    b, a, _ = self.placed[names[i]]
                    span = (b, a, self.placed[names[j - 1]][2])
                    self.run_first[names[i]] = self.run_last[names[j - 1]] = span
                    self.in_run.update(names[i:j])
                i = j

    def _same_run(self, g: str, run: list[str], pos: dict, feeding: dict, links: set) -> bool:
        """Whether ``g`` may join ``run`` (whose first member is ``run[0]``)."""
        groups, head = self.groups, run[0]
        if head not in pos or g not in pos or pos[g] != pos[run[-1]] + 1:
            return False  # both in the loop, consecutive in its order
        a, b = groups[head], groups[g]
        if a.transfer != b.transfer or a.transfer.vector or g in self.alias or head in self.alias:
            return False
        if self.fused.get(g) or self.fused.get(head) or g in self.loss_groups:
            return False
        if any((r, g) in links or (g, r) in links for r in run):
            return False
        members = {*run, g}  # every product a member takes from feeds the whole run
        return all(members <= {t for t, *_ in p.cols} for m in members for p in feeding[m])

    # --- buffers ---------------------------------------------------------------
    def _buffers(self, steps: int, n: int) -> None:
        """Net inputs, outputs and deltas of every group at every step, made when (T, n)
        changes; the gradients' flat storage once."""
        if (steps, n) != self.shape:
            units = sum(self.groups[g].size for g in self.hidden)
            gated = sum(self.groups[p.first].size for p in self.products if p.gate)
            widest = max((p.width for p in self.products), default=0)
            cells = steps * n * (3 * units + gated + widest)
            what = f"a pass over {n:,} sequences of {steps:,} steps ({units:,} units)"
            check_bytes(cells * self.dtype.itemsize, what)
            widths = [cols[-1][2] for cols in self.bundles]
            self.net_b = [np.zeros((steps, n, w), self.dtype) for w in widths]
            self.delta_b = [np.zeros((steps, n, w), self.dtype) for w in widths]
            self.nets = {g: self._view(self.net_b, g) for g in self.hidden}
            self.deltas = {g: self._view(self.delta_b, g) for g in self.hidden}
            self.run_outs: dict[tuple, np.ndarray] = {}
            self.outs = {
                g: self.nets[g]
                if g in self.alias
                else np.zeros((steps, n, self.groups[g].size), self.dtype)
                for g in self.hidden
            }
            for b, a, z in self.run_first.values():  # a run's outputs: one array
                buf = np.zeros((steps, n, z - a), self.dtype)
                self.run_outs[(b, a, z)] = buf
                for name in self.in_run:
                    bb, aa, zz = self.placed[name]
                    if bb == b and a <= aa and zz <= z:
                        self.outs[name] = buf[:, :, aa - a : zz - a]
            self.run_scratch = {
                span: np.empty((n, span[2] - span[1]), self.dtype)
                for span in self.run_first.values()
                if self.groups[self.placed_name(span)].transfer.needs_scratch
            }
            # a gated connection's ungated contribution o_src · W, for the gate's delta
            self.contrib = {
                id(p): np.zeros((steps, n, self.groups[p.first].size), self.dtype)
                for p in self.products
                if p.gate is not None
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

    def placed_name(self, span: tuple[int, int, int]) -> str:
        """The first group of a run."""
        return next(g for g, v in self.run_first.items() if v == span)

    def _view(self, arrays: list[np.ndarray], g: str) -> np.ndarray:
        b, a, z = self.placed[g]
        return arrays[b][:, :, a:z]

    # --- passes ----------------------------------------------------------------
    def prepare(self, data: Any, names: list[str], what: str) -> dict[str, np.ndarray]:
        """Inputs as time-major (steps, sequences, units) arrays by group, checked."""
        return prepare_sequences(self.groups, self.dtype, data, names, what)

    def forward(self, inputs: Any) -> dict[str, np.ndarray]:
        """Every group's output, (sequences, steps, units) views of the plan's buffers."""
        xs = self.prepare(inputs, self.inputs, "input")
        self._forward(xs)
        return {g: a.transpose(1, 0, 2) for g, a in {**xs, **self.outs}.items()}

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
            raise AnypropError("atanh_error is not available over sequences")
        xs = self.prepare(inputs, self.inputs, "input")
        steps, n = next(iter(xs.values())).shape[:2]
        self._forward(xs)
        m = mask_of(mask, steps, n, self.dtype)
        ts, kept = targets_of(self.groups, self.loss_groups, self.dtype, targets, m, steps, n)
        weights = weights_of(sample_weight, n, self.dtype)
        total, losses, seeds = sequence_loss(self, ts, kept, weights, options)
        self._backward(xs, seeds, options)
        view = lambda d: {g: a.transpose(1, 0, 2) for g, a in d.items()}  # noqa: E731
        outs = {**xs, **self.outs}
        return SequenceBackprop(
            total, losses, self.grads, view(self.deltas), view(self.nets), view(outs), kept.T
        )

    def evaluate(
        self, inputs: Any, targets: Any, mask: Any = None, options: Options = DEFAULT_OPTIONS
    ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """(L, every group's outputs by sequence and step, the sample-steps the loss was
        taken on) without gradients."""
        xs = self.prepare(inputs, self.inputs, "input")
        steps, n = next(iter(xs.values())).shape[:2]
        self._forward(xs)
        m = mask_of(mask, steps, n, self.dtype)
        ts, kept = targets_of(self.groups, self.loss_groups, self.dtype, targets, m, steps, n)
        total = sequence_loss(self, ts, kept, None, options)[0]
        outs = {g: a.transpose(1, 0, 2) for g, a in {**xs, **self.outs}.items()}
        return total, outs, kept.T

    # --- forward ---------------------------------------------------------------
    def _forward(self, xs: dict[str, np.ndarray]) -> None:
        steps, n = next(iter(xs.values())).shape[:2]
        self._buffers(steps, n)
        params, nets = self.network.params, self.nets
        self.o = {**xs, **self.outs}
        for g in self.hidden:  # the biases at every step at once
            bias = self.groups[g].bias_param
            if bias is not None:
                nets[g][...] = params[bias]
            else:
                nets[g].fill(0)
        self.w = w = {}  # each product's weights (side by side when merged)
        for p in self.products:
            ws = [c.operand(params[c.param], {}) for c in p.conns]
            w[id(p)] = ws[0] if len(ws) == 1 else np.concatenate(ws, axis=1)
            c = p.conns[0]
            p.ident = (
                c.kind == "one_to_one"
                and not c.trainable
                and c.share is None
                and bool(np.all(w[id(p)] == 1))
            )
        for g in self.by_phase[PRE]:
            self._group_all(g)
        for p in self.early:
            self._product_all(p)
        self._loop_forward(steps)
        for g in self.by_phase[POST]:
            self._group_all(g)

    def _group_all(self, g: str) -> None:
        """A group outside the loop, every step at once: its products, then f."""
        for p in self.into[g]:
            self._product_all(p)
        self._transfer_all(g)

    def _product_all(self, p: Product) -> None:
        """A product's contributions at every step at once."""
        steps, n = self.shape
        lo, d, outs = p.lo, p.delay, self.o
        if lo >= steps:
            return
        src = outs[p.src][lo - d : steps - d]
        if p.ident:
            part = src
        else:
            rows = np.ascontiguousarray(src).reshape(-1, src.shape[2])
            part = rows @ self.w[id(p)] if p.merged else p.conns[0].forward(rows, self.w[id(p)])
            part = part.reshape(steps - lo, n, -1)
        if p.gate is not None:
            if not p.ident:
                self.contrib[id(p)][lo:] = part
            part = part * outs[p.gate][lo - p.gate_delay : steps - p.gate_delay]
        self._add(p, part, slice(lo, steps))

    def _add(self, p: Product, part: np.ndarray, t: Any) -> None:
        """Add a product's output (its targets side by side) into their net inputs."""
        if p.bundle is not None:
            self.net_b[p.bundle][t, :, p.cols[0][1] : p.cols[-1][2]] += part
            return
        start = 0
        for tgt, a, z in p.cols:
            self.nets[tgt][t] += part[..., start : start + z - a]
            start += z - a

    def _transfer_all(self, g: str) -> None:
        """o = f(net) at every step at once (on (T·n, units) rows)."""
        if g in self.alias:
            return
        net, out = self.nets[g], self.outs[g]
        rows = np.ascontiguousarray(net).reshape(-1, net.shape[2])
        fused = self.groups[g].loss.fused_forward if self.fused.get(g) else None
        res = fused(rows)[0] if fused is not None else self.groups[g].transfer.forward(rows)
        out[...] = res.reshape(out.shape)

    def _loop_forward(self, steps: int) -> None:
        """The recurrence, a step at a time (the hot loop: everything is bound before it)."""
        outs, nets, w, contrib, add = self.o, self.nets, self.w, self.contrib, self._add
        multiply = np.multiply
        plan = []
        early_into = {t for p in self.early for t, *_ in p.cols}
        for g in self.by_phase[LOOP]:
            prods = []
            # a group holding zeros before the loop (no bias, nothing from outside it) has
            # its first product written into its net input (an add saved each step)
            write = self.groups[g].bias_param is None and g not in early_into
            for p in self.into[g]:
                if p.early:
                    continue
                first = write and not p.merged
                write = write and p.merged
                store = p.gate is not None and not p.ident  # (an identity's is its source)
                prods.append(
                    (
                        p,
                        p.delay,
                        outs[p.src],
                        w[id(p)],
                        p.conns[0],
                        p.gate,
                        p.gate_delay,
                        first,
                        store,
                    )
                )
            tr = self.groups[g].transfer
            fused = self.groups[g].loss.fused_forward if self.fused.get(g) else None
            if g in self.alias or (g in self.in_run and g not in self.run_first):
                how = None  # an identity, or a run's later member: nothing to apply
            elif g in self.run_first:
                b, a, z = span = self.run_first[g]
                how = (tr, self.net_b[b][:, :, a:z], self.run_outs[span])
            else:
                how = (tr, nets[g], outs[g], fused)
            plan.append((g, prods, how))
        for t in range(steps):
            for _g, prods, how in plan:
                for p, d, src, wp, c, gate, gd, first, store in prods:
                    if d > t:
                        continue
                    o = src[t - d]
                    if p.merged:
                        add(p, o @ wp, t)
                        continue
                    part = o if p.ident else c.forward(o, wp)
                    if store:
                        contrib[id(p)][t] = part
                    if gate is not None:
                        if gd > t:
                            continue
                        if first:
                            multiply(part, outs[gate][t - gd], out=nets[c.tgt][t])
                            continue
                        part = part * outs[gate][t - gd]
                    if first:
                        nets[c.tgt][t] = part
                    else:
                        nets[c.tgt][t] += part
                if how is None:
                    continue
                if len(how) == 3:  # a run: one call for the side-by-side groups
                    tr, net_r, out_r = how
                    res = tr.forward_into(net_r[t], out_r[t])
                    if res is not out_r[t]:
                        out_r[t] = res
                    continue
                tr, net, out, fused = how
                if fused is not None:
                    out[t] = fused(net[t])[0]
                    continue
                res = tr.forward_into(net[t], out[t])
                if res is not out[t]:
                    out[t] = res

    # --- backward --------------------------------------------------------------
    def _backward(self, xs: dict[str, np.ndarray], seeds: dict, options: Options) -> None:
        deltas = self.deltas
        for g in self.hidden:  # ∂L/∂o from the loss; then what the groups fed send back
            seed = seeds.get(g)
            if seed is not None and seed[0] == "out":
                deltas[g][...] = seed[1]
            else:
                deltas[g].fill(0)
        self.fused_d = {g: s[1] for g, s in seeds.items() if s[0] == "fused"}
        self.offset = options.prime_offset
        for g in reversed(self.by_phase[POST]):
            self._delta_all(g)
            for p in self.into[g]:
                self._back_all(p)
        self._loop_backward()
        for p in self.early:
            self._back_all(p)
        for g in reversed(self.by_phase[PRE]):
            self._delta_all(g)
            for p in self.into[g]:
                self._back_all(p)
        self._weight_grads()

    def _delta_all(self, g: str) -> None:
        """δ = f'(net) ⊙ ∂L/∂o at every step at once (deltas[g] held ∂L/∂o until now)."""
        go = self.deltas[g]
        tr = self.groups[g].transfer
        if g not in self.alias or self.offset:
            shape = go.shape
            rows = lambda a: np.ascontiguousarray(a).reshape(-1, shape[2])  # noqa: E731
            grad = rows(go)
            res = tr.backward(rows(self.nets[g]), rows(self.outs[g]), grad)
            if self.offset and not tr.vector:  # (f' + offset) ⊙ ∂L/∂o
                res = res + self.offset * grad
            go[...] = res.reshape(shape)
        if g in self.fused_d:
            go += self.fused_d[g]

    def _back_all(self, p: Product) -> None:
        """What a product sends back to its source (and gate), at every step at once."""
        steps, n = self.shape
        lo, d, inputs = p.lo, p.delay, self.inputs
        if lo >= steps:
            return
        deltas = self.deltas
        if p.merged:
            if p.src in inputs:
                return
            if p.bundle is not None:
                dcat = self.delta_b[p.bundle][lo:, :, p.cols[0][1] : p.cols[-1][2]]
            else:
                dcat = np.concatenate([deltas[t][lo:] for t, *_ in p.cols], axis=2)
            rows = np.ascontiguousarray(dcat).reshape(-1, p.width)
            deltas[p.src][lo - d : steps - d] += (rows @ self.w[id(p)].T).reshape(steps - lo, n, -1)
            return
        dc = deltas[p.first][lo:]
        if p.gate is not None:
            gd = p.gate_delay
            if p.gate not in inputs:  # ∂net/∂o_gate = o_src · W
                made = self.o[p.src][lo - d : steps - d] if p.ident else self.contrib[id(p)][lo:]
                deltas[p.gate][lo - gd : steps - gd] += dc * made
            dc = dc * self.o[p.gate][lo - gd : steps - gd]
        if p.src in inputs:
            return
        if p.ident:
            deltas[p.src][lo - d : steps - d] += dc
            return
        rows = np.ascontiguousarray(dc).reshape(-1, dc.shape[2])
        back = p.conns[0].backward(rows, self.w[id(p)])
        deltas[p.src][lo - d : steps - d] += back.reshape(steps - lo, n, -1)

    def _loop_backward(self) -> None:
        """The recurrence backwards, a step at a time."""
        steps = self.shape[0]
        outs, nets, deltas, w, contrib = self.o, self.nets, self.deltas, self.w, self.contrib
        inputs, offset, fused_d = set(self.inputs), self.offset, self.fused_d
        plan = []
        for g in reversed(self.by_phase[LOOP]):
            tr = self.groups[g].transfer
            if (g in self.alias and not offset) or (g in self.in_run and g not in self.run_last):
                how = None
            elif g in self.run_last:
                b, a, z = span = self.run_last[g]
                how = (
                    tr,
                    self.net_b[b][:, :, a:z],
                    self.run_outs[span],
                    self.delta_b[b][:, :, a:z],
                    self.run_scratch.get(span),
                )
            else:
                how = (tr, nets[g], outs[g], deltas[g], self.scratch.get(g))
            sends = []
            for p in self.into[g]:
                if p.early:
                    continue
                c = p.conns[0]
                if p.merged:
                    if p.src in inputs:
                        continue
                    if p.bundle is not None:
                        dcat = self.delta_b[p.bundle][:, :, p.cols[0][1] : p.cols[-1][2]]
                    else:
                        dcat = None
                    sends.append((p, p.delay, dcat, w[id(p)].T, deltas[p.src], None, 0))
                else:
                    gate = p.gate
                    sends.append(
                        (p, p.delay, deltas[c.tgt], w[id(p)], deltas.get(p.src), gate, p.gate_delay)
                    )
            plan.append((g, how, g in fused_d, sends))
        matmul = np.matmul
        for t in range(steps - 1, -1, -1):
            for g, how, fused, sends in plan:
                if how is not None:
                    tr, net, out, go_all, scratch = how
                    go = go_all[t]
                    keep = go.copy() if offset and not tr.vector else None
                    res = tr.backward_into(net[t], out[t], go, scratch)
                    if res is not go:
                        go[...] = res
                    if keep is not None:  # (f' + offset) ⊙ ∂L/∂o
                        go += offset * keep
                if fused:
                    deltas[g][t] += fused_d[g][t]
                for p, d, dsrc, wt, back_to, gate, gd in sends:
                    if d > t:
                        continue
                    if p.merged:
                        dcat = (
                            dsrc[t]
                            if dsrc is not None
                            else np.concatenate([deltas[x][t] for x, *_ in p.cols], axis=1)
                        )
                        back_to[t - d] += matmul(dcat, wt)
                        continue
                    dc = dsrc[t]
                    if gate is not None:
                        if gd > t:
                            continue
                        if gate not in inputs:  # ∂net/∂o_gate = o_src · W
                            made = outs[p.src][t - d] if p.ident else contrib[id(p)][t]
                            deltas[gate][t - gd] += dc * made
                        dc = dc * outs[gate][t - gd]
                    if back_to is None:  # (from an input)
                        continue
                    back_to[t - d] += dc if p.ident else p.conns[0].backward(dc, wt)

    def _weight_grads(self) -> None:
        """∂L/∂W_c = Σ_t o_src(t − d)ᵀ · δ_c(t), each one product over all T·n rows."""
        grads, deltas, outs, steps = self.grads, self.deltas, self.o, self.shape[0]
        grads.flat[...] = 0
        for g in self.hidden:
            bias = self.groups[g].bias_param
            if bias is not None:
                grads[bias][...] = deltas[g].sum(axis=(0, 1))
        for p in self.products:
            lo = p.lo
            if lo >= steps:
                continue
            o = outs[p.src][lo - p.delay : steps - p.delay]
            o = np.ascontiguousarray(o).reshape(-1, o.shape[2])
            if p.merged and p.bundle is not None and all(c.trainable for c in p.conns):
                # the side-by-side targets' weights: one product, split by target
                d = self.delta_b[p.bundle][lo:, :, p.cols[0][1] : p.cols[-1][2]]
                g_cat = o.T @ np.ascontiguousarray(d).reshape(-1, p.width)
                start = p.cols[0][1]
                for c, (_t, a, z) in zip(p.conns, p.cols, strict=True):
                    grads[c.param] += g_cat[:, a - start : z - start]
                continue
            for c in p.conns:
                if not c.trainable:
                    continue
                d = deltas[c.tgt][lo:]
                if p.gate is not None:
                    d = d * outs[p.gate][lo - p.gate_delay : steps - p.gate_delay]
                d = np.ascontiguousarray(d).reshape(-1, d.shape[2])
                grads[c.param] += c.weight_grad(o, d)
