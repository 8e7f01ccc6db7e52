"""Sequences as the plan over time takes them: inputs, the mask, sequence weights and
targets checked and laid out time-major (steps first), and the loss over the kept
sample-steps with each output group's seed for the backward pass.

L = Σ_g w_g · Σ_{n,t} s_n m_{n,t} ℓ_g(n, t) / Σ_{n,t} m_{n,t}: the mean over the
sample-steps the mask m keeps (``reduction="sum"`` drops the division), each sequence
weighted by s_n. Targets at every step have shape (sequences, steps, units); targets of
shape (sequences, units) (class indices: (sequences,)) are taken at each sequence's last
kept step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from anyprop.errors import AnypropError, ShapeError
from anyprop.nn.plan.compile import fused_steepness
from anyprop.nn.plan.results import Options
from anyprop.nn.values import numbers


def prepare_sequences(
    groups: Any, dtype: Any, data: Any, names: list[str], what: str
) -> dict[str, np.ndarray]:
    """(sequences, steps, units) arrays by group, time-major copies (steps first)."""
    if not isinstance(data, Mapping):
        if len(names) != 1:
            raise AnypropError(
                f"the network has {len(names)} {what} groups ({', '.join(names)}); give "
                f"the {what}s as a dict by group name"
            )
        data = {names[0]: data}
    out = {}
    for name in names:
        if name not in data:
            raise AnypropError(f"no {what}s given for group '{name}'")
        arr = numbers(data[name], f"{what}s for group '{name}'", dtype, copy=False)
        units = groups[name].size
        if arr.ndim != 3 or arr.shape[2] != units:
            raise ShapeError(
                f"{what}s for group '{name}' must have shape (sequences, steps, {units}), "
                f"got {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise AnypropError(f"the {what}s for group '{name}' contain NaN or infinity")
        out[name] = np.ascontiguousarray(arr.transpose(1, 0, 2))
    shapes = {a.shape[:2] for a in out.values()}
    if len(shapes) != 1:
        raise ShapeError(f"the {what}s' steps and sequences differ between groups: {shapes}")
    if 0 in next(iter(shapes)):
        raise AnypropError(f"the {what}s hold no step of any sequence")
    return out


def mask_of(mask: Any, steps: int, n: int, dtype: Any) -> np.ndarray:
    """The mask, time-major (T, n)."""
    if mask is None:
        m = np.ones((steps, n), dtype)
    else:
        m = numbers(mask, "mask", np.float64)
        if m.shape != (n, steps) or np.any((m != 0) & (m != 1)):
            raise ShapeError(
                f"the mask must hold 0 or 1 per sequence and step, shape {(n, steps)}, "
                f"got {m.shape if m.shape != (n, steps) else 'other values'}"
            )
        m = m.T.astype(dtype)
    return m


def weights_of(weight: Any, n: int, dtype: Any) -> np.ndarray | None:
    """One weight per sequence, or None."""
    if weight is None:
        return None
    s = numbers(weight, "sample_weight", np.float64).reshape(-1)
    if s.shape != (n,) or np.any(s < 0) or not np.all(np.isfinite(s)):
        raise ShapeError(f"sample_weight must hold {n} finite values >= 0, one per sequence")
    return s.astype(dtype)


def targets_of(
    groups: Any, loss_groups: list[str], dtype: Any, targets: Any, m: np.ndarray, steps: int, n: int
) -> tuple[dict, np.ndarray]:
    """Targets by loss group as time-major (T·n, units) arrays, and the mask of the
    sample-steps taking a loss (the last kept step of each sequence for last-step
    targets)."""
    if not loss_groups:
        raise AnypropError("no output group has a loss; give one with add_group(..., loss=)")
    if not isinstance(targets, Mapping):
        if len(loss_groups) != 1:
            raise AnypropError(
                f"the network has {len(loss_groups)} output groups with a loss; give "
                "the targets as a dict by group name"
            )
        targets = {loss_groups[0]: targets}
    out, last = {}, None
    for g in loss_groups:
        if g not in targets:
            raise AnypropError(f"no targets given for group '{g}'")
        group = groups[g]
        t = numbers(targets[g], f"targets for group '{g}'", np.float64, copy=False)
        if t.ndim > 3 or t.ndim == 0:
            raise ShapeError(
                f"targets for group '{g}' have shape {t.shape}: give (sequences, steps, "
                f"{group.size}) for every step or (sequences, {group.size}) for the last"
            )
        if not np.all(np.isfinite(t)):
            raise AnypropError(f"the targets for group '{g}' contain NaN or infinity")
        per_step = t.ndim == 3
        if per_step:
            if t.shape[:2] != (n, steps):
                raise ShapeError(
                    f"targets for group '{g}' have shape {t.shape}: (sequences, steps) "
                    f"must be {(n, steps)} as the inputs'"
                )
            t = t.transpose(1, 0, 2).reshape(steps * n, -1)
            if t.shape[1] == 1 and group.size > 1:
                t = t[:, 0]  # class indices
        elif t.shape[:1] != (n,):
            raise ShapeError(
                f"targets for group '{g}' have shape {t.shape}: give (sequences, steps, "
                f"{group.size}) for every step or (sequences, {group.size}) for the last, "
                f"with {n} sequences"
            )
        prepared = group.loss.prepare_target(t, group.size, dtype)
        if not per_step:  # the last step only: zero targets elsewhere, masked out
            full = np.zeros((steps, n, group.size), dtype)
            full[-1] = prepared
            prepared = full.reshape(steps * n, -1)
            last = True if last is None else last
        elif last:
            raise AnypropError("give every group's targets at every step, or all at the last")
        else:
            last = False
        out[g] = prepared
    kept = m
    if last:  # the loss at each sequence's last kept step
        ends = steps - 1 - np.argmax(m[::-1] != 0, axis=0)
        kept = np.zeros_like(m)
        kept[ends, np.arange(n)] = m[ends, np.arange(n)]
        if np.any(ends != steps - 1):  # move the targets to the step they belong to
            for arr in out.values():
                full = arr.reshape(steps, n, -1)
                full[ends, np.arange(n)] = full[-1].copy()
    return out, kept


def sequence_loss(
    plan: Any, ts: dict, kept: np.ndarray, weights: np.ndarray | None, options: Options
) -> tuple[float, dict, dict]:
    """L, L per group, and each group's seed: ∂L/∂o(t), or δ(t) for a fused pair."""
    if not np.any(kept):
        raise AnypropError("the mask leaves no step to take a loss on")
    norm = 1.0 if options.reduction == "sum" else float(kept.sum())
    steps, n = kept.shape
    scaled = kept if weights is None else kept * weights
    w = (scaled.reshape(-1) / norm).astype(plan.dtype)
    seeds: dict[str, tuple[str, np.ndarray]] = {}
    total, losses = 0.0, {}
    for g in plan.loss_groups:
        group = plan.groups[g]
        if plan.fused[g]:
            s = fused_steepness(group)
            net = plan.nets[g].reshape(steps * n, -1)
            per, d = group.loss.fused(net if s == 1 else net * s, ts[g])
            if s != 1:
                d = d * s
            kind = "fused"
        else:
            per, d = group.loss.per_sample(plan.outs[g].reshape(steps * n, -1), ts[g])
            kind = "out"
        value = float((per * w).sum())
        losses[g] = value
        total += group.loss_weight * value
        d = d * (w * group.loss_weight)[:, None]
        seeds[g] = (kind, d.astype(plan.dtype, copy=False).reshape(steps, n, -1))
    return total, losses, seeds
