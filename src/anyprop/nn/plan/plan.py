"""The plan: a network compiled once into the generalized delta rule over whole batches.

Forward, group by group in topological order::

    net_j = Σ_c o_src(c) · W_c + b_j          o_j = f_j(net_j)

Backward, in reverse order, every group's delta is built from the deltas of the
groups it feeds, and every weight's gradient from its source's output::

    δ_j = f'_j(net_j) ⊙ (Σ_{c: j→k} δ_k · W_cᵀ + ∂L/∂o_j)      ∂L/∂W_c = o_srcᵀ · δ_tgt

(for softmax, f'⊙ is the Jacobian-transpose product). The stages live apart:
:mod:`.compile` (steps and layout), :mod:`.prepare` (inputs and targets),
:mod:`.loss`, :mod:`.dense` (the fast path of dense-only networks) and
:mod:`.general` (everything else). Net inputs, outputs and gradients live in
buffers reused while the batch size stays the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.limits import check_bytes
from anyprop.nn.plan import dense, general
from anyprop.nn.plan.compile import compile_steps, flat_layout, is_fused, merge_sparse
from anyprop.nn.plan.loss import output_loss
from anyprop.nn.plan.prepare import prepare, targets_by_group
from anyprop.nn.plan.results import DEFAULT_OPTIONS, Backprop, Options


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
        self.unit_map = network.units  # a network compiled from a unit list: its map, or None
        self.steps, self.offsets, self.units = compile_steps(network, self.order)
        self.block = merge_sparse(self.steps, self.groups, self.offsets, self.units, self.dtype)
        self.block_sources = {u.src for u in self.block.uses} if self.block is not None else set()
        self.flat, self.flat_complete = flat_layout(network, self.block, self.dtype)
        # the block works on its slice of the flat vectors when all its weights lie there
        self._block_names = (
            [u.param for u in self.block.uses]
            if self.block is not None and self.flat_complete and self.flat.layout
            else []
        )
        # (a fused pair need not have a fused forward: sigmoid with BCE fuses in the loss)
        self._fused = {s.name: is_fused(self.groups[s.name]) for s in self.steps}
        self.dense_only = self.block is None and all(step.simple for step in self.steps)
        # For the fast path: whether the product sent back along connection j of step i is
        # the first its source receives (written into the buffer, not added), and which
        # groups need a scratch buffer (sums of several sources, transfer functions that
        # ask for one, groups receiving more than one back-propagated product).
        self.back_first: dict[tuple[int, int], bool] = {}
        self._receives: set[str] = set()
        self._needs_scratch = {
            s.name for s in self.steps if len(s.dense) > 1 or s.transfer.needs_scratch
        }
        for i in range(len(self.steps) - 1, -1, -1):
            for j, (src, *_rest) in enumerate(self.steps[i].dense):
                if self.groups[src].is_input:
                    continue
                self.back_first[(i, j)] = src not in self._receives
                if src in self._receives:
                    self._needs_scratch.add(src)
                self._receives.add(src)
        self.cache: dict[str, Any] = {}  # a fused forward's values, for its loss
        self.operands: dict[str, Any] = {}  # connections' reusable operands (sparse matrices)
        self._in_units = self.groups[self.inputs[0]].size if len(self.inputs) == 1 else -1
        self.nets: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.ot: np.ndarray | None = None
        self.dt: np.ndarray | None = None
        self.batch = -1
        self._rows = 0  # the rows the buffers were made for (a smaller batch takes views)
        self._full: tuple = ({}, {}, {}, {})
        #: the compiled step (kernel.Kernel) the trainer chose for this plan, or None: the
        #: passes it takes (see Kernel.takes) run compiled, every other one in NumPy
        self.kernel: Any = None

    def fused(self, group: str) -> bool:
        """Whether the group's transfer function and loss run as one fused primitive."""
        return self._fused.get(group, False)

    def _buffers(self, n: int) -> None:
        """Buffers for a batch of ``n`` samples (made again only when ``n`` changes), the
        gradients' flat storage (made once) and the parameters as views into theirs."""
        if n != self.batch and self.block is None and 0 < n <= self._rows:
            # fewer rows than the buffers hold (an epoch's last batch): their first rows,
            # with no buffers made again, and none made again for the next full batch
            self.nets, self.outbuf, self.scratch, self.gacc = (
                sets if n == self._rows else {k: v[:n] for k, v in sets.items()}
                for sets in self._full
            )
            self.batch = n
        elif n != self.batch:
            # net inputs, outputs, scratch and gradients of every unit, plus the sparse
            # block's two unit-major copies: sized before they are made
            units = sum(s.size for s in self.steps)
            sets = 4 + (2 if self.block is not None else 0)
            what = f"a pass over {n:,} samples ({units:,} units)"
            check_bytes(sets * n * max(units, 1) * self.dtype.itemsize, what)
            self.nets = self.outbuf = self.scratch = self.gacc = {}  # (the old ones freed)
            self.nets = {s.name: np.empty((n, s.size), self.dtype) for s in self.steps}
            if self.dense_only:
                self.outbuf = {s.name: np.empty((n, s.size), self.dtype) for s in self.steps}
                self.scratch = {
                    s.name: np.empty((n, s.size), self.dtype)
                    for s in self.steps
                    if s.name in self._needs_scratch
                }
                self.gacc = {
                    g: np.empty((n, self.groups[g].size), self.dtype) for g in self._receives
                }
            self._full = (self.nets, self.outbuf, self.scratch, self.gacc)
            self._rows = n
            if self.block is not None:  # unit-major outputs and deltas for the sparse block
                self.ot = np.zeros((self.units, n), self.dtype)
                self.dt = np.zeros((self.units, n), self.dtype)
            self.batch = n
        if not self.grads:
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
            self.grads = grads
        params = self.network.params
        if params.version != self.flat.version:  # an array was replaced: make it a view again
            self.flat.rehome(params)

    def prepare(
        self, data: Any, names: list[str], what: str, check: bool = True
    ) -> dict[str, np.ndarray]:
        """Inputs as (samples, units) arrays of the network's dtype, checked."""
        return prepare(self.groups, self.dtype, data, names, what, check)

    def targets(self, targets: Any) -> Any:
        """Targets by output group (one array is the only loss group's, or is split by a
        unit map)."""
        return targets_by_group(self.loss_groups, self.unit_map, targets)

    # --- passes --------------------------------------------------------------------
    def forward(self, inputs: Any, check: bool = True) -> dict[str, np.ndarray]:
        """Every group's output for ``inputs``; net inputs are kept in the buffers."""
        if (  # the common case in a training loop: same input shape as the last step
            not check
            and type(inputs) is np.ndarray
            and inputs.shape[0] == self.batch
            and inputs.dtype == self.dtype
            and len(self.inputs) == 1
            and inputs.ndim == 2
            and inputs.shape[1] == self._in_units
            and self.grads
            and self.network.params.version == self.flat.version
        ):
            outs = {self.inputs[0]: inputs}
        else:
            outs = self.prepare(inputs, self.inputs, "input", check)
            self._buffers(next(iter(outs.values())).shape[0])
        (dense if self.dense_only else general).forward(self, outs)
        return outs

    def loss(
        self,
        inputs: Any,
        targets: Any,
        sample_weight: Any = None,
        options: Options = DEFAULT_OPTIONS,
    ) -> float:
        """L on a batch, without gradients."""
        return self.evaluate(inputs, targets, sample_weight, options)[0]

    def evaluate(
        self,
        inputs: Any,
        targets: Any,
        sample_weight: Any = None,
        options: Options = DEFAULT_OPTIONS,
        check: bool = True,
    ) -> tuple[float, dict[str, np.ndarray]]:
        """(L, every group's outputs) on a batch, without gradients (``check=False``
        skips the scan of the inputs for NaN, for data already checked once)."""
        outs = self.forward(inputs, check)
        return output_loss(self, outs, targets, sample_weight, options, need_grad=False)[0], outs

    def backprop(
        self,
        inputs: Any,
        targets: Any,
        sample_weight: Any = None,
        input_grads: bool = False,
        check: bool = True,
        options: Options = DEFAULT_OPTIONS,
    ) -> Backprop:
        """One forward and backward pass (see :class:`Backprop`)."""
        kernel = self.kernel
        if (
            kernel is not None
            and sample_weight is None
            and not input_grads
            and not check
            and kernel.takes(inputs, options)
        ):
            return kernel.backprop(inputs, targets, options)
        outs = self.forward(inputs, check)
        total, losses, loss_grads = output_loss(self, outs, targets, sample_weight, options)
        if self.dense_only and not input_grads and not options.prime_offset:
            deltas = dense.backward(self, outs, loss_grads)
            return Backprop(total, losses, self.grads, deltas, self.nets, outs, None)
        deltas, in_grads = general.backward(
            self, outs, loss_grads, input_grads, options.prime_offset
        )
        return Backprop(total, losses, self.grads, deltas, self.nets, outs, in_grads)
