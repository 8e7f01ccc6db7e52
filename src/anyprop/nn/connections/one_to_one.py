"""One-to-one connections: unit i of the source feeds unit i of the target alone."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from anyprop.errors import ShapeError
from anyprop.nn.connections.base import Connection, connection_kind


@connection_kind("one_to_one")
class OneToOne(Connection):
    """net_tgt += o_src ⊙ w, one weight per unit pair (i, i) (a diagonal matrix).

    Backward: g_src += δ ⊙ w and ∂L/∂w_i = Σ_n o_src[n, i] · δ[n, i]. The weights start
    at 1 unless an initialiser is named.
    """

    default_init: ClassVar[Any] = {"name": "constant", "value": 1.0}
    layout = "one per unit"

    def build(self, rng: np.random.Generator, where: str, **options: Any) -> None:
        super().build(rng, where, **options)
        n_src, n_tgt = self.shape
        if n_src != n_tgt:
            raise ShapeError(
                f"{where}: one_to_one needs groups of equal size, got '{self.src}' with "
                f"{n_src} units and '{self.tgt}' with {n_tgt}"
            )

    def param_shape(self) -> tuple[int, ...]:
        return (self.shape[0],)

    def fans(self) -> tuple[float, float]:
        return 1.0, 1.0

    def unit_pairs(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = np.arange(int(np.prod(shape)))
        return idx, idx, idx

    def forward(self, o: np.ndarray, op: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return o * op if out is None else np.multiply(o, op, out=out)

    def backward(self, delta: np.ndarray, op: np.ndarray) -> np.ndarray:
        return delta * op

    def weight_grad(self, o: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return np.einsum("nk,nk->k", o, delta)

    def on_tape(self, o: Any, w: Any) -> Any:
        return o * w
