"""Unit graphs: a plain list of unit-to-unit connections, compiled into the group model.

    >>> net = from_units([(0, 2), (1, 2), (0, 3), (1, 3), (2, 4), (3, 4), (0, 4)],
    ...                  transfer="sigmoid", seed=0)
    >>> net.units.inputs, net.units.outputs
    ([0, 1], [4])
    >>> net.forward(np.array([[0.0, 1.0]])).shape
    (1, 1)
    >>> net.units.where(4)
    ('L2_out', 0)

Units are numbered or named (any mix of ints or strings that sort). Each edge is
``(source, target)`` or ``(source, target, initial weight)``; the graph must be
a DAG. Inputs are the units with no incoming edge and outputs those with no
outgoing edge, unless given. Every non-input unit has a bias (its threshold)
unless ``bias=False``, and its own transfer function: one for all, or a dict by
unit with ``default`` for the rest.

Compilation, O(E log E): units are put in topological levels (output sinks on
the last level), grouped by (level, transfer function), and the edges between
each pair of groups become one sparse connection, its pairs in target-major
order. The result is a plain :class:`~anyprop.nn.network.Network` carrying a
:class:`~anyprop.nn.unitmap.UnitMap` (``net.units``): inputs come in the order
of ``inputs``, outputs and targets in the order of ``outputs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from anyprop.errors import NetworkError, ShapeError
from anyprop.nn import transfer as transfer_registry
from anyprop.nn.network import Network
from anyprop.nn.unitmap import UnitMap
from anyprop.nn.values import numbers


def _is_unit(u: Any) -> bool:
    """A unit is a whole number (within int64) or a name."""
    if isinstance(u, str):
        return bool(u)
    return isinstance(u, (int, np.integer)) and not isinstance(u, bool) and abs(int(u)) < 2**62


def _edge_arrays(
    edges: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(sources, targets, weights or None, delays or None) of the edges given."""
    if isinstance(edges, tuple) and len(edges) in (2, 3) and all(np.ndim(e) == 1 for e in edges):
        cols = [np.asarray(e) for e in edges]  # (sources, targets[, weights]) arrays
    else:
        if isinstance(edges, (str, bytes)) or not isinstance(edges, Sequence):
            raise NetworkError(
                f"a unit graph is a list of [source, target] connections, got {edges!r:.60}"
            )
        rows = list(edges)
        if not rows:
            raise NetworkError("a unit graph needs at least one connection")
        for k, r in enumerate(rows):
            if not isinstance(r, (list, tuple)):
                raise NetworkError(
                    f"connection {k}: expected (source, target) or (source, target, weight), "
                    f"got {r!r}"
                )
            for u in r[:2]:
                if not _is_unit(u):
                    raise NetworkError(
                        f"connection {k}: unit {u!r} is neither a whole number below 2**62 "
                        "nor a name"
                    )
        widths = {len(r) for r in rows}
        if not widths <= {2, 3, 4} or len(widths) != 1:
            bad = next(
                i for i, r in enumerate(rows) if len(r) not in (2, 3, 4) or len(r) != len(rows[0])
            )
            raise NetworkError(
                f"connection {bad}: expected (source, target), (source, target, weight) or "
                f"(source, target, weight, delay), got {rows[bad]!r}; all connections need "
                "the same form"
            )
        cols = [np.asarray([r[k] for r in rows]) for k in range(widths.pop())]
    src, tgt = cols[0], cols[1]
    if src.shape != tgt.shape:
        raise ShapeError(f"{src.size} sources but {tgt.size} targets")
    w = None
    if len(cols) >= 3:
        try:
            w = np.asarray(cols[2], dtype=np.float64)
        except (TypeError, ValueError):
            raise NetworkError("connection weights must be numbers") from None
        if w.shape != src.shape:
            raise ShapeError(f"{w.size} weights for {src.size} connections")
        if not np.all(np.isfinite(w)):
            k = int(np.argmax(~np.isfinite(w)))
            raise NetworkError(f"connection {k}: weight {w[k]} is not finite")
    d = None
    if len(cols) == 4:
        try:
            d = numbers(cols[3].tolist(), "connection delays", whole=True)
        except NetworkError:
            raise NetworkError("connection delays must be whole numbers of steps >= 0") from None
        if d.shape != src.shape or np.any(d < 0):
            raise NetworkError("connection delays must be whole numbers of steps >= 0")
    return src, tgt, w, d


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges [s, s + c) for each start s and count c, vectorised."""
    keep = counts > 0
    starts, counts = starts[keep], counts[keep]
    if counts.size == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    step = np.ones(int(ends[-1]), dtype=np.int64)
    step[0] = starts[0]
    step[ends[:-1]] = starts[1:] - (starts[:-1] + counts[:-1]) + 1  # jump to the next range
    return np.cumsum(step)


def levels(n: int, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """Topological level of every unit (0 for units without incoming edges); raises
    with a cycle's path if the graph has one."""
    order = np.argsort(src, kind="stable")
    tgt_by_src = tgt[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    indeg = np.bincount(tgt, minlength=n)
    level = np.full(n, -1, dtype=np.int64)
    frontier = np.flatnonzero(indeg == 0)
    depth = 0
    while frontier.size:
        level[frontier] = depth
        starts = indptr[frontier]
        heads = tgt_by_src[_ranges(starts, indptr[frontier + 1] - starts)]
        if heads.size == 0:
            break
        units, counts = np.unique(heads, return_counts=True)
        indeg[units] -= counts
        frontier = units[indeg[units] == 0]
        depth += 1
    if (level < 0).any():
        raise NetworkError(f"the unit graph has a cycle: {_find_cycle(level < 0, src, tgt)}")
    return level


def _find_cycle(remaining: np.ndarray, src: np.ndarray, tgt: np.ndarray) -> list[int]:
    """One cycle among the units left after Kahn's algorithm (each has a predecessor there)."""
    inside = remaining[src] & remaining[tgt]
    pred = dict(zip(tgt[inside].tolist(), src[inside].tolist(), strict=True))
    u = next(iter(pred))
    seen: dict[int, int] = {}
    path: list[int] = []
    while u not in seen:
        seen[u] = len(path)
        path.append(u)
        u = pred[u]
    cycle = path[seen[u] :][::-1]
    return [*cycle, cycle[0]]


def from_units(
    edges: Any,
    transfer: Any = "sigmoid",
    inputs: Sequence | None = None,
    outputs: Sequence | None = None,
    bias: bool = True,
    loss: Any = "mse",
    init: Any = None,
    dtype: Any = "float32",
    seed: int | np.random.Generator | None = None,
    name: str = "unit graph",
) -> Network:
    """A network given unit by unit (see the module's docstring), compiled into groups and
    sparse connections; ``net.units`` maps units to data columns, groups and indices."""
    src_l, tgt_l, w, delays = _edge_arrays(edges)
    args = {
        "edges": (src_l, tgt_l, w, delays),
        "transfer": transfer,
        "loss": loss,
        "bias": bias,
        "init": init,
    }  # what it was made from, for writing its spec
    try:
        labels, inverse = np.unique(np.concatenate([src_l, tgt_l]), return_inverse=True)
    except TypeError:
        raise NetworkError("unit names must all be numbers or all be strings") from None
    n = labels.size
    src, tgt = inverse[: src_l.size].astype(np.int64), inverse[src_l.size :].astype(np.int64)
    index = {lab: i for i, lab in enumerate(labels.tolist())}
    d = np.zeros(src.size, dtype=np.int64) if delays is None else delays
    loops = (src == tgt) & (d == 0)
    if loops.any():
        k = int(np.argmax(loops))
        raise NetworkError(
            f"connection {k} joins unit {labels[src[k]]} to itself: a cycle (a delay of 1 "
            "makes it recurrent)"
        )
    order = np.lexsort((np.arange(src.size), d, tgt, src))  # (stable: the later one is named)
    same = [np.diff(a[order]) == 0 for a in (src, tgt, d)]
    dup = same[0] & same[1] & same[2]
    if dup.any():
        k = int(order[np.argmax(dup) + 1])
        raise NetworkError(f"connection {k}: ({labels[src[k]]}, {labels[tgt[k]]}) is listed twice")
    now = d == 0  # the levels follow the edges within a step; delayed ones may loop
    lev = levels(n, src[now], tgt[now])
    has_in = np.bincount(tgt, minlength=n) > 0
    # an output feeds no unit within a step (a delayed loop back, as in a Jordan network, is
    # still an output)
    has_out = np.bincount(src[now], minlength=n) > 0

    def pick(given: Sequence | None, default: np.ndarray, what: str) -> np.ndarray:
        if given is None:
            return np.flatnonzero(default)
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
            raise NetworkError(f"{what}s must be a list of units, got {given!r}")
        out = []
        for u in given:
            if not _is_unit(u) or u not in index:
                raise NetworkError(f"{what} unit {u!r} appears in no connection")
            out.append(index[u])
        if len(set(out)) != len(out):
            raise NetworkError(f"a unit is listed twice among the {what}s")
        return np.asarray(out, dtype=np.int64)

    in_units = pick(inputs, ~has_in, "input")
    out_units = pick(outputs, ~has_out, "output")
    bad = in_units[has_in[in_units]]
    if bad.size:
        raise NetworkError(f"input unit {labels[bad[0]]} has incoming connections")
    if np.intersect1d(in_units, out_units).size:
        raise NetworkError("a unit cannot be both an input and an output")
    if out_units.size == 0:
        raise NetworkError("the unit graph has no output unit")
    is_input = np.zeros(n, bool)
    is_input[in_units] = True
    is_output = np.zeros(n, bool)
    is_output[out_units] = True
    lev = np.where(is_input, 0, np.maximum(lev, 1))
    sinks = is_output & ~has_out
    lev[sinks] = lev.max()

    # transfer functions per unit
    kinds: dict[str, Any] = {}
    tkey = np.zeros(n, dtype=np.int64)
    per_unit = isinstance(transfer, Mapping)
    default = transfer.get("default", "sigmoid") if per_unit else transfer
    if per_unit:
        for u in transfer:
            if u != "default" and u not in index:
                raise NetworkError(
                    f"a transfer function is given for unit {u!r}, which appears in no connection"
                )
    for i in np.flatnonzero(~is_input):
        spec = transfer.get(labels[i].item(), default) if per_unit else default
        t = transfer_registry.get(spec)
        kinds.setdefault(repr(t), t)
        tkey[i] = list(kinds).index(repr(t))
    transfers = list(kinds.values())

    # groups: (level, output?, transfer)
    net = Network(dtype=dtype, seed=seed, name=name)
    group_of = np.empty(n, dtype=object)
    pos = np.zeros(n, dtype=np.int64)
    net.add_input("in", in_units.size)
    group_of[in_units] = "in"
    pos[in_units] = np.arange(in_units.size)
    hidden = np.flatnonzero(~is_input & ~is_output)
    out_rank = np.zeros(n, dtype=np.int64)
    out_rank[out_units] = np.arange(out_units.size)
    blocks = []
    for unit_set, tag in ((hidden, ""), (out_units, "out")):
        if unit_set.size == 0:
            continue
        keys = lev[unit_set] * (len(kinds) + 1) + tkey[unit_set]
        for k in np.unique(keys):
            members = unit_set[keys == k]
            if tag:
                members = members[np.argsort(out_rank[members])]
            blocks.append((int(lev[members[0]]), tag, int(tkey[members[0]]), members))
    blocks.sort(key=lambda b: (b[0], b[1] == "out", b[2]))
    names_used: dict[str, int] = {}
    output_groups: list[tuple[str, np.ndarray]] = []
    for lvl, tag, tk, members in blocks:
        base = f"L{lvl}{'_out' if tag else ''}" + (f"_{tk}" if len(kinds) > 1 else "")
        name = base if base not in names_used else f"{base}_{len(names_used)}"
        names_used[name] = 1
        t = transfers[tk]
        if tag:
            net.add_output(name, members.size, transfer=t, loss=loss, bias=bias)
            output_groups.append((name, out_rank[members]))
        else:
            net.add_group(name, members.size, transfer=t, bias=bias)
        group_of[members] = name
        pos[members] = np.arange(members.size)

    # one sparse connection per (source group, target group), in CSR order
    names = list(net.groups)
    gid = {g: i for i, g in enumerate(names)}
    gs = np.array([gid[g] for g in group_of[src]], dtype=np.int64)
    gt = np.array([gid[g] for g in group_of[tgt]], dtype=np.int64)
    order = np.lexsort((pos[src], pos[tgt], gs, gt, d))
    pair_key = (d[order] * len(names) + gt[order]) * len(names) + gs[order]
    cuts = np.flatnonzero(np.diff(pair_key)) + 1
    net._known_acyclic = True  # groups follow topological levels: no connection closes a cycle
    for chunk in np.split(order, cuts):
        a, b = names[gs[chunk[0]]], names[gt[chunk[0]]]
        lag = int(d[chunk[0]])
        pairs = np.stack([pos[src[chunk]], pos[tgt[chunk]]], axis=1)
        net.connect(
            a,
            b,
            "sparse",
            pairs=pairs,
            weights=None if w is None else w[chunk],
            init=init,
            delay=lag,
            name=f"{a}_to_{b}_delay{lag}" if lag else None,
        )
    net._known_acyclic = False
    units_map = UnitMap(
        labels,
        group_of,
        pos,
        labels[in_units].tolist(),
        labels[out_units].tolist(),
        output_groups,
        int(src.size),
        args,
    )
    units_map.bind(net)
    return net
