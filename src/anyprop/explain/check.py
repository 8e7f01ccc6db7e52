"""Whole-network gradient check: backpropagation against finite differences, in float64.

For every connection's weights and every group's biases, the gradient the plan
computes by the general rule is compared with central differences of the loss,
(L(w + ε) − L(w − ε)) / 2ε, on a few samples, in float64. Large parameters are
checked on a random subset of their elements (``per_parameter``).

Where a unit's net input sits on a kink of its transfer function (ReLU at 0, a
trained network's input of exact zeros meets one easily), the loss has two
one-sided slopes, (L(w + ε) − L(w))/ε and (L(w) − L(w − ε))/ε, and the central
difference is neither. Where the central difference disagrees, the check looks
again with steps 4, 16 and 64 times smaller: a kink near w leaves the smaller
step's difference smooth (it must then agree), a kink on w keeps its one-sided
slopes apart (the gradient must lie between them), and a sharp curve's slopes draw
together (so a wrong gradient still fails). Such an element passes when the
backpropagated gradient lies between the two slopes (the convention at the kink picks one), and is
counted in ``kinks``. (Units on kinks in two layers of one path, which needs exact
zeros in both, can still disagree: their conventions multiply.)

>>> from anyprop import Network
>>> import numpy as np
>>> net = Network.layered([2, 3, 1], transfer="tanh", seed=0)
>>> report = check_gradients(net, np.array([[0.5, -1.0]]), np.array([[1.0]]))
>>> report.passed
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.nn.values import numbers


@dataclass
class ParameterCheck:
    """The comparison for one parameter (a connection's weights or a group's biases)."""

    name: str
    kind: str  # "weights" or "biases"
    size: int
    checked: int
    max_abs_error: float
    max_rel_error: float
    passed: bool
    kinks: int = 0  # elements at a kink: one-sided slopes differ, the gradient between them


@dataclass
class CheckReport:
    """What :func:`check_gradients` found, parameter by parameter."""

    rows: list[ParameterCheck]
    tolerance: float
    samples: int
    eps: float

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "tolerance": self.tolerance,
            "samples": self.samples,
            "eps": self.eps,
            "parameters": [vars(r) for r in self.rows],
        }


def float64_copy(network: Any) -> Any:
    """The same network in float64, with the same weights (and unit map)."""
    return network.astype(np.float64)


def _rows(data: Any, n: int, dtype: Any = None) -> Any:
    """The first n samples of an array, or of each array of a dict by group name."""
    if isinstance(data, dict):
        return {k: _rows(v, n, dtype) for k, v in data.items()}
    arr = numbers(data, "the data") if dtype is None else numbers(data, "the data", dtype)
    if arr.ndim == 0:
        raise AnypropError(f"the data must be rows of samples, got one value ({arr.item()!r})")
    return arr[:n]


#: steps of the random sequences a recurrent network is checked on
RANDOM_STEPS = 5


def is_recurrent(network: Any) -> bool:
    """Whether the network runs over sequences only (delayed or gated connections)."""
    return any(c.delay or c.gate is not None for c in network.connections.values())


def random_batch(network: Any, samples: int = 4, seed: int = 0) -> tuple[Any, Any]:
    """Inputs and targets of the right shapes, drawn at random, for checking gradients
    where no data is given: inputs N(0, 1); targets that each output's loss takes (class
    indices for a loss of classes, values in (0, 1) for a binary one, ±1 for a hinge,
    positive rates for Poisson, N(0, 1) otherwise)."""
    network.validate()  # (inputs and outputs to draw for)
    rng = np.random.default_rng(seed)
    lead = (samples, RANDOM_STEPS) if is_recurrent(network) else (samples,)
    x = {g: rng.normal(size=(*lead, network.groups[g].size)) for g in network.inputs}
    y = {}
    for g in network.outputs:
        if network.groups[g].loss is None:
            continue
        group = network.groups[g]
        name, size = group.loss.name, group.size
        if getattr(group.loss, "accepts_indices", False):
            y[g] = rng.integers(0, size, size=(*lead, 1) if len(lead) > 1 else lead)
        elif name == "binary_cross_entropy":
            y[g] = rng.uniform(0.05, 0.95, size=(*lead, size))
        elif name == "hinge":
            y[g] = rng.choice([-1.0, 1.0], size=(*lead, size))
        elif name == "poisson":
            y[g] = rng.uniform(0.5, 3.0, size=(*lead, size))
        else:
            y[g] = rng.normal(size=(*lead, size))
    return (x if len(x) > 1 else next(iter(x.values()))), (
        y if len(y) > 1 else next(iter(y.values()))
    )


def check_gradients(
    network: Any,
    inputs: np.ndarray,
    targets: np.ndarray,
    samples: int = 4,
    eps: float = 1e-6,
    tolerance: float = 1e-5,
    per_parameter: int = 64,
    seed: int = 0,
    mask: Any = None,
) -> CheckReport:
    """Compare every parameter's backpropagated gradient with central differences.

    ``inputs`` and ``targets`` are as ``Network.backprop`` takes them (for a unit
    graph: arrays ordered as its inputs and outputs); the first ``samples`` rows
    are used. An element passes when |analytic − numeric| <= tolerance·max(1, |numeric|).
    Sequences ((samples, steps, units) inputs, targets as the plan over sequences takes
    them, and a ``mask``) are checked through time: backpropagation through time against
    central differences of the loss over the whole sequences.
    """
    if hasattr(network, "network") and hasattr(network, "predict"):  # a loaded model
        network = network.network
    if not hasattr(network, "astype") or not hasattr(network, "params"):
        raise AnypropError(f"check: give a network or a model, got {type(network).__name__}")
    for name, value, least in (("samples", samples, 1), ("per_parameter", per_parameter, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise AnypropError(f"check: {name} must be a whole number >= {least}, got {value!r}")
    for name, value in (("eps", eps), ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise AnypropError(f"check: {name} must be a number in (0, 1), got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise AnypropError(f"check: seed must be a whole number >= 0, got {seed!r}")
    if inputs is None or targets is None:
        raise AnypropError("check: give inputs and targets (random_batch(network) makes some)")
    net64 = float64_copy(network)
    inner = net64
    x_in = _rows(inputs, samples, np.float64)
    y_in = _rows(targets, samples)
    first = next(iter(x_in.values()), None) if isinstance(x_in, dict) else x_in
    if (first is not None and first.ndim == 3) or is_recurrent(
        network
    ):  # through time, on the plan over sequences
        m_in = None if mask is None else _rows(mask, samples)

        def loss() -> float:
            return inner.sequence_plan().evaluate(x_in, y_in, m_in)[0]

        bp = inner.sequence_plan().backprop(x_in, y_in, m_in)
    else:

        def loss() -> float:
            return inner.plan().loss(x_in, y_in)

        bp = inner.backprop(x_in, y_in)
    base = loss()
    analytic = {k: v.copy() for k, v in bp.grads.items()}
    rng = np.random.default_rng(seed)
    rows = []
    for name, grad in analytic.items():
        w = inner.params[name]
        flat = w.reshape(-1)
        k = flat.size if flat.size <= per_parameter else per_parameter
        idx = np.arange(flat.size) if k == flat.size else np.sort(rng.choice(flat.size, k, False))
        numeric, right, left = np.empty(k), np.empty(k), np.empty(k)
        for j, i in enumerate(idx):
            keep = flat[i]
            flat[i] = keep + eps
            up = loss()
            flat[i] = keep - eps
            down = loss()
            flat[i] = keep
            numeric[j] = (up - down) / (2 * eps)
            right[j], left[j] = (up - base) / eps, (base - down) / eps
        a = grad.reshape(-1)[idx]
        err = np.abs(a - numeric)
        rel = err / np.maximum(np.maximum(np.abs(a), np.abs(numeric)), 1e-8)
        allowed = tolerance * np.maximum(1.0, np.abs(numeric))
        good = err <= allowed
        # where the central difference disagrees, look closer with steps 4, 16 and 64
        # times smaller: a kink near w (but not on it) leaves the smaller step's central
        # difference smooth and equal to the gradient; a kink on w keeps the one-sided
        # slopes as far apart; a sharp curve's slopes draw together (by ε·L'')
        between = np.zeros(k, dtype=bool)
        for j in np.flatnonzero(~good):
            i, keep, gap = idx[j], flat[idx[j]], abs(right[j] - left[j])
            for power in (1, 2, 3):
                small = eps / 4**power
                flat[i] = keep + small
                up = loss()
                flat[i] = keep - small
                down = loss()
                flat[i] = keep
                r, l = (up - base) / small, (base - down) / small
                if abs(a[j] - (up - down) / (2 * small)) <= allowed[j]:
                    between[j] = True  # a kink near w: smooth at the smaller step
                    err[j] = abs(a[j] - (up - down) / (2 * small))
                    break
                if abs(r - l) > 0.5 * gap:  # a kink on w: the gradient one of its slopes
                    if min(l, r) - allowed[j] <= a[j] <= max(l, r) + allowed[j]:
                        between[j] = True
                        err[j] = min(abs(a[j] - l), abs(a[j] - r))
                    break
        rel = np.where(between, err / np.maximum(np.abs(a), 1e-8), rel)
        ok = bool(np.all(good | between))
        kind = "biases" if name.endswith(".bias") else "weights"
        rows.append(
            ParameterCheck(
                name.rsplit(".", 1)[0],
                kind,
                flat.size,
                k,
                float(err.max(initial=0.0)),
                float(rel.max(initial=0.0)),
                ok,
                int(between.sum()),
            )
        )
    n = len(next(iter(x_in.values()))) if isinstance(x_in, dict) else len(x_in)
    return CheckReport(rows, tolerance, n, eps)
