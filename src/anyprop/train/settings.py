"""Training settings: how the batches are formed, the loss reduced and the deltas made.

One definition, read by everyone: the trainer takes a :class:`TrainSettings`
(``fit`` and ``Trainer`` also accept its fields as keywords), the command line
makes its options from the fields' metadata (:func:`cli_options`), and a model
file stores :meth:`TrainSettings.to_state`, which :meth:`TrainSettings.from_state`
reads back exactly.

>>> s = TrainSettings(batch_size="online", loss_reduction="sum")
>>> s.batch_size, s.options.reduction
(1, 'sum')
>>> TrainSettings.from_state(s.to_state()) == s
True
>>> TrainSettings(margin=-1)
Traceback (most recent call last):
...
anyprop.train.settings.SettingsError: margin must be a number >= 0, got -1
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.nn.plan import Options
from anyprop.train.metrics import METRICS


class SettingsError(AnypropError, ValueError):
    """A training setting with a value it cannot have."""


def _cli(flag: str, help_: str, **kwargs: Any) -> dict[str, Any]:
    """Field metadata: how the command line offers the setting."""
    return {"cli": {"flag": flag, "help": help_, **kwargs}}


@dataclass(frozen=True)
class TrainSettings:
    """The settings of a training run (see the module's docstring).

    ``batch_size``: samples per step, None for the whole set (full batch) or
    ``"online"`` (1). ``shuffle``: a new order of the samples each epoch.
    ``margin``: how close to its target every output must be for the epoch to count
    as solved (the classic papers' criterion, 0.4). ``metrics``: the figures logged
    (None: those the task calls for). ``loss_reduction``: "mean" (L averages over the
    batch) or "sum" (as the classic papers, whose learning rates assume it).
    ``prime_offset``, ``atanh_error``: Fahlman's (1988) fixes for the flat spot of
    sigmoid units. ``class_weight``: a weight per class, multiplying each sample's loss.
    ``bptt``: over sequences, truncated backpropagation through time in chunks of this
    many steps (None: whole sequences).
    """

    batch_size: int | None = field(
        default=None,
        metadata=_cli(
            "--batch-size",
            "samples per step: a number, 'online' (1) or 'full' (default: the recipe's; "
            "tabular: 64, or the whole set when it is that small)",
        ),
    )
    shuffle: bool = field(
        default=True, metadata=_cli("--shuffle", "shuffle the samples each epoch (default: yes)")
    )
    margin: float = field(
        default=0.4, metadata=_cli("--margin", "margin for 'solved' (0.4)", type=float)
    )
    metrics: tuple[str, ...] | None = None
    loss_reduction: str = field(
        default="mean",
        metadata=_cli(
            "--loss-reduction",
            "the loss over a batch: its mean (default) or its sum, as the classic papers "
            "(their learning rates assume the sum)",
            choices=["mean", "sum"],
        ),
    )
    prime_offset: float = field(
        default=0.0,
        metadata=_cli(
            "--prime-offset",
            "Fahlman's sigmoid-prime offset, added to f' (0.1 in the paper)",
            type=float,
        ),
    )
    atanh_error: bool = field(
        default=False, metadata=_cli("--atanh-error", "Fahlman's atanh error at outputs")
    )
    class_weight: Mapping[str, float] | None = None
    bptt: int | None = field(
        default=None,
        metadata=_cli(
            "--bptt",
            "sequences: truncated backpropagation through time, a step of the rule every K "
            "steps of the sequences, the state carried from chunk to chunk (default: whole "
            "sequences)",
            type=int,
        ),
    )

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        b = self.batch_size
        if b == "online":
            put("batch_size", 1)
        elif b == "full":
            put("batch_size", None)
        elif b is not None and (isinstance(b, bool) or not isinstance(b, int) or b < 1):
            raise SettingsError(
                f"batch_size must be a whole number >= 1, 'online' or None (full batch), got {b!r}"
            )
        for name in ("margin", "prime_offset"):
            v = getattr(self, name)
            if not _is_number(v) or not v >= 0:
                raise SettingsError(f"{name} must be a number >= 0, got {v!r}")
            if not math.isfinite(v):
                raise SettingsError(f"{name} must be finite, got {v!r}")
            put(name, float(v))
        k = self.bptt
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise SettingsError(f"bptt must be a whole number of steps >= 1, got {k!r}")
        if self.loss_reduction not in ("mean", "sum"):
            raise SettingsError(
                f"loss_reduction must be 'mean' or 'sum', got {self.loss_reduction!r}"
            )
        for name in ("shuffle", "atanh_error"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.metrics is not None:
            if isinstance(self.metrics, str) or not isinstance(self.metrics, (list, tuple)):
                raise SettingsError(f"metrics must be a list of names, got {self.metrics!r}")
            put("metrics", tuple(self.metrics))
            for m in self.metrics:
                METRICS.get(m)
        if self.class_weight is not None:
            if not isinstance(self.class_weight, Mapping):
                raise SettingsError(
                    f"class_weight must map classes to weights, got {self.class_weight!r}"
                )
            weights = {}
            for k, v in self.class_weight.items():
                if not _is_number(v) or not v >= 0:
                    raise SettingsError(f"class_weight of {k!r} must be a number >= 0, got {v!r}")
                weights[class_key(k)] = float(v)
            put("class_weight", weights or None)

    @property
    def options(self) -> Options:
        """How the network's passes compute the loss and the deltas."""
        return Options(self.loss_reduction, self.prime_offset, self.atanh_error)

    def class_weights(self, classes: Any) -> list[float]:
        """The weight of each class index in ``classes`` (1 for a class not listed)."""
        cw = self.class_weight or {}
        return [cw.get(class_key(c), 1.0) for c in classes]

    # --- the state round trip ----------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """JSON-ready: every field by name."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["metrics"] = None if self.metrics is None else list(self.metrics)
        out["class_weight"] = dict(self.class_weight) if self.class_weight else {}
        return out

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TrainSettings:
        """The settings :meth:`to_state` gave (other keys, such as a schedule, are
        ignored; fields missing from an older file take their defaults). A file that an
        older anyprop wrote with a value these checks now refuse (a negative prime
        offset, say) keeps it: a resumed run goes on as it was trained."""
        if not isinstance(state, Mapping):
            raise SettingsError(f"saved settings are a dict, got {type(state).__name__}")
        given = {k: v for k, v in state.items() if k in FIELDS}
        try:
            return cls(**given)
        except SettingsError:
            pass
        values = {f.name: getattr(_DEFAULT, f.name) for f in dataclasses.fields(cls)}
        for k, v in given.items():  # each value checked alone, kept as it is if refused
            try:
                values[k] = getattr(cls(**{k: v}), k)
            except SettingsError:
                values[k] = v
        settings = object.__new__(cls)
        for k, v in values.items():
            object.__setattr__(settings, k, v)
        return settings

    @classmethod
    def take(cls, options: dict[str, Any], base: TrainSettings | None = None) -> TrainSettings:
        """Settings from ``base`` with the fields found in ``options`` (removed from it:
        what stays there is for the optimizer)."""
        given = {k: options.pop(k) for k in list(options) if k in FIELDS}
        if base is None or isinstance(base, TrainSettings):
            return dataclasses.replace(base or cls(), **given)
        return cls(**{**known_settings(base), **given})  # the settings as a dict by name


FIELDS = frozenset(f.name for f in dataclasses.fields(TrainSettings))


def known_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` when every key is a setting's name; else an error naming the first that
    is not, with the nearest."""
    from anyprop.registry import suggest

    if not isinstance(given, Mapping):
        raise SettingsError(
            f"settings must be a TrainSettings or a dict of training settings, got {given!r:.60}"
        )
    for key in given:
        if key not in FIELDS:
            raise SettingsError(f"there is no training setting '{key}'{suggest(str(key), FIELDS)}")
    return dict(given)


def _is_number(v: Any) -> bool:
    """A real number (NumPy's too), not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


_DEFAULT = TrainSettings()


def class_key(c: Any) -> str:
    """A class's key in ``class_weight``: 0, 0.0, np.int64(0) and "0" are all class 0."""
    if isinstance(c, numbers.Integral) and not isinstance(c, bool):
        return str(int(c))
    if isinstance(c, numbers.Real) and not isinstance(c, bool) and float(c).is_integer():
        return str(int(c))
    return str(c)


def cli_options() -> list[tuple[str, dict[str, Any], Any]]:
    """(field name, its command-line metadata, its default) for every setting the
    command line offers."""
    return [
        (f.name, f.metadata["cli"], f.default)
        for f in dataclasses.fields(TrainSettings)
        if "cli" in f.metadata
    ]
