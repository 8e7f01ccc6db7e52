"""Several networks of one shape run as one: the dense fast path with a leading axis.

S networks that differ only in their weights (the seeds of one problem, say) take
their steps together: every array of :mod:`.dense` gains a leading axis of the S
networks, so that each product is one stacked ``matmul`` over the S pairs::

    net_j[s] = o_i[s] · W_ij[s] + b_j[s]                    (S, batch, units)
    δ_j[s] = f'_j(net_j[s]) ⊙ Σ_k δ_k[s] · W_jk[s]ᵀ        ∂L/∂W_ij[s] = o_i[s]ᵀ · δ_j[s]

and the transfer functions and losses, which work row by row, see the S batches as
one batch of S × batch rows. NumPy's stacked ``matmul`` calls the same BLAS product
for each pair as a single network's pass does, and the row-wise functions compute
each row as they would alone, so network s's numbers are those of its own pass.
The trainable weights of network s are row s of one (S, P) array in the plan's
flat layout, and its gradients row s of another: an elementwise update rule runs
once over all of them (:mod:`anyprop.train.stacked`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.limits import check_bytes
from anyprop.nn.plan.compile import fused_steepness
from anyprop.nn.plan.dense import incoming
from anyprop.nn.plan.results import DEFAULT_OPTIONS, Options


def _signature(plan: Any) -> tuple:
    """What must agree for two plans to run stacked: the steps, their transfer functions
    and connections, the flat layout with its shapes, the losses and the dtype."""
    steps = tuple(
        (s.name, s.size, repr(s.transfer), s.bias, s.dense, s.fused_forward is not None)
        for s in plan.steps
    )
    losses = tuple(
        (g, repr(plan.groups[g].loss), plan.groups[g].loss_weight) for g in plan.loss_groups
    )
    return steps, plan.flat.layout, tuple(plan.flat.shapes.items()), losses, str(plan.dtype)


def unstackable(plans: list[Any]) -> str | None:
    """Why these plans cannot run stacked (None: they can)."""
    first = plans[0]
    if not first.dense_only:
        return "the network has connections other than dense ones"
    if not first.flat_complete:
        return "some weights lie outside the flat layout"
    sig = _signature(first)
    if any(_signature(p) != sig for p in plans[1:]):
        return "the networks differ in shape"
    return None


def _stacked_view(flat: np.ndarray, span: tuple[int, int], shape: tuple) -> np.ndarray:
    """Columns ``span`` of the (S, P) array ``flat`` as an (S, *shape) view (never a copy:
    assigning the shape raises rather than copy)."""
    view = flat[:, span[0] : span[1]]
    view.shape = (flat.shape[0], *shape)
    return view


class StackedPlan:
    """The passes of S networks with one plan's shape (:func:`unstackable` says which
    can), over S batches of one size at a time."""

    def __init__(self, plans: list[Any]) -> None:
        why = unstackable(plans)
        if why is not None:
            raise AnypropError(f"these networks cannot be trained stacked: {why}")
        plan = self.plan = plans[0]
        self.size = len(plans)
        self.dtype = plan.dtype
        self.networks = [p.network for p in plans]
        flat = plan.flat
        self.layout = flat.layout
        s = self.size
        check_bytes(3 * s * flat.size * self.dtype.itemsize, f"{s} networks stacked")
        #: row s: network s's trainable weights, in the plan's flat layout
        self.weights = np.empty((s, flat.size), self.dtype)
        self.grads = np.zeros_like(self.weights)
        for k, net in enumerate(self.networks):
            for name in self.layout:
                a, b = flat.spans[name]
                self.weights[k, a:b] = net.params[name].reshape(-1)
        self.params: dict[str, np.ndarray] = {}
        self.grad_views: dict[str, np.ndarray] = {}
        for name in self.layout:
            span, shape = flat.spans[name], flat.shapes[name]
            self.params[name] = _stacked_view(self.weights, span, shape)
            self.grad_views[name] = _stacked_view(self.grads, span, shape)
        for step in plan.steps:  # fixed weights: each network's own, stacked once
            for _src, par, *_ in step.dense:
                if par not in self.params:
                    self.params[par] = np.stack([n.params[par] for n in self.networks])
        # a bias (S, units) as (S, 1, units): added to every row of its network's batch
        self.bias = {
            st.bias: self.params[st.bias][:, None, :] for st in plan.steps if st.bias is not None
        }
        self.batch = -1

    def keep(self, rows: np.ndarray) -> None:
        """Go on with the networks at ``rows`` only (in that order)."""
        plans = [self.networks[k].plan() for k in rows]
        weights = self.weights[rows]
        self.__init__(plans)  # (views and buffers made again for the smaller stack)
        self.weights[...] = weights

    def write_back(self, rows: Any = None) -> None:
        """Put the stacked weights of the networks at ``rows`` (None: all) into their own
        parameters."""
        for k in range(self.size) if rows is None else rows:
            net = self.networks[k]
            for name in self.layout:
                net.params[name][...] = self.params[name][k]

    def _buffers(self, n: int) -> None:
        if n == self.batch:
            return
        plan, s, dt = self.plan, self.size, self.dtype
        units = sum(st.size for st in plan.steps)
        check_bytes(4 * s * n * max(units, 1) * dt.itemsize, f"{s} stacked passes of {n:,}")
        self.nets = {st.name: np.empty((s, n, st.size), dt) for st in plan.steps}
        self.outbuf = {st.name: np.empty((s, n, st.size), dt) for st in plan.steps}
        self.scratch = {
            st.name: np.empty((s, n, st.size), dt)
            for st in plan.steps
            if st.name in plan._needs_scratch
        }
        self.gacc = {g: np.empty((s, n, plan.groups[g].size), dt) for g in plan._receives}
        self.cache: dict[str, Any] = {}
        self.batch = n

    def forward(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every group's output, (S, n, units), for the S batches ``x`` (S, n, inputs)."""
        plan = self.plan
        s, n = x.shape[0], x.shape[1]
        self._buffers(n)
        params, nets, matmul = self.params, self.nets, np.matmul
        outs = {plan.inputs[0]: x}
        for step in plan.steps:
            net = nets[step.name]
            dense = step.dense
            matmul(outs[dense[0][0]], params[dense[0][1]], out=net)
            if len(dense) > 1:
                tmp = self.scratch[step.name]
                for src, par, *_ in dense[1:]:
                    matmul(outs[src], params[par], out=tmp)
                    net += tmp
            if step.bias is not None:
                net += self.bias[step.bias]
            rows = net.reshape(s * n, step.size)  # row-wise functions: S·n rows
            if step.fused_forward is not None:
                out, self.cache[step.name] = step.fused_forward(rows)
            else:
                out = step.transfer.forward_into(rows, self.outbuf[step.name].reshape(rows.shape))
            if out.dtype != self.dtype:
                out = out.astype(self.dtype)
            outs[step.name] = out.reshape(s, n, step.size)
        return outs

    def loss(
        self,
        outs: dict[str, np.ndarray],
        targets: np.ndarray | dict[str, np.ndarray],
        options: Options = DEFAULT_OPTIONS,
        values: bool = False,
    ) -> tuple[np.ndarray | None, dict[str, tuple], float]:
        """(each network's L, or None unless ``values``; each output group's ('fused', δ)
        or ('out', ∂L/∂o), (S, n, units); Σ_groups of the loss summed over every network,
        non-finite when any network's is) for ``targets`` (S, n, target columns), or by
        output group, as :func:`anyprop.nn.plan.loss.output_loss` gives them for one
        network. Each network's L is computed by the same calls on its own rows as its
        own pass makes, so that it is that pass's L exactly."""
        plan = self.plan
        s, n = self.size, self.batch
        per_sample = 1.0 if options.reduction == "sum" else 1.0 / n
        if isinstance(targets, dict):  # by output group, each (S, n, units)
            by_group = plan.targets({k: v.reshape(s * n, -1) for k, v in targets.items()})
        else:
            by_group = plan.targets(targets.reshape(s * n, -1))
        total = np.zeros(s) if values else None
        every = 0.0
        grads: dict[str, tuple] = {}
        for name in plan.loss_groups:
            g = plan.groups[name]
            t = g.loss.prepare_target(by_group[name], g.size, self.dtype)
            o = outs[name].reshape(s * n, g.size)
            fused = plan.fused(name)
            if fused:
                st = fused_steepness(g)
                net = self.nets[name].reshape(s * n, g.size)
                net = net if st == 1 else net * st
                cache = self.cache.get(name)
                value_sum, d = g.loss.fused_total(net, t, o, cache)
                if st != 1:
                    d *= st
            else:
                value_sum, d = g.loss.total(o, t)
            every += value_sum
            if total is not None:  # each network's rows through the same call
                for k in range(s):
                    rows = slice(k * n, (k + 1) * n)
                    if fused:
                        part = None if cache is None else tuple(c[rows] for c in cache)
                        v = g.loss.fused_total(net[rows], t[rows], o[rows], part)[0]
                    else:
                        v = g.loss.total(o[rows], t[rows])[0]
                    total[k] += g.loss_weight * (v * per_sample)
            d *= g.loss_weight * per_sample
            grads[name] = ("fused" if fused else "out", d.reshape(s, n, g.size))
        return total, grads, every

    def backward(
        self, outs: dict[str, np.ndarray], loss_grads: dict[str, tuple]
    ) -> dict[str, np.ndarray]:
        """Every group's deltas (S, n, units); the gradients land in :attr:`grads`."""
        plan = self.plan
        params, grads, nets = self.params, self.grad_views, self.nets
        gacc, scratch = self.gacc, self.scratch
        matmul, add_reduce = np.matmul, np.add.reduce
        deltas: dict[str, np.ndarray] = {}
        steps = plan.steps
        for i in range(len(steps) - 1, -1, -1):
            step = steps[i]
            name = step.name
            s, n, u = nets[name].shape
            lg = loss_grads.get(name)
            go = incoming(gacc.get(name), lg)
            if go is None:
                delta = lg[1] if lg is not None else np.zeros_like(nets[name])
            else:
                sc = scratch.get(name)
                try:
                    d2 = step.transfer.backward_into(
                        nets[name].reshape(s * n, u),
                        outs[name].reshape(s * n, u),
                        go.reshape(s * n, u),
                        None if sc is None else sc.reshape(s * n, u),
                    )
                except AnypropError as e:
                    raise type(e)(f"group '{name}': {e}") from None
                delta = d2.reshape(s, n, u)
                if lg is not None and lg[0] == "fused":
                    delta += lg[1]
            deltas[name] = delta
            if step.bias is not None:  # Σ over each network's batch
                add_reduce(delta, axis=1, out=grads[step.bias])
            for j, (src, par, first, trainable, src_input) in enumerate(step.dense):
                o = outs[src]
                if trainable:
                    if first:
                        matmul(o.swapaxes(1, 2), delta, out=grads[par])
                    else:
                        grads[par] += matmul(o.swapaxes(1, 2), delta)
                if src_input:
                    continue
                wt = params[par].swapaxes(1, 2)
                if plan.back_first[(i, j)]:
                    matmul(delta, wt, out=gacc[src])
                else:
                    tmp = scratch[src]
                    matmul(delta, wt, out=tmp)
                    gacc[src] += tmp
        return deltas

    def gather(self, outs: dict[str, np.ndarray]) -> np.ndarray:
        """The outputs laid out like the targets, (S, n, target columns)."""
        s, n = self.size, self.batch
        rows = {k: v.reshape(s * n, v.shape[-1]) for k, v in outs.items()}
        return self.networks[0].gather(rows).reshape(s, n, -1)
