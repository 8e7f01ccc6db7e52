"""How the plan over sequences lays a network out: each group's phase, the connections
grouped into products, and the arrays the products write into.

- **phases.** Only the *loop* groups (those on a recurrence: fed through a delay by a
  group, and feeding one) need a step at a time; the groups before it (*pre*) and after
  it (*post*) run over every step at once.
- **products.** Plain dense connections that share a source and a delay (and the phase
  of their targets) run as one product into targets laid out side by side: an LSTM's
  four gates are one (n, h) · (h, 4h) product a step, forward and backward.
- **bundles.** The targets of a merged product sit side by side in one array, so that
  the product adds to (and its backward reads) one slice.
- **runs.** Side-by-side loop groups with one elementwise transfer function apply it
  once (the three sigmoid gates of an LSTM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRE, LOOP, POST = "pre", "loop", "post"


@dataclass
class Product:
    """Connections from one source with one delay into targets of one phase, run as one
    product: a merged set of plain dense ones, or a single connection of any kind."""

    src: str
    delay: int
    conns: list[Any]
    merged: bool  # plain dense, ungated: one product into the targets side by side
    phase: str  # the targets'
    gate: str | None = None
    gate_delay: int = 0
    early: bool = False  # into the loop from outside it: every step at once, before it
    first: str = ""  # the target that comes first in topological order
    #: the targets' columns in the product's output: (group, start, stop)
    cols: list[tuple[str, int, int]] = field(default_factory=list)
    width: int = 0
    #: the bundle holding the targets side by side, with the product's first column there
    bundle: int | None = None
    ident: bool = False  # a fixed one-to-one of weight 1: the source passes on as it is

    @property
    def lo(self) -> int:
        """The first step at which the product contributes from zero history (before it
        the source, or the gate, is at a step before the first)."""
        return max(self.delay, self.gate_delay if self.gate is not None else 0)


def phases(net: Any) -> dict[str, str]:
    """Each non-input group's phase: ``loop`` if it lies on a recurrence (fed, through
    any path, by a delayed connection from a group, and feeding, within a step, the
    source of one), ``pre`` if it does not depend on earlier steps of any group, else
    ``post`` (it depends on the loop, but nothing of the loop depends on it)."""
    groups, conns = net.groups, list(net.connections.values())
    edges = []  # (source, target, delayed) for every signal: sources and gates
    for c in conns:
        edges.append((c.src, c.tgt, c.delay > 0))
        if c.gate is not None:
            edges.append((c.gate, c.tgt, c.gate_delay > 0))
    recur = {t for s, t, d in edges if d and not groups[s].is_input}
    grow = list(recur)
    while grow:  # everything downstream of a delayed signal from a group
        g = grow.pop()
        for s, t, _ in edges:
            if s == g and t not in recur:
                recur.add(t)
                grow.append(t)
    feeds = {s for s, _t, d in edges if d and not groups[s].is_input}
    grow = list(feeds)
    while grow:  # everything upstream, within a step, of a delayed signal's source
        g = grow.pop()
        for s, t, d in edges:
            if t == g and not d and s not in feeds and not groups[s].is_input:
                feeds.add(s)
                grow.append(s)
    out = {}
    for g in net.order():
        if not groups[g].is_input:
            out[g] = (LOOP if g in feeds else POST) if g in recur else PRE
    return out


def products(net: Any, order: list[str], phase: dict[str, str]) -> list[Product]:
    """The connections grouped into products (see :class:`Product`)."""
    pos = {g: i for i, g in enumerate(order)}
    keyed: dict[tuple, Product] = {}
    out: list[Product] = []
    for c in net.connections.values():
        mergeable = c.plain_dense and c.gate is None
        key = (c.src, c.delay, phase[c.tgt]) if mergeable else None
        if key is not None and key in keyed and c.tgt not in {x.tgt for x in keyed[key].conns}:
            keyed[key].conns.append(c)
            continue
        p = Product(c.src, c.delay, [c], mergeable, phase[c.tgt], c.gate, c.gate_delay)
        if key is not None and key not in keyed:
            keyed[key] = p
        out.append(p)
    for p in out:
        p.conns.sort(key=lambda c: pos[c.tgt])
        p.first = p.conns[0].tgt
        p.early = p.phase == LOOP and phase.get(p.src) != LOOP and phase.get(p.gate) != LOOP
        start = 0
        for c in p.conns:
            size = net.groups[c.tgt].size
            p.cols.append((c.tgt, start, start + size))
            start += size
        p.width = start
    return out


@dataclass
class Layout:
    """The bundles (each a list of (group, start, stop) side by side), where each group
    sits in them, and the runs of side-by-side loop groups sharing a transfer function,
    each run's (bundle, start, stop) by its first and by its last group."""

    bundles: list[list[tuple[str, int, int]]]
    placed: dict[str, tuple[int, int, int]]
    run_first: dict[str, tuple[int, int, int]]
    run_last: dict[str, tuple[int, int, int]]
    in_run: set[str]


