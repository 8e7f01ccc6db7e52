"""Shape primitives: reshape, transpose, broadcast, indexing, concatenate, stack."""

from __future__ import annotations

import numpy as np

from anyprop.autodiff.engine import primitive


@primitive
def reshape(x, *, shape):
    """x with a new shape; VJP: g reshaped back to x's shape."""
    return np.reshape(x, shape), lambda g: (np.reshape(g, x.shape),)


@primitive
def transpose(x, *, axes=None):
    """x with its axes permuted (reversed by default); VJP: the inverse permutation."""
    out = np.transpose(x, axes)
    inv = None if axes is None else tuple(np.argsort(axes))
    return out, lambda g: (np.transpose(g, inv),)


@primitive
def broadcast_to(x, *, shape):
    """x broadcast to ``shape``; VJP: g summed over the broadcast axes (by the engine)."""
    return np.broadcast_to(x, shape), lambda g: (g,)


def _is_advanced(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (list, np.ndarray)) for i in items)


@primitive
def getitem(x, *, index):
    """x[index] for slices, integers, and integer or boolean index arrays.

    VJP: g scattered into zeros of x's shape; repeated indices accumulate.
    """
    out = x[index]
    advanced = _is_advanced(index)

    def vjp(g):
        z = np.zeros(x.shape, dtype=np.result_type(x, g))
        if advanced:
            np.add.at(z, index, g)
        else:
            z[index] = g
        return (z,)

    return out, vjp


@primitive
def concatenate(*xs, axis=0):
    """Join tensors along an existing axis; VJP: g split at the same places."""
    out = np.concatenate(xs, axis=axis)
    cuts = np.cumsum([x.shape[axis] for x in xs])[:-1]
    return out, lambda g: tuple(np.split(g, cuts, axis=axis))


@primitive
def stack(*xs, axis=0):
    """Join tensors along a new axis; VJP: g sliced along that axis."""
    out = np.stack(xs, axis=axis)
    return out, lambda g: tuple(np.moveaxis(g, axis, 0))
