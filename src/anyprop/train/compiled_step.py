"""When a trainer's steps run compiled (anyprop.nn.plan.kernel) and when in NumPy.

``compile="never"``: NumPy always. ``"always"``: the compiled step from the first
step (an error names why where the network or the machine has none). ``"auto"``
(the default): the compiled step where it pays, decided once per run and the same
way every time, so that a run stays reproducible bit for bit: from the network and
the batch size, a model of each path's time per step (:func:`kernel.estimate`)
gives the time the compiled step saves; it is used when the steps of the run (as
``fit`` knows them) save more than loading the compiled code costs
(:data:`LOAD_SECONDS`), and a trainer stepped by hand switches to it at the step
where its savings so far would have paid for the load. The choice is kept in the
trainer's state: a resumed run goes on as it began. Both paths give the same step
up to the order of floating-point sums.
"""

from __future__ import annotations

import math
from typing import Any

from anyprop.errors import AnypropError

MODES = ("auto", "always", "never")
#: what loading the compiled code is reckoned to cost, in s (from the cache it takes
#: about 0.3 s; the first compile on a machine, about 20 s, is paid once)
LOAD_SECONDS = 1.0
#: the compiled step must be at least this much faster, by the model, to be chosen
MIN_GAIN = 1.3


class StepEngine:
    """The choice for one trainer: :meth:`begin` before every step sets its plan's
    kernel; :meth:`plan_run` (from ``fit``) decides for the run ahead."""

    def __init__(self, mode: str = "auto", use: bool | None = None) -> None:
        if mode not in MODES:
            raise AnypropError(f"compile must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.use: bool | None = use  # decided: compiled or not (None: not yet)
        self.plan: Any = None  # the plan the kernel is for (a changed network: afresh)
        self.kernel: Any = None
        self.reason = ""  # why the steps run as they do, in words
        self.load_seconds = 0.0
        self.steps = 0  # steps taken undecided (by hand, outside a planned run)
        self.pays_after: float | None = None  # steps after which the kernel has paid

    def _supported(self, plan: Any) -> str | None:
        from anyprop.nn.plan import kernel

        if not kernel.available():
            return "numba is not installed: pip install 'anyprop[fast]'"
        if plan.block is not None:  # a unit graph: its pairs' gradients compiled
            return kernel.pairs_unsupported(plan)
        return kernel.unsupported(plan)

    def _saving(self, plan: Any, n: int) -> float:
        """Seconds a compiled step saves, by the model (0 where it does not pay)."""
        from anyprop.nn.plan import kernel

        model = kernel.estimate_pairs if plan.block is not None else kernel.estimate
        numpy_s, compiled_s = model(plan, n)
        return numpy_s - compiled_s if numpy_s >= MIN_GAIN * compiled_s else 0.0

    def plan_run(self, plan: Any, n: int, steps: int) -> None:
        """Decide for a run of ``steps`` steps of batches of ``n`` (once per trainer)."""
        if self.use is not None or self.mode != "auto":
            return
        why = self._supported(plan)
        if why is not None:
            self.use, self.reason = False, f"NumPy ({why})"
            return
        saving = self._saving(plan, n)
        self.use = saving * steps >= LOAD_SECONDS
        if not self.use:
            self.reason = (
                "NumPy (the compiled step would not pay for itself in this run)"
                if saving
                else "NumPy (faster than the compiled step for this network)"
            )

    def begin(self, plan: Any, n: int) -> None:
        """Set ``plan`` up for a step on a batch of ``n``: its kernel on or off."""
        if self.mode == "never":
            self.use, self.reason = False, "NumPy (compile='never')"
        elif self.mode == "always" and not self.use:
            why = self._supported(plan)
            if why is not None:
                raise AnypropError(f"compile='always': this network has no compiled step: {why}")
            self.use = True
        elif self.use is None:  # stepped by hand: switch once the savings would have paid
            self._by_hand(plan, n)
        if not self.use:
            plan.kernel = None
            if plan.block is not None:
                plan.block.pairs = None
            return
        if self.kernel is None or self.plan is not plan:
            self._load(plan)
        if self.kernel is not None:
            self.kernel.attach(plan)

    def _by_hand(self, plan: Any, n: int) -> None:
        if self.pays_after is None:
            why = self._supported(plan)
            saving = 0.0 if why is not None else self._saving(plan, n)
            self.pays_after = LOAD_SECONDS / saving if saving else math.inf
            self.reason = f"NumPy ({why})" if why else "NumPy (too few steps yet to pay)"
        self.steps += 1
        if self.steps > self.pays_after:
            self.use = True

    def _load(self, plan: Any) -> None:
        from anyprop.nn.plan.kernel import Kernel, PairKernel, available

        if not available():  # (a run resumed on a machine without numba)
            self.use, self.reason = False, "NumPy (numba is not installed)"
            plan.kernel = None
            return
        import time

        t0 = time.perf_counter()
        kind = PairKernel if plan.block is not None else Kernel
        self.kernel, self.plan = kind(plan), plan
        self.load_seconds = time.perf_counter() - t0
        what = "compiled pairs' gradients" if kind is PairKernel else "compiled"
        self.reason = f"{what} (numba; ready in {self.load_seconds:.2f} s)"
