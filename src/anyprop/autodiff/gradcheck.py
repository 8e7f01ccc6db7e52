"""Check the engine's gradients against central finite differences.

For a function f of tensors, the engine's gradient of the scalar
s = Σ v ⊙ f(x) (v a fixed random direction; v = 1 for a scalar f) is compared,
element by element, with (s(x + εe) - s(x - εe)) / 2ε computed in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop.autodiff.tensor import Tensor, as_array, no_grad, resolve_dtype
from anyprop.errors import AnypropError


@dataclass
class InputCheck:
    """The comparison for one input: worst absolute and relative errors."""

    index: int
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    worst_element: tuple[int, ...] | None
    analytic: np.ndarray = field(repr=False)
    numeric: np.ndarray = field(repr=False)
    passed: bool = True


@dataclass
class GradcheckReport:
    """What :func:`gradcheck` found, input by input. True when every input passed."""

    inputs: list[InputCheck]
    eps: float
    atol: float
    rtol: float
    dtype: str

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.inputs)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        lines = [
            f"gradcheck ({self.dtype} gradients vs float64 central differences, eps={self.eps:g}, "
            f"atol={self.atol:g}, rtol={self.rtol:g})",
            f"{'input':>5}  {'shape':<14} {'max abs err':>12} {'max rel err':>12}  result",
        ]
        for c in self.inputs:
            lines.append(
                f"{c.index:>5}  {c.shape!s:<14} {c.max_abs_error:>12.3e} "
                f"{c.max_rel_error:>12.3e}  {'ok' if c.passed else 'FAIL'}"
            )
        lines.append("passed" if self.passed else "FAILED")
        return "\n".join(lines)


def _scalar(out: Any, direction: np.ndarray | None) -> Any:
    if not isinstance(out, Tensor):
        raise AnypropError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    if direction is None:
        return out.sum()
    return (out * direction).sum()


def gradcheck(
    f: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: Any = np.float64,
    wrt: Sequence[int] | None = None,
    seed: int = 0,
) -> GradcheckReport:
    """Compare the engine's gradient of ``f`` with central finite differences.

    ``inputs`` are arrays or tensors; the check differentiates with respect to
    those listed in ``wrt`` (all by default). The engine's gradient is computed
    in ``dtype`` (float64 by default; float32 checks the single-precision path
    with looser default tolerances), the finite differences always in float64.
    An element passes when |analytic - numeric| <= atol + rtol·|numeric|.

    >>> import numpy as np, anyprop
    >>> report = anyprop.gradcheck(lambda x: (x * x).tanh(), np.array([0.5, -1.0]))
    >>> report.passed
    True
    """
    if not callable(f):
        raise AnypropError(f"gradcheck() takes a function of tensors, got {type(f).__name__}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 1:
        raise AnypropError(f"gradcheck: eps must be a number in (0, 1), got {eps!r}")
    dt = resolve_dtype(dtype)
    if atol is None:
        atol = 1e-6 if dt == np.float64 else 2e-3
    if rtol is None:
        rtol = 1e-5 if dt == np.float64 else 2e-3
    base = [as_array(x, np.float64).copy() for x in inputs]
    which = list(range(len(base))) if wrt is None else list(wrt)
    for i in which:
        if not 0 <= i < len(base):
            raise AnypropError(f"gradcheck: wrt index {i} is out of range for {len(base)} inputs")

    with no_grad():
        probe = f(*(Tensor(x) for x in base))
    if not isinstance(probe, Tensor):
        raise AnypropError(f"gradcheck: f must return a Tensor, got {type(probe).__name__}")
    direction = None
    if probe.size != 1:
        direction = np.random.default_rng(seed).uniform(0.5, 1.5, probe.shape)

    # Analytic gradient, in the requested dtype.
    tensors = [Tensor(x.astype(dt), requires_grad=i in which) for i, x in enumerate(base)]
    s = _scalar(f(*tensors), None if direction is None else direction.astype(dt))
    if not s.requires_grad:
        raise AnypropError("gradcheck: the output of f does not depend on any checked input")
    s.backward()

    def s_at(values: list[np.ndarray]) -> float:
        with no_grad():
            return float(_scalar(f(*(Tensor(v) for v in values)), direction).data)

    checks = []
    for i in which:
        x = base[i]
        analytic = tensors[i].grad
        analytic = np.zeros_like(x) if analytic is None else analytic.astype(np.float64)
        numeric = np.zeros_like(x)
        values = list(base)
        flat = x.reshape(-1)
        for j in range(flat.size):
            xp, xm = flat.copy(), flat.copy()
            xp[j] += eps
            xm[j] -= eps
            values[i] = xp.reshape(x.shape)
            fp = s_at(values)
            values[i] = xm.reshape(x.shape)
            fm = s_at(values)
            numeric.reshape(-1)[j] = (fp - fm) / (2 * eps)
        err = np.abs(analytic - numeric)
        # relative to the larger magnitude, floored at atol so that zeros do not blow it up
        rel = err / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), atol)
        ok = bool(np.all(err <= atol + rtol * np.abs(numeric)))
        worst = tuple(int(k) for k in np.unravel_index(np.argmax(err), x.shape)) if x.size else None
        checks.append(
            InputCheck(
                index=i,
                shape=x.shape,
                max_abs_error=float(err.max(initial=0.0)),
                max_rel_error=float(rel.max(initial=0.0)),
                worst_element=worst,
                analytic=analytic,
                numeric=numeric,
                passed=ok,
            )
        )
    return GradcheckReport(checks, eps=eps, atol=atol, rtol=rtol, dtype=str(dt))
