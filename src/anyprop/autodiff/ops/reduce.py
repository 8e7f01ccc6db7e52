"""Reductions and the stable log-sum-exp family.

``axis`` may be None (all axes), an int or a tuple; ``keepdims`` as in NumPy.
Ties in max/min share the gradient equally among the tied elements (the
average of the subgradients), so the gradients of a reduction always sum to g.
"""

from __future__ import annotations

import numpy as np

from anyprop.autodiff.engine import primitive


def _expand(g, x, axis, keepdims):
    """Reshape the cotangent of a reduction so it broadcasts against ``x``."""
    if axis is None or keepdims:
        return g if keepdims or np.ndim(g) == x.ndim else np.reshape(g, (1,) * x.ndim)
    return np.expand_dims(g, axis)


def _count(x, axis):
    if axis is None:
        return x.size
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([x.shape[a] for a in axes]))


@primitive(name="sum")
def sum_(x, *, axis=None, keepdims=False):
    """Σ x over ``axis``; d/dx = 1 (the cotangent is broadcast back)."""
    out = np.sum(x, axis=axis, keepdims=keepdims)
    return out, lambda g: (np.broadcast_to(_expand(g, x, axis, keepdims), x.shape),)


@primitive
def mean(x, *, axis=None, keepdims=False):
    """mean of x over ``axis``; d/dx = 1/n for the n elements averaged."""
    out = np.mean(x, axis=axis, keepdims=keepdims)
    n = _count(x, axis)
    return out, lambda g: (np.broadcast_to(_expand(g, x, axis, keepdims) / n, x.shape),)


def _extremum(x, out, axis, keepdims):
    o = _expand(out, x, axis, keepdims)
    mask = (x == o).astype(x.dtype)
    share = mask / mask.sum(axis=axis, keepdims=True)
    return lambda g: (share * _expand(g, x, axis, keepdims),)


@primitive(name="max")
def max_(x, *, axis=None, keepdims=False):
    """max of x over ``axis``; d/dx = 1/k on each of the k tied maxima, else 0."""
    out = np.max(x, axis=axis, keepdims=keepdims)
    return out, _extremum(x, out, axis, keepdims)


@primitive(name="min")
def min_(x, *, axis=None, keepdims=False):
    """min of x over ``axis``; d/dx = 1/k on each of the k tied minima, else 0."""
    out = np.min(x, axis=axis, keepdims=keepdims)
    return out, _extremum(x, out, axis, keepdims)


@primitive
def logsumexp(x, *, axis=None, keepdims=False):
    """log Σ exp(x), computed as m + log Σ exp(x - m); d/dx = softmax(x)."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(x - m)
    s = np.sum(e, axis=axis, keepdims=True)
    out_k = np.log(s) + m
    out = out_k if keepdims else (out_k.reshape(()) if axis is None else np.squeeze(out_k, axis))
    return out, lambda g: ((e / s) * _expand(g, x, axis, keepdims),)


@primitive
def softmax(x, *, axis=-1):
    """y = exp(x) / Σ exp(x) along ``axis``; VJP: y ⊙ (g - Σ g ⊙ y)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    y = e / np.sum(e, axis=axis, keepdims=True)
    return y, lambda g: (y * (g - np.sum(g * y, axis=axis, keepdims=True)),)


@primitive
def log_softmax(x, *, axis=-1):
    """y = x - logsumexp(x) along ``axis``; VJP: g - softmax(x) ⊙ Σ g."""
    z = x - np.max(x, axis=axis, keepdims=True)
    y = z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    return y, lambda g: (g - np.exp(y) * np.sum(g, axis=axis, keepdims=True),)
