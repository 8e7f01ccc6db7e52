"""Initial weights: a registry of schemes, each drawing from a caller's Generator.

Every initialiser is ``fn(rng, shape, fan_in, fan_out, dtype, **params) -> ndarray``, drawing
directly in ``dtype`` (float32 weights need no float64 temporaries);
``fan_in`` is the number of connections into a target unit (for a sparse
connection, the mean), ``fan_out`` the number out of a source unit.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.limits import check_bytes
from anyprop.registry import Registry

Initializer = Callable[..., np.ndarray]

#: Every initialiser, by name.
INITIALIZERS: Registry[Initializer] = Registry("initialiser")
_init = INITIALIZERS.entry


def _uniform(rng: np.random.Generator, r: float, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """U(-r, r) drawn directly in ``dtype``."""
    a = rng.random(shape, dtype=dtype)
    a *= 2 * r
    a -= r
    return a


def _normal(rng: np.random.Generator, std: float, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """N(0, std²) drawn directly in ``dtype``."""
    a = rng.standard_normal(shape, dtype=dtype)
    a *= std
    return a


@_init("uniform")
def uniform(rng, shape, fan_in, fan_out, dtype, r: float = 0.5):
    """U(-r, r); the classic papers' choice (Rumelhart, Hinton and Williams: r = 0.5)."""
    return _uniform(rng, r, shape, dtype)


@_init("normal")
def normal(rng, shape, fan_in, fan_out, dtype, std: float = 0.01):
    """N(0, std²)."""
    return _normal(rng, std, shape, dtype)


@_init("glorot_uniform", "xavier_uniform")
def glorot_uniform(rng, shape, fan_in, fan_out, dtype, gain: float = 1.0):
    """U(±gain·√(6/(fan_in + fan_out))) (Glorot and Bengio 2010)."""
    return _uniform(rng, gain * math.sqrt(6.0 / (fan_in + fan_out)), shape, dtype)


@_init("glorot_normal", "xavier_normal")
def glorot_normal(rng, shape, fan_in, fan_out, dtype, gain: float = 1.0):
    """N(0, gain²·2/(fan_in + fan_out))."""
    return _normal(rng, gain * math.sqrt(2.0 / (fan_in + fan_out)), shape, dtype)


@_init("he_uniform", "kaiming_uniform")
def he_uniform(rng, shape, fan_in, fan_out, dtype):
    """U(±√(6/fan_in)) (He et al. 2015), for relu units."""
    return _uniform(rng, math.sqrt(6.0 / fan_in), shape, dtype)


@_init("he_normal", "kaiming_normal")
def he_normal(rng, shape, fan_in, fan_out, dtype):
    """N(0, 2/fan_in)."""
    return _normal(rng, math.sqrt(2.0 / fan_in), shape, dtype)


@_init("lecun_uniform")
def lecun_uniform(rng, shape, fan_in, fan_out, dtype):
    """U(±√(3/fan_in)) (LeCun et al. 1998)."""
    return _uniform(rng, math.sqrt(3.0 / fan_in), shape, dtype)


@_init("lecun_normal")
def lecun_normal(rng, shape, fan_in, fan_out, dtype):
    """N(0, 1/fan_in)."""
    return _normal(rng, math.sqrt(1.0 / fan_in), shape, dtype)


@_init("nguyen_widrow")
def nguyen_widrow(rng, shape, fan_in, fan_out, dtype):
    """Nguyen and Widrow (1990), as in FANN: each target unit's incoming weights,
    drawn from U(-0.5, 0.5), are scaled to norm β = 0.7·fan_out^(1/fan_in)... with
    fan_out here the number of target units (the hidden layer's size)."""
    if len(shape) != 2:
        raise AnypropError("nguyen_widrow needs a dense connection (a weight matrix)")
    w = rng.uniform(-0.5, 0.5, shape)
    beta = 0.7 * shape[1] ** (1.0 / shape[0])
    norms = np.linalg.norm(w, axis=0, keepdims=True)
    return beta * w / np.maximum(norms, 1e-12)


@_init("orthogonal")
def orthogonal(rng, shape, fan_in, fan_out, dtype, gain: float = 1.0):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al.)."""
    if len(shape) != 2:
        raise AnypropError("orthogonal needs a dense connection (a weight matrix)")
    rows, cols = shape
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return gain * (q if rows >= cols else q.T)[:rows, :cols]


@_init("zeros")
def zeros(rng, shape, fan_in, fan_out, dtype):
    """All zero (the default for biases)."""
    return np.zeros(shape, dtype)


@_init("constant")
def constant(rng, shape, fan_in, fan_out, dtype, value: float = 0.0):
    """All equal to ``value``."""
    return np.full(shape, float(value), dtype)


#: the parameters of initialisers that are a spread or a gain: never negative
_SCALES = ("r", "std", "gain", "scale")


@functools.cache
def _options(fn: Any) -> list[str]:
    """The options an initialiser takes (its keyword parameters)."""
    return [
        k
        for k, p in inspect.signature(fn).parameters.items()
        if p.kind is p.KEYWORD_ONLY
        or (p.default is not inspect.Parameter.empty and k not in ("rng", "shape"))
    ]


def make(
    spec: Any,
    rng: np.random.Generator,
    shape: tuple[int, ...],
    fan_in: float,
    fan_out: float,
    dtype: Any,
) -> np.ndarray:
    """Draw initial values for ``spec``: a name, or a table ``{name = ..., params}``."""
    params: dict[str, Any] = {}
    if isinstance(spec, dict):
        params = dict(spec)
        if "name" not in params:
            raise AnypropError(f"an initialiser table needs a 'name' key, got {sorted(params)}")
        spec = params.pop("name")
    fn = INITIALIZERS.get(spec)
    accepted = _options(fn)
    for key, value in params.items():  # (a number: NumPy would say it in its own terms)
        if key not in accepted:
            options = ", ".join(accepted) or "none"
            raise AnypropError(f"initialiser '{spec}' has no option '{key}' (options: {options})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise AnypropError(f"initialiser '{spec}': {key} must be a number, got {value!r}")
        if not -1e300 < value < 1e300:
            raise AnypropError(f"initialiser '{spec}': {key} must be finite, got {value!r}")
        if key in _SCALES and value < 0:  # (a spread or a gain; a constant may be < 0)
            raise AnypropError(f"initialiser '{spec}': {key} must be >= 0, got {value!r}")
    draw = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    # (the values drawn, and the weights made of them: twice the bytes at once)
    check_bytes(math.prod(shape) * 2 * np.dtype(dtype).itemsize, f"weights of shape {shape}")
    try:
        with np.errstate(all="ignore"):  # a huge spread: said below, in the user's terms
            values = np.asarray(fn(rng, shape, max(fan_in, 1), max(fan_out, 1), draw, **params))
            values = values.astype(dtype, copy=False)
    except TypeError as e:
        raise AnypropError(f"initialiser '{spec}': {e}") from None
    if not np.all(np.isfinite(values)):
        raise AnypropError(
            f"initialiser '{spec}' with {params} draws numbers too large for {np.dtype(dtype).name}"
        )
    return values
