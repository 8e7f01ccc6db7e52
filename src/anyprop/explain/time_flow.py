"""How the deltas of a recurrent network fade or grow backwards in time.

For each group on a recurrence, the mean |δ_j(t)| over a batch at every step t of one
pass of backpropagation through time, with a loss at the last step only: the signal
that reaches step t from the error T − 1 − t steps later. A plain recurrent network's
deltas shrink by a roughly constant factor per step (the vanishing gradient, Hochreiter
1991; Bengio, Simard and Frasconi 1994); an LSTM's cell carries them (its forget gate
near 1 passes δ_c(t) = f(t+1) ⊙ δ_c(t+1) + ...).

>>> import numpy as np
>>> from anyprop import Network
>>> net = Network(seed=0, dtype="float64")
>>> _ = net.add_input("x", 1); _ = net.add_group("h", 8, transfer="tanh")
>>> _ = net.add_output("y", 1, transfer="identity", loss="mse")
>>> _ = net.connect("x", "h"); _ = net.connect("h", "h", delay=1); _ = net.connect("h", "y")
>>> flow = deltas_through_time(net, np.random.default_rng(0).normal(size=(16, 30, 1)))
>>> bool(flow["h"][0] < flow["h"][-1])  # fainter 29 steps back than at the error
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.nn.plan.recurrent import LOOP


def deltas_through_time(network: Any, inputs: Any, seed: int = 0) -> dict[str, np.ndarray]:
    """Mean |δ(t)| per step, for every group on a recurrence, from an error at the last
    step (targets drawn at random, N(0, 1), for every output with a loss)."""
    plan = network.sequence_plan()
    loop = [g for g, phase in plan.phase.items() if phase == LOOP]
    if not loop:
        raise AnypropError(f"{network.name} has no recurrence: its deltas do not run in time")
    x = plan.prepare(inputs, plan.inputs, "input")
    n = next(iter(x.values())).shape[1]
    rng = np.random.default_rng(seed)
    targets = {}
    for g in plan.loss_groups:
        group = network.groups[g]
        if getattr(group.loss, "accepts_indices", False):
            targets[g] = rng.integers(0, group.size, size=n)
        else:
            targets[g] = rng.uniform(0.1, 0.9, size=(n, group.size))
    bp = plan.backprop(inputs, targets)
    return {g: np.abs(bp.deltas[g]).mean(axis=(0, 2)) for g in loop}
