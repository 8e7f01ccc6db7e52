"""Dense connections: a full weight matrix between two groups."""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.nn.connections.base import Connection, connection_kind


@connection_kind("dense")
class Dense(Connection):
    """net_tgt += o_src · W with W of shape (source units, target units), so W[i, j] is
    the weight w_ij from source unit i to target unit j.

    Backward: g_src += δ · Wᵀ and ∂L/∂W = o_srcᵀ · δ. Shared transposed, the owner's
    matrix is read as Wᵀ (and the gradient δᵀ · o_src lands in the owner's shape).
    """

    layout = "source units, target units"

    def param_shape(self) -> tuple[int, ...]:
        return (self.shape[0], self.shape[1])

    def fans(self) -> tuple[float, float]:
        return float(self.shape[0]), float(self.shape[1])

    def unit_pairs(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        first, second = np.indices(shape)
        src, tgt = (second, first) if self.transpose else (first, second)
        return src.reshape(-1), tgt.reshape(-1), np.arange(src.size)

    @property
    def plain_dense(self) -> bool:  # type: ignore[override]
        return not self.transpose

    def operand(self, w: np.ndarray, cache: dict[str, Any]) -> np.ndarray:
        return w.T if self.transpose else w

    def forward(self, o: np.ndarray, op: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return o @ op if out is None else np.matmul(o, op, out=out)

    def backward(self, delta: np.ndarray, op: np.ndarray) -> np.ndarray:
        return delta @ op.T

    def weight_grad(self, o: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return delta.T @ o if self.transpose else o.T @ delta

    def on_tape(self, o: Any, w: Any) -> Any:
        return o @ (w.T if self.transpose else w)
