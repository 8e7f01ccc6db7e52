"""The classic problems of the backpropagation papers, and a few small generators.

Rumelhart, Hinton and Williams (1986): XOR, parity, the encoder, symmetry.
Fahlman (1988): the encoder and its complement. Lang and Witbrock (1988): the
two spirals. Targets are 0/1 values for MSE-trained sigmoid outputs ("binary").
"""

from __future__ import annotations

import itertools

import numpy as np

from anyprop.data import DataError, Dataset
from anyprop.datasets.registry import dataset


def _bits(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


@dataset("xor")
def xor() -> Dataset:
    """Exclusive or: 4 patterns of 2 bits, target 1 when exactly one is on."""
    x = _bits(2)
    return Dataset(x, (x.sum(axis=1) % 2)[:, None], "xor", task="binary")


@dataset("parity", cells=lambda n: 2.0 ** min(n, 1000) * (n + 1))
def parity(n: int = 4) -> Dataset:
    """n-bit parity: all 2^n patterns, target 1 when an odd number of bits are on."""
    if not 1 <= n <= 16:
        raise DataError(f"parity: n must be between 1 and 16, got {n}")
    x = _bits(n)
    return Dataset(x, (x.sum(axis=1) % 2)[:, None], f"parity{n}", task="binary")


@dataset("encoder", cells=lambda n: 2 * n * n)
def encoder(n: int = 8) -> Dataset:
    """The N-M-N encoder: n one-hot patterns, each its own target (M is the hidden size)."""
    if n < 2:
        raise DataError(f"encoder: n must be at least 2, got {n}")
    x = np.eye(n)
    return Dataset(x, x.copy(), f"encoder{n}", task="binary")


@dataset("complement_encoder", cells=lambda n: 2 * n * n)
def complement_encoder(n: int = 8) -> Dataset:
    """Fahlman's complement encoder: patterns with every bit on but one, each its own target."""
    if n < 2:
        raise DataError(f"complement_encoder: n must be at least 2, got {n}")
    x = 1.0 - np.eye(n)
    return Dataset(x, x.copy(), f"complement_encoder{n}", task="binary")


@dataset("symmetry", cells=lambda n: 2.0 ** min(n, 1000) * (n + 1))
def symmetry(n: int = 6) -> Dataset:
    """Mirror symmetry: all 2^n patterns, target 1 when the pattern reads the same reversed."""
    if n < 2 or n % 2:
        raise DataError(f"symmetry: n must be an even number >= 2, got {n}")
    x = _bits(n)
    return Dataset(
        x, np.all(x == x[:, ::-1], axis=1).astype(float)[:, None], f"symmetry{n}", task="binary"
    )


@dataset("two_spirals", cells=lambda points: 2 * points * 3)
def two_spirals(points: int = 97) -> Dataset:
    """Lang and Witbrock's two spirals: 2 × 97 points, one spiral per class (target 1 or 0)."""
    i = np.arange(points)
    angle = i * np.pi / 16
    radius = 6.5 * (104 - i) / 104
    a = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    x = np.concatenate([a, -a])
    y = np.concatenate([np.ones(points), np.zeros(points)])[:, None]
    return Dataset(x, y, "two_spirals", ["x", "y"], task="binary")


@dataset("moons", cells=lambda n, **_: 3 * n)
def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles, n points with Gaussian noise: classes 0 and 1."""
    rng = np.random.default_rng(seed)
    k = n // 2
    t1, t2 = np.linspace(0, np.pi, k), np.linspace(0, np.pi, n - k)
    x = np.concatenate(
        [np.stack([np.cos(t1), np.sin(t1)], 1), np.stack([1 - np.cos(t2), 0.5 - np.sin(t2)], 1)]
    )
    x += noise * rng.standard_normal(x.shape)
    y = np.concatenate([np.zeros(k, dtype=np.int64), np.ones(n - k, dtype=np.int64)])
    return Dataset(x, y, "moons", ["x", "y"], labels=["0", "1"], task="classification")


@dataset("regression", cells=lambda n, **_: 3 * n)
def regression(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """y = sin(2·x₁) + x₂²/2 + noise, for x uniform in [−1.5, 1.5]²: a smooth regression."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (n, 2))
    y = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + noise * rng.standard_normal(n)
    return Dataset(x, y[:, None], "regression", ["x1", "x2"], ["y"], task="regression")
