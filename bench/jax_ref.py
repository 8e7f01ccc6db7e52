"""JAX with jit on the same networks (optional: skipped when jax is absent).

Each training step is one call of a jitted function (forward, backward by
``jax.grad``, the SGD update), its result blocked on, so that every system is
timed doing the same thing: one step per call from Python. The parameters are
donated back to the step, as a jitted training loop does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np


def _jax():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_platforms", "cpu")
    return jax


def version() -> str | None:
    jax = _jax()
    return None if jax is None else f"jax {jax.__version__} (jit, CPU)"


def _params(net) -> list[tuple[np.ndarray, np.ndarray]]:
    names = net.order()
    return [
        (net.params[f"{src}->{tgt}.weight"].copy(), net.params[f"{tgt}.bias"].copy())
        for src, tgt in itertools.pairwise(names)
    ]


def _step_fn(hidden: str, output: str, lr: float):
    jax = _jax()
    jnp = jax.numpy
    act = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}[hidden]

    def loss(params, x, t):
        h = x
        for w, b in params[:-1]:
            h = act(h @ w + b)
        w, b = params[-1]
        z = h @ w + b
        if output == "softmax":  # t: one-hot rows
            return -jnp.mean(jnp.sum(t * jax.nn.log_softmax(z), axis=1))
        o = jax.nn.sigmoid(z)
        return 0.5 * jnp.sum((o - t) ** 2) / x.shape[0]

    def step(params, x, t):
        value, grads = jax.value_and_grad(loss)(params, x, t)
        new = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
        return new, value

    return jax.jit(step, donate_argnums=0)


def step(net, hidden: str, output: str, x: np.ndarray, t: np.ndarray, lr: float) -> Callable | None:
    """One jitted step on one batch, per call."""
    jax = _jax()
    if jax is None:
        return None
    fn = _step_fn(hidden, output, lr)
    state = [jax.device_put(_params(net))]
    xj, tj = jax.device_put(x), jax.device_put(t)

    def run() -> None:
        state[0], value = fn(state[0], xj, tj)
        value.block_until_ready()

    return run


def epoch(net, hidden: str, x: np.ndarray, y: np.ndarray, batch: int, lr: float) -> Callable | None:
    """An epoch of shuffled mini-batches, one jitted step per batch (a ragged last batch
    compiles once more, at the warm-up)."""
    jax = _jax()
    if jax is None:
        return None
    fn = _step_fn(hidden, "softmax", lr)
    state = [jax.device_put(_params(net))]
    onehot = np.eye(int(y.max()) + 1, dtype=x.dtype)[y]
    rng = np.random.default_rng(0)

    def run() -> None:
        order = rng.permutation(len(x))
        value = None
        for s in range(0, len(x), batch):
            idx = order[s : s + batch]
            state[0], value = fn(state[0], x[idx], onehot[idx])
        value.block_until_ready()

    return run
