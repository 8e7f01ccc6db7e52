"""The optimizer base: parameters in order, per-parameter state, one update rule.

An optimizer holds the network's parameter arrays by name (it updates them in
place) and, for each, its state (momentum, moments, step sizes...). A subclass
writes only :meth:`update`, the rule for one parameter, with its formula in the
docstring. ``state_dict()`` and ``load_state_dict()`` round-trip exactly.

Common options: ``weight_decay`` λ adds λ·w to every gradient (L2), ``clip_norm``
scales the gradients down so their global norm is at most that value, and
``lr_scale`` multiplies the learning rate of the parameters whose names match a
glob pattern (per-connection learning rates), e.g. ``{"x->h*": 0.1}``.
"""

from __future__ import annotations

import fnmatch
import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np

from anyprop.errors import AnypropError, UnknownNameError
from anyprop.registry import Registry, suggest

#: Every optimizer, by name (``sgd``, ``adam``, ...).
OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimizer")
optimizer = OPTIMIZERS.entry  # the decorator that registers an optimizer class


class Line(NamedTuple):
    """One line of an optimizer's arithmetic: a name, its formula, its value."""

    name: str
    formula: str
    value: float


class OptimizerError(AnypropError, ValueError):
    """An optimizer that cannot be made or used as asked."""


def _params_of(params: Any) -> tuple[Mapping[str, np.ndarray], list[str]]:
    """(the dict that holds the arrays, the names to train). The arrays are looked up by
    name at each step, so a network may re-home them (its plan does, for sparse blocks)."""
    if hasattr(params, "trainable"):
        return params.params, list(params.trainable())
    if isinstance(params, Mapping):
        return params, list(params)
    raise OptimizerError("an optimizer needs a Network or a dict of parameter arrays by name")


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """√(Σ g²) over every gradient array."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def clip_by_global_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale ``grads`` in place so that their global norm is at most ``max_norm``;
    return the norm before clipping."""
    norm = global_norm(grads)
    if norm > max_norm > 0:
        scale = max_norm / (norm + 1e-12)
        for g in grads.values():
            g *= scale
    return norm


