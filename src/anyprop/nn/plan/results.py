"""What a pass is told (:class:`Options`) and what it finds (:class:`Backprop`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
