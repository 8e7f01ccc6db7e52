"""Inputs and targets as a pass takes them: (samples, units) arrays by group, checked.

Inputs come as one array (a network with one input group) or a dict by input
group; targets as one array (one output group with a loss, or a network
compiled from a unit list, whose map splits the target columns into its output
groups) or a dict by output group.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from anyprop.errors import AnypropError, NetworkError, ShapeError
from anyprop.nn.values import numbers


def finite(x: np.ndarray) -> bool:
    """All elements finite: one float64 sum (NaN and inf propagate; finite float32
    values cannot overflow it), with an exact scan only on an alarm."""
    if np.isfinite(np.add.reduce(x, axis=None, dtype=np.float64)):
        return True
    return bool(np.isfinite(x).all())


def not_finite(name: str, x: np.ndarray) -> None:
    """Raise, naming the first sample and unit that is NaN or infinite."""
    bad = np.argwhere(~np.isfinite(x))[0]
    raise AnypropError(
        f"inputs for group '{name}' contain NaN or infinity (sample {bad[0]}, unit {bad[1]})"
    )


def as_batch(data: Any, names: list[str], what: str) -> dict[str, Any]:
    """``data`` (an array, or a dict by group name) as a dict by group name."""
    if not isinstance(data, Mapping):
        if len(names) != 1:
            raise NetworkError(
                f"the network has {len(names)} {what} groups ({', '.join(names)}); "
                f"give the {what}s as a dict by group name"
            )
        return {names[0]: data}
    unknown = set(data) - set(names)
    if unknown:
        raise NetworkError(
            f"{what}s given for {sorted(unknown)}, which are not {what} groups ({', '.join(names)})"
        )
    return dict(data)


def prepare(
    groups: Mapping[str, Any],
    dtype: Any,
    data: Any,
    names: list[str],
    what: str,
    check: bool = True,
) -> dict[str, np.ndarray]:
    """Inputs as (samples, units) arrays of the network's dtype, checked (shapes, numbers,
    and, with ``check``, finiteness)."""
    if (
        type(data) is np.ndarray
        and len(names) == 1
        and data.ndim == 2
        and data.dtype == dtype
        and data.shape[1] == groups[names[0]].size
    ):  # the common case, fast
        if check and not finite(data):
            not_finite(names[0], data)
        return {names[0]: data}
    batch = as_batch(data, names, what)
    out = {}
    n = None
    for name in names:
        if name not in batch:
            raise AnypropError(f"no {what}s given for {what} group '{name}'")
        units = groups[name].size
        x = numbers(batch[name], f"{what}s for group '{name}'", dtype, copy=False)
        if x.ndim == 1 and units == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != units:
            hint = "; for one sample use x[None, :]" if x.ndim == 1 and x.size == units else ""
            raise ShapeError(
                f"{what} group '{name}' has {units} units: {what}s must have shape "
                f"(samples, {units}), got {x.shape}{hint}"
            )
        if x.dtype != dtype:
            try:
                x = x.astype(dtype)
            except (TypeError, ValueError):
                raise AnypropError(f"{what}s for group '{name}' are not numbers") from None
        if check and not finite(x):
            not_finite(name, x)
        if n is None:
            n = x.shape[0]
        elif x.shape[0] != n:
            raise ShapeError(f"{what}s for '{name}' have {x.shape[0]} samples, others {n}")
        out[name] = x
    return out


def targets_by_group(loss_groups: list[str], units: Any, targets: Any) -> Mapping[str, Any]:
    """The targets by output group: one array goes to the only output group with a loss
    (or, for a network compiled from a unit list, is split by its unit map)."""
    if type(targets) is np.ndarray and len(loss_groups) == 1 and units is None:  # common case
        return {loss_groups[0]: targets}
    if not loss_groups:
        raise AnypropError("no output group has a loss; give one with add_output(..., loss=)")
    if not isinstance(targets, Mapping):
        if units is not None:
            return units.split_targets(targets)
        if len(loss_groups) != 1:
            raise AnypropError(
                f"the network has {len(loss_groups)} output groups with losses "
                f"({', '.join(loss_groups)}); give the targets as a dict by group name"
            )
        return {loss_groups[0]: targets}
    unknown = set(targets) - set(loss_groups)
    if unknown:
        raise AnypropError(
            f"targets given for {sorted(unknown)}, which are not output groups "
            f"with a loss ({', '.join(loss_groups)})"
        )
    missing = [g for g in loss_groups if g not in targets]
    if missing:
        raise AnypropError(f"no targets given for output group '{missing[0]}'")
    return targets
