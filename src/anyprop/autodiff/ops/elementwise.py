"""Elementwise primitives: forward and vector-Jacobian product side by side.

Each docstring gives the derivative. Broadcasting between the inputs is undone
by the engine, so a VJP returns cotangents of the broadcast output's shape.
Conventions at kinks: |x|'(0) = 0; maximum/minimum split the gradient equally
between tied inputs; clip passes the gradient where lo <= x <= hi (inclusive).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from anyprop.autodiff.engine import primitive


@primitive
def add(x, y):
    """x + y; d/dx = 1, d/dy = 1."""
    return x + y, lambda g: (g, g)


@primitive
def sub(x, y):
    """x - y; d/dx = 1, d/dy = -1."""
    return x - y, lambda g: (g, lambda: -g)


@primitive
def mul(x, y):
    """x * y; d/dx = y, d/dy = x."""
    return x * y, lambda g: (lambda: g * y, lambda: g * x)


@primitive
def div(x, y):
    """x / y; d/dx = 1/y, d/dy = -x/y**2 = -out/y."""
    out = x / y
    return out, lambda g: (lambda: g / y, lambda: -g * out / y)


@primitive
def neg(x):
    """-x; d/dx = -1."""
    return -x, lambda g: (-g,)


@primitive(name="pow")
def pow_(x, p):
    """x ** p with a tensor exponent; d/dx = p * x**(p-1), d/dp = x**p * log(x).

    d/dp is taken as 0 where x <= 0 (its limit at x = 0 for p > 0; x**p is not
    real for x < 0 and non-integer p).
    """
    out = x**p

    def d_p(g):
        safe = np.where(x > 0, x, 1)
        return g * out * np.where(x > 0, np.log(safe), 0)

    return out, lambda g: (lambda: g * p * x ** (p - 1), lambda: d_p(g))


@primitive
def powc(x, *, p):
    """x ** p with a constant exponent p; d/dx = p * x**(p-1) (0 for p = 0, even at x = 0)."""
    if p == 0:
        return np.ones_like(x), lambda g: (np.zeros_like(g),)
    if p == 2:
        return x * x, lambda g: (g * 2 * x,)
    return x**p, lambda g: (g * p * x ** (p - 1),)


@primitive
def exp(x):
    """exp(x); d/dx = exp(x), computed from the output."""
    y = np.exp(x)
    return y, lambda g: (g * y,)


@primitive
def log(x):
    """log(x); d/dx = 1/x."""
    return np.log(x), lambda g: (g / x,)


@primitive
def log1p(x):
    """log(1 + x), accurate for small x; d/dx = 1/(1 + x)."""
    return np.log1p(x), lambda g: (g / (1 + x),)


@primitive
def expm1(x):
    """exp(x) - 1, accurate for small x; d/dx = exp(x) = out + 1."""
    y = np.expm1(x)
    return y, lambda g: (g * (y + 1),)


@primitive
def sqrt(x):
    """sqrt(x); d/dx = 1 / (2 sqrt(x)), computed from the output."""
    y = np.sqrt(x)
    return y, lambda g: (g / (2 * y),)


@primitive(name="abs")
def abs_(x):
    """|x|; d/dx = sign(x), with the convention |x|'(0) = 0."""
    return np.abs(x), lambda g: (g * np.sign(x),)


@primitive
def tanh(x):
    """tanh(x); d/dx = 1 - tanh(x)**2, computed from the output."""
    y = np.tanh(x)
    return y, lambda g: (g * (1 - y * y),)


@primitive
def sigmoid(x):
    """σ(x) = 1 / (1 + exp(-x)), stable for large |x|; d/dx = σ(x)(1 - σ(x))."""
    y = special.expit(x)
    return y, lambda g: (g * y * (1 - y),)


@primitive
def softplus(x):
    """log(1 + exp(x)), stable for large |x|; d/dx = σ(x)."""
    return np.logaddexp(0, x), lambda g: (g * special.expit(x),)


@primitive
def erf(x):
    """erf(x); d/dx = 2/sqrt(π) · exp(-x²)."""
    c = 2 / np.sqrt(np.pi)
    return special.erf(x), lambda g: (g * (c * np.exp(-x * x)),)


@primitive
def sin(x):
    """sin(x); d/dx = cos(x)."""
    return np.sin(x), lambda g: (g * np.cos(x),)


@primitive
def cos(x):
    """cos(x); d/dx = -sin(x)."""
    return np.cos(x), lambda g: (-g * np.sin(x),)


def _tie_split(x, y, pick_x):
    """Weights for the first operand of maximum/minimum: 1, 0, or 0.5 at ties."""
    return np.where(x == y, 0.5, pick_x).astype(np.result_type(x, y), copy=False)


@primitive
def maximum(x, y):
    """max(x, y) elementwise; the gradient goes to the larger, split 0.5/0.5 at ties."""
    w = _tie_split(x, y, x > y)
    return np.maximum(x, y), lambda g: (lambda: g * w, lambda: g * (1 - w))


@primitive
def minimum(x, y):
    """min(x, y) elementwise; the gradient goes to the smaller, split 0.5/0.5 at ties."""
    w = _tie_split(x, y, x < y)
    return np.minimum(x, y), lambda g: (lambda: g * w, lambda: g * (1 - w))


@primitive(name="where")
def where_(x, y, *, cond):
    """cond ? x : y elementwise; d/dx = cond, d/dy = not cond."""
    cond = np.asarray(cond, dtype=bool)
    return np.where(cond, x, y), lambda g: (
        lambda: np.where(cond, g, 0),
        lambda: np.where(cond, 0, g),
    )


@primitive
def clip(x, *, lo=None, hi=None):
    """x clipped to [lo, hi]; d/dx = 1 where lo <= x <= hi (inclusive), else 0."""
    if lo is None and hi is None:
        return x.copy(), lambda g: (g,)
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return np.clip(x, lo, hi), lambda g: (np.where(inside, g, 0),)


@primitive
def cast(x, *, dtype):
    """x converted to another float dtype; d/dx = 1 (cast back by the engine)."""
    return x.astype(dtype), lambda g: (g,)