def lay_out(plan: Any) -> Layout:
    """The layout of ``plan``'s products (which learn their bundle and columns here)."""
    bundles: list[list[tuple[str, int, int]]] = []
    placed: dict[str, tuple[int, int, int]] = {}  # group -> (bundle, start, stop)
    ranked = sorted(plan.products, key=lambda p: (p.phase != LOOP or p.early, -len(p.conns)))
    for p in ranked:  # the hot ones first
        if p.merged and len(p.conns) > 1 and not any(t in placed for t, *_ in p.cols):
            for t, a, z in p.cols:
                placed[t] = (len(bundles), a, z)
            bundles.append(p.cols)
    for g in plan.hidden:
        if g not in placed:
            size = plan.groups[g].size
            placed[g] = (len(bundles), 0, size)
            bundles.append([(g, 0, size)])
    for p in plan.products:
        spots = [placed[t] for t, *_ in p.cols]
        shift = spots[0][1]
        if len({s[0] for s in spots}) == 1 and all(
            s[1] == a + shift for s, (_, a, _z) in zip(spots, p.cols, strict=True)
        ):
            p.bundle = spots[0][0]
            p.cols = [(t, a + shift, z + shift) for t, a, z in p.cols]
    layout = Layout(bundles, placed, {}, {}, set())
    _runs(plan, layout)
    return layout


def _runs(plan: Any, layout: Layout) -> None:
    """Side-by-side loop groups with one elementwise transfer function, run as one."""
    loop = plan.by_phase[LOOP]
    pos = {g: i for i, g in enumerate(loop)}
    feeding = {
        g: [p for p in plan.products if not p.early and any(t == g for t, *_ in p.cols)]
        for g in loop
    }
    links = {(c.src, c.tgt) for c in plan.network.connections.values()}
    for cols in layout.bundles:
        names = [t for t, *_ in cols]
        i = 0
        while i < len(names):
            j = i + 1
            while j < len(names) and _same_run(plan, names[j], names[i:j], pos, feeding, links):
                j += 1
            if j - i > 1:
                b, a, _ = layout.placed[names[i]]
                span = (b, a, layout.placed[names[j - 1]][2])
                layout.run_first[names[i]] = layout.run_last[names[j - 1]] = span
                layout.in_run.update(names[i:j])
            i = j


def _same_run(plan: Any, g: str, run: list[str], pos: dict, feeding: dict, links: set) -> bool:
    """Whether ``g`` may join ``run`` (whose first member is ``run[0]``)."""
    groups, head = plan.groups, run[0]
    if head not in pos or g not in pos or pos[g] != pos[run[-1]] + 1:
        return False  # both in the loop, consecutive in its order
    a, b = groups[head], groups[g]
    if a.transfer != b.transfer or a.transfer.vector or g in plan.alias or head in plan.alias:
        return False
    if plan.fused.get(g) or plan.fused.get(head) or g in plan.loss_groups:
        return False
    if any((r, g) in links or (g, r) in links for r in run):
        return False
    members = {*run, g}  # every product a member takes from feeds the whole run
    return all(members <= {t for t, *_ in p.cols} for m in members for p in feeding[m])
