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


#: the steps back from the error at which the table shows |δ|
STEPS_BACK = (0, 1, 2, 5, 10, 20, 50, 100)


def time_rows(flow: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Per recurrent group: mean |δ| at the steps back from the error (``STEPS_BACK``
    within the sequences' length), relative to its size at the error's step, and the
    factor per step back over the whole sequence, (|δ(0)| / |δ(T−1)|)^(1/(T−1))."""
    rows = []
    for g, d in flow.items():
        steps = len(d)
        last = float(d[-1])
        back = {k: float(d[steps - 1 - k]) for k in STEPS_BACK if k < steps}
        factor = None
        if steps > 1 and last > 0 and d[0] > 0:
            factor = float((d[0] / last) ** (1 / (steps - 1)))
        rows.append({"group": g, "at_error": last, "steps_back": back, "per_step": factor})
    return rows


def time_warnings(flow: dict[str, np.ndarray]) -> list[str]:
    """What the figures say, in words: deltas that vanish or explode backwards in time."""
    out = []
    for r in time_rows(flow):
        f, steps = r["per_step"], len(flow[r["group"]])
        if f is None:
            continue
        span = f ** (steps - 1)
        if span < 1e-3:
            out.append(
                f"vanishing through time: {r['group']}'s |δ| shrinks ×{f:.3g} per step back, "
                f"to {span:.1e} of its size {steps - 1} steps before the error (what reaches "
                "early steps is too faint to learn long dependencies)"
            )
        elif span > 1e3:
            out.append(
                f"exploding through time: {r['group']}'s |δ| grows ×{f:.3g} per step back, "
                f"{span:.1e} times its size {steps - 1} steps before the error (clip the "
                "gradients: --clip-norm)"
            )
    return out


def plot_through_time(flow: dict[str, np.ndarray], path: Any) -> None:
    """Each recurrent group's mean |δ(t)| against the steps before the error, on a log
    scale (matplotlib, an extra)."""
    from anyprop.explain.diagram import plain
    from anyprop.explain.flow import finish_log_plot
    from anyprop.train.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for g, d in flow.items():
        back = np.arange(len(d))[::-1]
        ax.plot(back, np.maximum(d, 1e-300), label=plain(g))
    ax.invert_xaxis()
    ax.set_xlabel("steps before the error")
    ax.set_ylabel("mean |δ(t)|")
    ax.set_title("how the deltas fade backwards in time (an error at the last step)")
    finish_log_plot(plt, fig, ax, path)
