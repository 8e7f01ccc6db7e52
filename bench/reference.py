"""Hand-written NumPy references: the explicit delta rule for a layered network.

Preallocated buffers, ``out=`` everywhere it helps, plain SGD, float32, the loss
value computed as any training loop does. This is the practical limit for
NumPy: the same BLAS calls with as little as possible around them.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import special

FORWARD = {
    "tanh": lambda a, h: np.tanh(a, out=h),
    "relu": lambda a, h: np.maximum(a, 0, out=h),
    "sigmoid": lambda a, h: special.expit(a, out=h),
}


def derivative(kind: str, a: np.ndarray, h: np.ndarray, delta: np.ndarray) -> None:
    """delta *= f'(a), in place, f' from the output where cheaper."""
    if kind == "tanh":
        delta *= 1 - h * h
    elif kind == "relu":
        delta *= a > 0
    else:
        delta *= h * (1 - h)


class DenseReference:
    """sizes = [inputs, hidden..., outputs]; ``hidden`` units of one kind; the output is
    softmax with cross-entropy, or sigmoid with MSE (the ½ convention)."""

    def __init__(
        self,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        hidden: str,
        output: str,
        lr: float = 0.01,
    ) -> None:
        self.w = [w.copy() for w in weights]
        self.b = [b.copy() for b in biases]
        self.hidden, self.output, self.lr = hidden, output, lr
        self.n = -1

    def _alloc(self, n: int) -> None:
        dt = self.w[0].dtype
        self.a = [np.empty((n, w.shape[1]), dt) for w in self.w]
        self.h = [np.empty((n, w.shape[1]), dt) for w in self.w]
        self.d = [np.empty((n, w.shape[1]), dt) for w in self.w]
        self.gw = [np.empty_like(w) for w in self.w]
        self.gb = [np.empty_like(b) for b in self.b]
        self.n = n

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        n = x.shape[0]
        if n != self.n:
            self._alloc(n)
        last = len(self.w) - 1
        prev = x
        for k in range(last + 1):  # forward
            np.matmul(prev, self.w[k], out=self.a[k])
            self.a[k] += self.b[k]
            if k < last:
                FORWARD[self.hidden](self.a[k], self.h[k])
            prev = self.h[k]
        z, d = self.a[last], self.d[last]
        if self.output == "softmax":  # t: one-hot rows
            np.subtract(z, z.max(axis=1, keepdims=True), out=d)
            np.exp(d, out=d)
            d /= d.sum(axis=1, keepdims=True)
            loss = -float(np.log(np.maximum((d * t).sum(axis=1), 1e-30)).sum()) / n
            d -= t
            d /= n
        else:
            o = self.h[last]
            special.expit(z, out=o)
            np.subtract(o, t, out=d)
            loss = 0.5 * float(np.vdot(d, d)) / n
            d *= o * (1 - o)
            d /= n
        for k in range(last, -1, -1):  # backward, and the update as it goes
            inp = x if k == 0 else self.h[k - 1]
            np.matmul(inp.T, self.d[k], out=self.gw[k])
            np.add.reduce(self.d[k], axis=0, out=self.gb[k])
            if k > 0:
                np.matmul(self.d[k], self.w[k].T, out=self.d[k - 1])
                derivative(self.hidden, self.a[k - 1], self.h[k - 1], self.d[k - 1])
            self.gw[k] *= self.lr
            self.w[k] -= self.gw[k]
            self.gb[k] *= self.lr
            self.b[k] -= self.gb[k]
        return loss

    def gemm_only(self, x: np.ndarray, t: np.ndarray) -> None:
        """The step's matrix products alone: the bound no NumPy loop can beat."""
        n = x.shape[0]
        if n != self.n:
            self._alloc(n)
        last = len(self.w) - 1
        prev = x
        for k in range(last + 1):
            np.matmul(prev, self.w[k], out=self.a[k])
            prev = self.a[k]
        for k in range(last, -1, -1):
            inp = x if k == 0 else self.a[k - 1]
            np.matmul(inp.T, self.d[k], out=self.gw[k])
            if k > 0:
                np.matmul(self.d[k], self.w[k].T, out=self.d[k - 1])


def from_network(net, hidden: str, output: str, lr: float = 0.01) -> DenseReference:
    """The reference for a ``Network.layered`` network, starting from its weights."""
    names = list(net.order())
    ws, bs = [], []
    for src, tgt in itertools.pairwise(names):
        ws.append(net.params[f"{src}->{tgt}.weight"])
        bs.append(net.params[f"{tgt}.bias"])
    return DenseReference(ws, bs, hidden, output, lr)