class Optimizer(ABC):
    """Base class: holds parameters and state; subclasses give :meth:`update`."""

    name: str = "optimizer"
    #: True where weight decay shrinks the weights directly (AdamW) instead of adding λ·w to g
    decoupled_decay: ClassVar[bool] = False
    #: hyper-parameters and their defaults; each becomes an attribute
    defaults: ClassVar[dict[str, Any]] = {}
    #: names of the per-parameter state arrays, made as zeros of the parameter's shape
    state_names: ClassVar[tuple[str, ...]] = ()
    #: whether :meth:`update` is elementwise (each weight's step reads only its own
    #: gradient, weight and state, and the step count): then several networks' flat
    #: weights stacked as rows of one array take their steps as one (train/stacked.py)
    elementwise: ClassVar[bool] = True

    def __init__(
        self,
        params: Any,
        lr: float = 0.01,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        lr_scale: Mapping[str, float] | None = None,
        **hyper: Any,
    ) -> None:
        self._source, self.names = _params_of(params)
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            known = ", ".join(
                sorted({"lr", "weight_decay", "clip_norm", "lr_scale", *self.defaults})
            )
            first = sorted(unknown)[0]
            raise OptimizerError(
                f"optimizer '{self.name}' has no option '{first}'{suggest(first, self.defaults)} "
                f"(options: {known})"
            )
        self.hyper = {**self.defaults, **hyper}
        for k, v in self.hyper.items():
            setattr(self, k, v)
        self.lr = self._number("lr", lr, minimum=0.0)
        self.weight_decay = self._number("weight_decay", weight_decay, minimum=0.0)
        self.clip_norm = None if clip_norm is None else self._number("clip_norm", clip_norm, 0.0)
        if lr_scale is not None and not isinstance(lr_scale, Mapping):
            raise OptimizerError(
                f"lr_scale must map parameter patterns to factors, got {lr_scale!r:.60}"
            )
        self.lr_scale = dict(lr_scale or {})
        for pattern, factor in self.lr_scale.items():
            if not isinstance(pattern, str):
                raise OptimizerError(f"lr_scale's keys are name patterns, got {pattern!r}")
            self._number(f"lr_scale['{pattern}']", factor, minimum=0.0)
        self.scales = {name: self._scale_for(name) for name in self.params}
        for pattern in self.lr_scale:
            if not any(fnmatch.fnmatchcase(n, pattern) for n in self.params):
                hint = suggest(pattern, self.params)
                raise OptimizerError(f"lr_scale pattern '{pattern}' matches no parameter{hint}")
        self.state: dict[str, dict[str, np.ndarray]] = {
            name: {s: np.zeros_like(p) for s in self.state_names} for name, p in self.params.items()
        }
        self.steps = 0
        self.last_norm: float | None = None
        self._flat: tuple | None = None  # (flat weights, flat state, lr scale vector)
        self._scratch: dict[tuple, np.ndarray] = {}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The parameter arrays by name, as they are now."""
        src = self._source
        return {n: src[n] for n in self.names}

    CHUNK = 1 << 16

    def subtract_scaled(self, w: np.ndarray, g: np.ndarray, scale: Any) -> None:
        """w -= scale·g in place (scale a number, or an array like w), in chunks through a
        small scratch buffer: no temporary the size of the parameters, cache-friendly."""
        if g.size <= self.CHUNK or not (w.flags.c_contiguous and g.flags.c_contiguous):
            w -= scale * g  # (reshape would copy a non-contiguous array, losing the update)
            return
        wf, gf = w.reshape(-1), g.reshape(-1)
        sf = scale.reshape(-1) if isinstance(scale, np.ndarray) else scale
        buf = self.scratch(gf[: self.CHUNK])
        for i in range(0, gf.size, self.CHUNK):
            j = min(i + self.CHUNK, gf.size)
            part = buf[: j - i]
            np.multiply(gf[i:j], sf[i:j] if isinstance(sf, np.ndarray) else sf, out=part)
            wf[i:j] -= part

    def scratch(self, like: np.ndarray) -> np.ndarray:
        """A reusable buffer shaped like ``like``: an update rule's temporary without a fresh
        allocation (and its page faults) at every step."""
        key = (like.shape, like.dtype)
        buf = self._scratch.get(key)
        if buf is None:
            buf = self._scratch[key] = np.empty_like(like)
        return buf

    def _number(self, key: str, value: Any, minimum: float | None = None) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not abs(value) <= sys.float_info.max
        ):
            raise OptimizerError(
                f"optimizer '{self.name}': {key} must be a finite number, got {value!r}"
            )
        if minimum is not None and value < minimum:
            raise OptimizerError(
                f"optimizer '{self.name}': {key} must be >= {minimum}, got {value}"
            )
        return float(value)

    def _scale_for(self, name: str) -> float:
        scale = 1.0
        for pattern, factor in self.lr_scale.items():
            if fnmatch.fnmatchcase(name, pattern):
                scale = float(factor)
        return scale

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """Apply one update to every parameter from its gradient (arrays by name).

        When the gradients come as one flat array of the parameters this optimizer
        trains (as a network's plan gives them, in its layout's order), the rule runs
        once over all parameters.
        """
        flat = getattr(grads, "flat", None)
        if flat is not None and self._trains_all(grads.layout):
            self._step_flat(flat, grads.weights, grads.layout)
            return
        missing = [k for k in self.names if k not in grads]
        if missing:
            raise OptimizerError(f"no gradient for parameter '{missing[0]}'")
        gs = self._clipped([grads[k] for k in self.names])
        self.steps += 1
        src = self._source
        for name, g in zip(self.names, gs, strict=True):
            w = src[name]
            self.update(
                name, w, self.decayed_gradient(g, w), self.lr * self.scales[name], self.state[name]
            )

    def _trains_all(self, layout: tuple[str, ...]) -> bool:
        """Whether a flat layout holds exactly the parameters this optimizer trains, in
        its order or another (a unit graph's plan puts its sparse block first)."""
        if layout is self._layout:
            return True
        ok = tuple(self.names) == layout or (
            len(layout) == len(self.names) and set(layout) == set(self.names)
        )
        if ok:
            self._layout = layout
        return ok

    _layout: tuple[str, ...] | None = None  # the flat layout last found to hold them all
    _flat_order: tuple[str, ...] = ()  # the order of the flat state (_make_flat_state)

    def _step_flat(self, g: np.ndarray, w: np.ndarray, layout: tuple[str, ...]) -> None:
        """The same step over one flat vector of every parameter (the plan's layout)."""
        if self._flat is None or self._flat[0] is not w:
            self._make_flat_state(w, layout)
        _, state, scale = self._flat
        (g,) = self._clipped([g])
        self.steps += 1
        lr = self.lr if scale is None else self.lr * scale
        self.update("(all parameters)", w, self.decayed_gradient(g, w), lr, state)

    def flat_name(self, index: int) -> str:
        """The parameter an index of the flat layout (``_step_flat``) falls in."""
        start = 0
        for n in self._flat_order:
            size = self.params[n].size
            if index < start + size:
                return n
            start += size
        return "(all parameters)"

    def _clipped(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        """With ``clip_norm``: the gradients scaled (as new arrays) so that their global
        norm √(Σ g²) is at most clip_norm, the norm before kept in ``last_norm``."""
        if self.clip_norm is None:
            return grads
        norm = global_norm(dict(enumerate(grads)))
        self.last_norm = norm
        if norm > self.clip_norm > 0:
            scale = self.clip_norm / (norm + 1e-12)
            return [g * scale for g in grads]
        return grads

    def decayed_gradient(self, g: np.ndarray, w: np.ndarray) -> np.ndarray:
        """g + λ·w (L2 weight decay), unless the rule shrinks the weights itself (AdamW)."""
        if self.weight_decay and not self.decoupled_decay:
            return g + self.weight_decay * w
        return g

    def _make_flat_state(self, w: np.ndarray, layout: tuple[str, ...]) -> None:
        """Flat state arrays matching the flat weights; per-name state becomes views of them."""
        state: dict[str, np.ndarray] = {}
        for k in self.state_names:
            flat = (
                np.concatenate([self.state[n][k].ravel() for n in layout])
                if layout
                else np.zeros(0, w.dtype)
            )
            flat = flat.astype(w.dtype, copy=False)
            at = 0
            for n in layout:
                size = self.state[n][k].size
                self.state[n][k] = flat[at : at + size].reshape(self.state[n][k].shape)
                at += size
            state[k] = flat
        scales = [self.scales[n] for n in layout]
        scale = None
        if any(s != 1.0 for s in scales):
            scale = np.concatenate(
                [
                    np.full(self._source[n].size, s, dtype=w.dtype)
                    for n, s in zip(layout, scales, strict=True)
                ]
            )
        self._flat = (w, state, scale)
        self._flat_order = layout

    def explain(self, g: float, w: float, before: Mapping[str, float], lr: float) -> list[Line]:
        """The rule for one weight, line by line with its numbers: ``g`` the gradient it
        receives (after clipping and decay), ``w`` the weight and ``before`` its state
        before the step, ``lr`` its learning rate; the last line is the step Δw. The
        numbers are recomputed in float64 from those inputs (the step itself is the
        one :meth:`update` takes, which the caller reads off the weights)."""
        return [Line("Δw", "the step (this rule is not written out)", float("nan"))]

    @abstractmethod
    def update(
        self, name: str, w: np.ndarray, g: np.ndarray, lr: float, state: dict[str, np.ndarray]
    ) -> None:
        """Change ``w`` in place, given its gradient ``g`` and learning rate ``lr``."""

    # --- state ----------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The optimizer's name and options (JSON-ready)."""
        return {
            "name": self.name,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "clip_norm": self.clip_norm,
            "lr_scale": dict(self.lr_scale),
            **self.hyper,
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: options, step count, state arrays (copies)."""
        return {
            "config": self.config(),
            "steps": self.steps,
            "state": {n: {k: v.copy() for k, v in s.items()} for n, s in self.state.items()},
        }

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` gave; names and shapes are checked."""
        try:
            cfg, steps, state = sd["config"], sd["steps"], sd["state"]
        except (KeyError, TypeError):
            raise OptimizerError(
                "not an optimizer state: expected config, steps and state"
            ) from None
        if not (isinstance(cfg, Mapping) and isinstance(state, Mapping)):
            raise OptimizerError("not an optimizer state: its config and state must be tables")
        if cfg.get("name") != self.name:
            raise OptimizerError(f"state of optimizer '{cfg.get('name')}' given to '{self.name}'")
        if set(state) != set(self.params):
            extra = sorted(set(state) ^ set(self.params))
            raise OptimizerError(
                f"optimizer state does not match the parameters (e.g. '{extra[0]}')"
            )
        for name, s in state.items():
            if not isinstance(s, Mapping):
                raise OptimizerError(f"optimizer state '{name}' must be a table of arrays")
            for k, v in s.items():
                if k in self.state[name] and np.asarray(v).dtype != self.state[name][k].dtype:
                    raise OptimizerError(
                        f"optimizer state '{name}.{k}' is stored as {np.asarray(v).dtype}, the "
                        f"parameter is {self.state[name][k].dtype}"
                    )
                if k not in self.state[name] or np.shape(v) != self.state[name][k].shape:
                    raise OptimizerError(
                        f"optimizer state '{name}.{k}' has the wrong name or shape"
                    )
        self.lr = float(cfg["lr"])
        self.weight_decay = float(cfg.get("weight_decay", 0.0))
        self.clip_norm = cfg.get("clip_norm")
        self.lr_scale = dict(cfg.get("lr_scale") or {})
        self.scales = {name: self._scale_for(name) for name in self.params}
        self._flat = None  # rebuilt at the next flat step, from the per-name views
        for k in self.defaults:
            if k in cfg:
                self.hyper[k] = cfg[k]
                setattr(self, k, cfg[k])
        self.steps = int(steps)
        for name, s in state.items():
            for k, v in s.items():
                self.state[name][k][...] = v

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.hyper.items())
        return f"{self.name}(lr={self.lr}{', ' + opts if opts else ''})"


def make(name: str | Mapping[str, Any], params: Any, **options: Any) -> Optimizer:
    """An optimizer by name (or a table with ``name`` and options) for ``params``."""
    if isinstance(name, Mapping):
        options = {**{k: v for k, v in name.items() if k != "name"}, **options}
        if "name" not in name:
            raise OptimizerError("an optimizer table needs a 'name' key")
        name = name["name"]
    try:
        cls = OPTIMIZERS.get(name)
    except UnknownNameError:
        raise
    return cls(params, **options)
