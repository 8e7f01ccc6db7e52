"""The plan of a recurrent network: the generalized delta rule through time, over whole
arrays (backpropagation through time).

Forward, for t = 0 … T−1 and the groups in topological order::

    net_j(t) = Σ_c [o_gate(c)(t − g_c) ⊙] (o_src(c)(t − d_c) · W_c) + b_j,   o_j(t) = f_j(net_j(t))

where o(t) for t < 0 is the state before the first step: zero, a group's learned
initial state, or the state a previous chunk of the same sequences left (``state``).
Backward, for t = T−1 … 0 and the groups in reverse order::

    δ_j(t) = f'_j(net_j(t)) ⊙ (Σ_{c: j→k} ∂net_k(t + d_c)/∂o_j(t) · δ_k(t + d_c) + ∂L/∂o_j(t))

that is δ_k · W_cᵀ (times the gate's output for a gated c) from every connection j feeds,
at the step it feeds, and δ_k ⊙ (o_src · W_c) from every connection j gates; then

    ∂L/∂W_c = Σ_t o_src(t − d_c)ᵀ · (δ_tgt(t) [⊙ o_gate(t − g_c)])      ∂L/∂b_j = Σ_t Σ_n δ_j(t)

and a learned initial state s_j gets ∂L/∂s_j = Σ_n Σ_{t<0} ∂L/∂o_j(t). (The loss:
:mod:`.sequence_data`; the layout: :mod:`.recurrent_layout`; the loops over time:
:mod:`.recurrent_loop`.) What makes it fast, the arrays a hand-written loop would use:

- only the groups on a recurrence run a step at a time; the groups before and after
  it run over all T·n rows at once, forward and backward, and so do the connections
  from the former into the loop;
- the buffers (net inputs, outputs, deltas of every group at every step, time-major,
  (H + T, n, units) with H rows of state first when there is one) are made once per
  shape and reused;
- connections sharing a source and a delay run as one product into side-by-side
  targets, and side-by-side groups with one elementwise transfer function run it once;
- an identity group's output is its net input (no copy); a fixed one-to-one connection
  of weight 1 passes its source on (no product);
- every weight gradient is one product over all T·n rows after the loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.errors import AnypropError, ShapeError
from anyprop.limits import check_bytes
from anyprop.nn.plan.compile import flat_layout, is_fused
from anyprop.nn.plan.recurrent_layout import LOOP, POST, PRE, Product, lay_out, phases, products
from anyprop.nn.plan.recurrent_loop import loop_backward, loop_forward
from anyprop.nn.plan.results import DEFAULT_OPTIONS, Options
from anyprop.nn.plan.sequence_data import (
    mask_of,
    prepare_sequences,
    sequence_loss,
    targets_of,
    weights_of,
)
from anyprop.nn.values import numbers

__all__ = ["LOOP", "POST", "PRE", "SequenceBackprop", "SequencePlan"]


@dataclass(slots=True)
class SequenceBackprop:
    """What one pass over sequences found. ``deltas``, ``nets`` and ``outputs`` are
    (sequences, steps, units) views of the plan's buffers (overwritten by the next pass);
    ``grads`` ∂L/∂θ by parameter name; ``mask`` the sample-steps the loss was taken on;
    ``state`` the state the pass leaves for the next chunk of the same sequences (each
    group's outputs at the last H steps, (sequences, H, units), copies)."""

    loss: float
    losses: dict[str, float]
    grads: dict[str, np.ndarray]
    deltas: dict[str, np.ndarray]
    nets: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    mask: np.ndarray
    state: dict[str, np.ndarray]


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
            k: [g for g in self.hidden if self.phase[g] == k] for k in (PRE, LOOP, POST)
        }
        self.products = products(network, self.order, self.phase)
        self.flat, _ = flat_layout(network, None, self.dtype)
        self.fused = {g: is_fused(self.groups[g]) for g in self.loss_groups}
        # identity groups (not fused with a loss): the output is the net input itself
        self.alias = {
            g
            for g in self.hidden
            if self.groups[g].transfer.name == "identity"
            and not self.groups[g].transfer.params
            and not self.fused.get(g, False)
        }
        layout = lay_out(self)
        self.bundles, self.placed = layout.bundles, layout.placed
        self.run_first, self.run_last, self.in_run = (
            layout.run_first,
            layout.run_last,
            layout.in_run,
        )
        self.into = {g: [p for p in self.products if p.first == g] for g in self.hidden}
        self.early = [p for p in self.products if p.early]
        # the state: the groups read at an earlier step, and how many steps back at most
        lags: dict[str, int] = {}
        for c in network.connections.values():
            for g, d in ((c.src, c.delay), (c.gate, c.gate_delay if c.gate else 0)):
                if d:
                    lags[g] = max(lags.get(g, 0), d)
        self.state_groups = [g for g in self.order if g in lags]
        self.history = max(lags.values(), default=0)
        self.learned = {
            g: self.groups[g].initial_param
            for g in self.state_groups
            if getattr(self.groups[g], "initial_param", None) is not None
        }
        self.shape = (-1, -1, -1)
        self.grads: Any = None

    # --- buffers ---------------------------------------------------------------
    def _buffers(self, steps: int, n: int, hist: int) -> None:
        """Net inputs, outputs and deltas of every group at every step (with ``hist``
        rows of state first), made when (T, n, H) changes; the gradients' storage once."""
        if (steps, n, hist) != self.shape:
            units = sum(self.groups[g].size for g in self.hidden)
            gated = sum(self.groups[p.first].size for p in self.products if p.gate)
            widest = max((p.width for p in self.products), default=0)
            cells = (steps + hist) * n * (3 * units + gated + widest)
            what = f"a pass over {n:,} sequences of {steps:,} steps ({units:,} units)"
            check_bytes(cells * self.dtype.itemsize, what)
            rows = steps + hist
            widths = [cols[-1][2] for cols in self.bundles]
            self.net_b = [np.zeros((rows, n, w), self.dtype) for w in widths]
            self.delta_b = [np.zeros((rows, n, w), self.dtype) for w in widths]
            self.net_p = [b[hist:] for b in self.net_b]  # the steps themselves
            self.delta_p = [b[hist:] for b in self.delta_b]
            full_n = {g: self._view(self.net_b, g) for g in self.hidden}
            self.full_d = {g: self._view(self.delta_b, g) for g in self.hidden}
            self.nets = {g: a[hist:] for g, a in full_n.items()}
            self.deltas = {g: a[hist:] for g, a in self.full_d.items()}
            full_o = {
                g: full_n[g]
                if g in self.alias
                else np.zeros((rows, n, self.groups[g].size), self.dtype)
                for g in self.hidden
            }
            self.run_outs: dict[tuple, np.ndarray] = {}
            for b, a, z in self.run_first.values():  # a run's outputs: one array
                buf = np.zeros((rows, n, z - a), self.dtype)
                self.run_outs[(b, a, z)] = buf[hist:]
                for name in self.in_run:
                    bb, aa, zz = self.placed[name]
                    if bb == b and a <= aa and zz <= z:
                        full_o[name] = buf[:, :, aa - a : zz - a]
            self.full_o = full_o
            self.outs = {g: a[hist:] for g, a in full_o.items()}
            self.run_scratch = {
                span: np.empty((n, span[2] - span[1]), self.dtype)
                for span in self.run_first.values()
                if self.groups[self._run_head(span)].transfer.needs_scratch
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
            self.shape = (steps, n, hist)
        if self.grads is None:
            self.grads = self.flat.grads()
        if self.network.params.version != self.flat.version:
            self.flat.rehome(self.network.params)

    def _run_head(self, span: tuple[int, int, int]) -> str:
        """The first group of a run."""
        return next(g for g, v in self.run_first.items() if v == span)

    def _view(self, arrays: list[np.ndarray], g: str) -> np.ndarray:
        b, a, z = self.placed[g]
        return arrays[b][:, :, a:z]

    # --- passes ----------------------------------------------------------------
    def prepare(self, data: Any, names: list[str], what: str) -> dict[str, np.ndarray]:
        """Inputs as time-major (steps, sequences, units) arrays by group, checked."""
        return prepare_sequences(self.groups, self.dtype, data, names, what)

    def forward(self, inputs: Any, state: Any = None) -> dict[str, np.ndarray]:
        """Every group's output, (sequences, steps, units) views of the plan's buffers."""
        xs = self.prepare(inputs, self.inputs, "input")
        self._forward(xs, state)
        return {g: a.transpose(1, 0, 2) for g, a in self.o.items()}

    def backprop(
        self,
        inputs: Any,
        targets: Any,
        mask: Any = None,
        sample_weight: Any = None,
        options: Options = DEFAULT_OPTIONS,
        state: Any = None,
    ) -> SequenceBackprop:
        """One forward and backward pass through time over whole sequences.

        ``targets``: (sequences, steps, units) for a loss at every step, or (sequences,
        units) (class indices: (sequences,)) for a loss at each sequence's last step
        (its last kept step under the mask). ``mask``: (sequences, steps) of 0/1.
        ``sample_weight``: one weight per sequence. ``state``: the state before the first
        step by group, (sequences, H, units) for every group of ``state_groups`` (what
        a previous pass returned as its ``state``); without it, zero or the groups'
        learned initial states. No gradient flows into a state given."""
        if not isinstance(options, Options):
            raise AnypropError(f"options must be an Options, got {type(options).__name__}")
        if options.atanh_error:
            raise AnypropError("atanh_error is not available over sequences")
        xs = self.prepare(inputs, self.inputs, "input")
        steps, n = next(iter(xs.values())).shape[:2]
        given = self._forward(xs, state)
        m = mask_of(mask, steps, n, self.dtype)
        ts, kept = targets_of(self.groups, self.loss_groups, self.dtype, targets, m, steps, n)
        weights = weights_of(sample_weight, n, self.dtype)
        total, losses, seeds = sequence_loss(self, ts, kept, weights, options)
        self._backward(seeds, options, given)
        view = lambda d: {g: a.transpose(1, 0, 2) for g, a in d.items()}  # noqa: E731
        return SequenceBackprop(
            total,
            losses,
            self.grads,
            view(self.deltas),
            view(self.nets),
            view(self.o),
            kept.T,
            self.final_state(),
        )

    def evaluate(
        self,
        inputs: Any,
        targets: Any,
        mask: Any = None,
        options: Options = DEFAULT_OPTIONS,
        state: Any = None,
    ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """(L, every group's outputs by sequence and step, the sample-steps the loss was
        taken on) without gradients."""
        xs = self.prepare(inputs, self.inputs, "input")
        steps, n = next(iter(xs.values())).shape[:2]
        self._forward(xs, state)
        m = mask_of(mask, steps, n, self.dtype)
        ts, kept = targets_of(self.groups, self.loss_groups, self.dtype, targets, m, steps, n)
        total = sequence_loss(self, ts, kept, None, options)[0]
        outs = {g: a.transpose(1, 0, 2) for g, a in self.o.items()}
        return total, outs, kept.T

    def final_state(self) -> dict[str, np.ndarray]:
        """The state the last pass leaves: each state group's outputs at its last H steps,
        (sequences, H, units) copies (zeros for steps before the first, if it had fewer)."""
        out = {}
        h = self.history
        for g in self.state_groups:
            full = self.of[g]  # (H' + T, n, units): any state given first
            rows = full[-h:] if len(full) >= h else full
            s = np.zeros((h, full.shape[1], full.shape[2]), self.dtype)
            s[h - len(rows) :] = rows
            out[g] = s.transpose(1, 0, 2).copy()
        return out

    def initial_state(self, n: int) -> dict[str, np.ndarray] | None:
        """The state before the first step when none is given: the learned initial states
        (each s_j at every one of the H steps before the first) and zeros elsewhere; None
        when every group starts from zero."""
        if not self.learned:
            return None
        h, params = self.history, self.network.params
        out = {}
        for g in self.state_groups:
            s = np.zeros((n, h, self.groups[g].size), self.dtype)
            if g in self.learned:
                s[...] = params[self.learned[g]]
            out[g] = s
        return out

    def _check_state(self, state: Any, n: int) -> dict[str, np.ndarray]:
        """A state given, checked: (sequences, H, units) by every state group."""
        h = self.history
        if not isinstance(state, Mapping):
            raise AnypropError(f"state must be a dict by group name, got {type(state).__name__}")
        odd = sorted(set(state) - set(self.state_groups))
        if odd:
            raise AnypropError(
                f"state for '{odd[0]}': it is not read at an earlier step; the state groups "
                f"are {', '.join(self.state_groups) or 'none'}"
            )
        out = {}
        for g in self.state_groups:
            if g not in state:
                raise AnypropError(f"state: no state given for group '{g}'")
            arr = numbers(state[g], f"state for group '{g}'", self.dtype, copy=False)
            want = (n, h, self.groups[g].size)
            if arr.shape != want:
                raise ShapeError(
                    f"state for group '{g}' has shape {arr.shape}: (sequences, steps before "
                    f"the first, units) must be {want}"
                )
            if not np.all(np.isfinite(arr)):
                raise AnypropError(f"the state for group '{g}' holds NaN or infinity")
            out[g] = arr
        return out

    # --- forward ---------------------------------------------------------------
    def _forward(self, xs: dict[str, np.ndarray], state: Any) -> bool:
        """The forward pass; whether a state was given (no gradient flows into it)."""
        steps, n = next(iter(xs.values())).shape[:2]
        given = state is not None
        state = self._check_state(state, n) if given else self.initial_state(n)
        hist = self.history if state is not None else 0
        self._buffers(steps, n, hist)
        self.hist = hist
        self.o = {**xs, **self.outs}  # every group's outputs at the steps
        self.of = dict(self.full_o)  # and with the state's rows first
        for g in self.inputs:
            if hist and g in state:
                self.of[g] = np.concatenate([state[g].transpose(1, 0, 2), xs[g]])
            elif hist:
                self.of[g] = np.concatenate([np.zeros((hist, *xs[g].shape[1:]), self.dtype), xs[g]])
            else:
                self.of[g] = xs[g]
        for g in self.hidden:
            if hist:
                self.full_o[g][:hist] = state[g].transpose(1, 0, 2) if g in state else 0
        params = self.network.params
        for b, cols in enumerate(self.bundles):  # the biases at every step, a bundle at once
            row = np.zeros(cols[-1][2], self.dtype)
            for g, a, z in cols:
                bias = self.groups[g].bias_param
                if bias is not None:
                    row[a:z] = params[bias]
            self.net_p[b][...] = row
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
        loop_forward(self, steps)
        for g in self.by_phase[POST]:
            self._group_all(g)
        return given

    def _group_all(self, g: str) -> None:
        """A group outside the loop, every step at once: its products, then f."""
        for p in self.into[g]:
            self._product_all(p)
        self._transfer_all(g)

    def _span(self, p: Product) -> tuple[int, int]:
        """(lo, hi): the product contributes at steps lo … T−1; its source is read at
        rows lo + H − d … of the full buffers (the gate at lo + H − g)."""
        steps, _, hist = self.shape
        return max(p.lo - hist, 0), steps

    def _product_all(self, p: Product) -> None:
        """A product's contributions at every step at once."""
        lo, steps = self._span(p)
        if lo >= steps:
            return
        n, hist, d = self.shape[1], self.hist, p.delay
        src = self.of[p.src][lo + hist - d : steps + hist - d]
        if p.ident:
            part = src
        else:
            rows = np.ascontiguousarray(src).reshape(-1, src.shape[2])
            part = rows @ self.w[id(p)] if p.merged else p.conns[0].forward(rows, self.w[id(p)])
            part = part.reshape(steps - lo, n, -1)
        if p.gate is not None:
            if not p.ident:
                self.contrib[id(p)][lo:] = part
            g0 = lo + hist - p.gate_delay
            part = part * self.of[p.gate][g0 : g0 + steps - lo]
        self.add(p, part, slice(lo, steps))

    def add(self, p: Product, part: np.ndarray, t: Any) -> None:
        """Add a product's output (its targets side by side) into their net inputs."""
        if p.bundle is not None:
            self.net_p[p.bundle][t, :, p.cols[0][1] : p.cols[-1][2]] += part
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

    # --- backward --------------------------------------------------------------
    def _backward(self, seeds: dict, options: Options, given: bool) -> None:
        deltas = self.deltas
        for b in self.delta_b:  # ∂L/∂o from the loss; then what the groups fed send back
            b.fill(0)
        for g, seed in seeds.items():
            if seed[0] == "out":
                deltas[g][...] = seed[1]
        self.fused_d = {g: s[1] for g, s in seeds.items() if s[0] == "fused"}
        self.offset = options.prime_offset
        for g in reversed(self.by_phase[POST]):
            self._delta_all(g)
            for p in self.into[g]:
                self._back_all(p)
        loop_backward(self)
        for p in self.early:
            self._back_all(p)
        for g in reversed(self.by_phase[PRE]):
            self._delta_all(g)
            for p in self.into[g]:
                self._back_all(p)
        self._weight_grads(given)

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
        lo, steps = self._span(p)
        if lo >= steps:
            return
        n, hist, d, inputs = self.shape[1], self.hist, p.delay, self.inputs
        s0 = lo + hist - d  # the source's first row
        if p.merged:
            if p.src in inputs:
                return
            if p.bundle is not None:
                dcat = self.delta_p[p.bundle][lo:, :, p.cols[0][1] : p.cols[-1][2]]
            else:
                dcat = np.concatenate([self.deltas[t][lo:] for t, *_ in p.cols], axis=2)
            rows = np.ascontiguousarray(dcat).reshape(-1, p.width)
            back = (rows @ self.w[id(p)].T).reshape(steps - lo, n, -1)
            self.full_d[p.src][s0 : s0 + steps - lo] += back
            return
        dc = self.deltas[p.first][lo:]
        if p.gate is not None:
            g0 = lo + hist - p.gate_delay
            gate_o = self.of[p.gate][g0 : g0 + steps - lo]
            if p.gate not in inputs:  # ∂net/∂o_gate = o_src · W
                made = self.of[p.src][s0 : s0 + steps - lo] if p.ident else self.contrib[id(p)][lo:]
                self.full_d[p.gate][g0 : g0 + steps - lo] += dc * made
            dc = dc * gate_o
        if p.src in inputs:
            return
        if p.ident:
            self.full_d[p.src][s0 : s0 + steps - lo] += dc
            return
        rows = np.ascontiguousarray(dc).reshape(-1, dc.shape[2])
        back = p.conns[0].backward(rows, self.w[id(p)])
        self.full_d[p.src][s0 : s0 + steps - lo] += back.reshape(steps - lo, n, -1)

    def _weight_grads(self, given: bool) -> None:
        """∂L/∂W_c = Σ_t o_src(t − d)ᵀ · δ_c(t), each one product over all T·n rows; a
        learned initial state's Σ of ∂L/∂o over the steps before the first."""
        grads, deltas, hist = self.grads, self.deltas, self.hist
        grads.flat[...] = 0
        for b, cols in enumerate(self.bundles):  # the biases' Σ_t Σ_n δ, a bundle at once
            biased = [(g, a, z) for g, a, z in cols if self.groups[g].bias_param is not None]
            if not biased:
                continue
            d = self.delta_p[b]
            sums = d.reshape(-1, d.shape[2]).sum(axis=0)
            for g, a, z in biased:
                grads[self.groups[g].bias_param][...] = sums[a:z]
        if hist and not given:
            for g, name in self.learned.items():
                if g in self.full_d and name in grads:
                    grads[name][...] = self.full_d[g][:hist].sum(axis=(0, 1))
        for p in self.products:
            lo, steps = self._span(p)
            if lo >= steps:
                continue
            s0 = lo + hist - p.delay
            o = self.of[p.src][s0 : s0 + steps - lo]
            o = np.ascontiguousarray(o).reshape(-1, o.shape[2])
            if p.merged and p.bundle is not None and all(c.trainable for c in p.conns):
                # the side-by-side targets' weights: one product, split by target
                d = self.delta_p[p.bundle][lo:, :, p.cols[0][1] : p.cols[-1][2]]
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
                    g0 = lo + hist - p.gate_delay
                    d = d * self.of[p.gate][g0 : g0 + steps - lo]
                d = np.ascontiguousarray(d).reshape(-1, d.shape[2])
                grads[c.param] += c.weight_grad(o, d)
