"""The connection base class and the registry of connection kinds.

A connection carries a source group's outputs into a target group's net input.
Each *kind* (dense, sparse, one-to-one, ...) is one subclass, registered by
name, that holds everything about that kind in one place: the shape of its
weight parameter, its fans for the initialisers, its forward contribution, its
backward (the deltas it sends to the source and its weight gradient), its form
on the tape, the unit pairs its weights join, and the keys it takes in a spec.

Every kind computes, for one batch (rows are samples)::

    forward:   net_tgt += o_src · W                     (W in the kind's form)
    backward:  g_src   += δ_tgt · Wᵀ                    ∂L/∂W = o_srcᵀ · δ_tgt

A connection may *share* another connection's weights (``share``), as they are
or transposed (``transpose``, an autoencoder's tied decoder); it then has the
owner's kind, no parameter of its own, and its gradient adds to the owner's.
With ``trainable=False`` the weights are fixed: they carry signals and deltas,
but never change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from anyprop.errors import NetworkError, ShapeError
from anyprop.nn.values import numbers
from anyprop.registry import Registry

#: Every connection kind, by name (``dense``, ``sparse``, ``one_to_one``).
KINDS: Registry[type[Connection]] = Registry("connection kind")


def connection_kind(name: str) -> Callable[[type[Connection]], type[Connection]]:
    """The class decorator that registers a connection kind under ``name``."""

    def deco(cls: type[Connection]) -> type[Connection]:
        cls.kind = name
        KINDS.register(name, cls)
        return cls

    return deco


class Connection(ABC):
    """One connection of a network; a subclass is one kind (see the module's docstring).

    ``shape`` is (source units, target units). ``param`` names the weight parameter
    it uses: ``"<connection>.weight"``, or its owner's when it shares.
    """

    kind: ClassVar[str] = "connection"
    #: the keyword options (``connect(..., pairs=...)``, spec keys) this kind takes
    options: ClassVar[tuple[str, ...]] = ()
    #: the initialiser used when none is named
    default_init: ClassVar[Any] = "glorot_uniform"
    #: how ``weights=`` must be laid out, for messages
    layout: ClassVar[str] = ""

    def __init__(
        self,
        name: str,
        src: str,
        tgt: str,
        trainable: bool = True,
        init: Any = None,
        share: str | None = None,
        transpose: bool = False,
        shape: tuple[int, int] | None = None,
    ) -> None:
        self.name, self.src, self.tgt = name, src, tgt
        self.trainable, self.init = bool(trainable), init
        self.share, self.transpose = share, bool(transpose)
        self.shape = shape
        self.explicit = False  # initial weights given by the user (kept by reinitialize)
        #: time steps the source's output is delayed by: net(t) takes o_src(t − delay);
        #: 0 is the same step (delayed connections may close cycles)
        self.delay = 0
        #: a group whose output multiplies the contribution unit by unit (sigma-pi):
        #: net(t) += o_gate(t − gate_delay) ⊙ (o_src(t − delay) · W); None for none
        self.gate: str | None = None
        self.gate_delay = 0

    @property
    def param(self) -> str:
        """The name of the weight parameter this connection uses (its owner's if shared)."""
        return f"{self.share or self.name}.weight"

    # --- structure ---------------------------------------------------------------
    def build(self, rng: np.random.Generator, where: str, **options: Any) -> None:
        """Set up the kind's own structure from its options (``pairs`` for sparse)."""
        if options:
            raise NetworkError(f"{where}: {self.kind} connections take no {sorted(options)[0]}=")

    def share_from(self, owner: Connection) -> None:  # noqa: B027 (most kinds need nothing)
        """Take the structure of the owner whose weights this connection shares."""

    @abstractmethod
    def param_shape(self) -> tuple[int, ...]:
        """The shape of the weight parameter this kind owns."""

    def check_weights(self, weights: Any, dtype: Any, where: str) -> np.ndarray:
        """Initial weights given by the user, as a fresh array of the parameter's shape."""
        w = numbers(weights, f"{where}: weights", dtype)
        if w.shape != self.param_shape():
            raise ShapeError(
                f"{where}: weights of shape {w.shape} do not fit: expected "
                f"{self.param_shape()} ({self.layout})"
            )
        if not np.all(np.isfinite(w)):
            raise NetworkError(f"{where}: the weights given contain NaN or infinity")
        return w

    @abstractmethod
    def fans(self) -> tuple[float, float]:
        """(fan-in, fan-out) for the initialisers: inputs per target unit, outputs per
        source unit."""

    def structure(self) -> dict[str, Any]:
        """The options that rebuild this connection's structure (for copies and specs)."""
        return {}

    def tags(self) -> list[str]:
        """Words for summaries beyond the kind (``4 pairs``)."""
        return []

    @abstractmethod
    def unit_pairs(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every weight as (source unit, target unit, index into the flattened weight
        parameter of the given ``shape``)."""

    # --- the rule -------------------------------------------------------------------
    #: True where the plan's fast path applies: net += o · W with W as stored
    plain_dense: ClassVar[bool] = False
    #: True where the plan may run several such connections into one group as one block
    mergeable: ClassVar[bool] = False

    def operand(self, w: np.ndarray, cache: dict[str, Any]) -> Any:
        """The weights in the form the products use (a view, a transpose, a sparse
        matrix); ``cache`` is the plan's, to keep what can be reused between steps."""
        return w

    @abstractmethod
    def forward(self, o: np.ndarray, op: Any, out: np.ndarray | None = None) -> np.ndarray:
        """The contribution o_src · W to the target's net input (into ``out`` if given)."""

    @abstractmethod
    def backward(self, delta: np.ndarray, op: Any) -> np.ndarray:
        """The gradient sent to the source's outputs: δ_tgt · Wᵀ."""

    @abstractmethod
    def weight_grad(self, o: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """∂L/∂W = o_srcᵀ · δ_tgt, in the shape of the (owner's) weight parameter."""

    @abstractmethod
    def on_tape(self, o: Any, w: Any) -> Any:
        """The forward contribution as anyprop ops on the engine's tape."""

    def __repr__(self) -> str:
        what = self.kind
        if self.shape is not None:
            what += f" {self.shape[0]} × {self.shape[1]}"
        what += "".join(f", {t}" for t in self.tags())
        if self.share:
            what += f", shares {self.share}" + (" transposed" if self.transpose else "")
        if not self.trainable:
            what += ", fixed"
        if self.delay:
            what += f", delay {self.delay}"
        if self.gate is not None:
            what += f", gated by {self.gate}" + (
                f" (delay {self.gate_delay})" if self.gate_delay else ""
            )
        return f"<connection {self.name}: {what}>"
