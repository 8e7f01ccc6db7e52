"""The recurrence of the plan over sequences, a step at a time: the hot loops.

Everything a step touches is bound before the loop: per loop group, the products into
it with their source's full output buffer (history rows first: index ``t + H − d``
reads o_src(t − d), with H rows of carried state before step 0), the weights, the gate,
and how its transfer function is applied (alone, as a run of side-by-side groups, or
fused with its loss). Backwards, each group's δ(t) = f'(net(t)) ⊙ (what it has
gathered), then what it sends back to its sources at t − d (and to its gates).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.nn.plan.recurrent_layout import LOOP


def loop_forward(plan: Any, steps: int) -> None:
    """net and o of the loop groups for t = 0 … T−1 (see the module)."""
    of, nets, w, contrib, add = plan.of, plan.nets, plan.w, plan.contrib, plan.add
    hist = plan.hist
    multiply = np.multiply
    bound = []
    early_into = {t for p in plan.early for t, *_ in p.cols}
    for g in plan.by_phase[LOOP]:
        prods = []
        # a group holding zeros before the loop (no bias, nothing from outside it) has
        # its first product written into its net input (an add saved each step)
        write = plan.groups[g].bias_param is None and g not in early_into
        for p in plan.into[g]:
            if p.early:
                continue
            first = write and not p.merged
            write = write and p.merged
            store = p.gate is not None and not p.ident  # (an identity's is its source)
            gd = p.gate_delay
            # a merged product adds into its targets' columns of the bundle: bound here
            into = (
                plan.net_p[p.bundle][:, :, p.cols[0][1] : p.cols[-1][2]]
                if p.merged and p.bundle is not None
                else None
            )
            prods.append(
                (p, p.delay, of[p.src], w[id(p)], p.conns[0], p.gate, gd, first, store, into)
            )
        tr = plan.groups[g].transfer
        fused = plan.groups[g].loss.fused_forward if plan.fused.get(g) else None
        if g in plan.alias or (g in plan.in_run and g not in plan.run_first):
            how = None  # an identity, or a run's later member: nothing to apply
        elif g in plan.run_first:
            b, a, z = span = plan.run_first[g]
            how = (tr, plan.net_p[b][:, :, a:z], plan.run_outs[span])
        else:
            how = (tr, nets[g], plan.outs[g], fused)
        bound.append((g, prods, how))
    for t in range(steps):
        th = t + hist  # the step's row in the full (history-first) buffers
        for _g, prods, how in bound:
            for p, d, src, wp, c, gate, gd, first, store, into in prods:
                if d > th:
                    continue  # o_src(t − d) before the first step and any state: 0
                o = src[th - d]
                if into is not None:
                    into[t] += o @ wp
                    continue
                if p.merged:
                    add(p, o @ wp, t)
                    continue
                part = o if p.ident else c.forward(o, wp)
                if store:
                    contrib[id(p)][t] = part
                if gate is not None:
                    if gd > th:
                        continue
                    if first:
                        multiply(part, of[gate][th - gd], out=nets[c.tgt][t])
                        continue
                    part = part * of[gate][th - gd]
                if first:
                    nets[c.tgt][t] = part
                else:
                    nets[c.tgt][t] += part
            if how is None:
                continue
            if len(how) == 3:  # a run: one call for the side-by-side groups
                tr, net_r, out_r = how
                res = tr.forward_into(net_r[t], out_r[t])
                if res is not out_r[t]:
                    out_r[t] = res
                continue
            tr, net, out, fused = how
            if fused is not None:
                out[t] = fused(net[t])[0]
                continue
            res = tr.forward_into(net[t], out[t])
            if res is not out[t]:
                out[t] = res


def loop_backward(plan: Any) -> None:
    """δ of the loop groups for t = T−1 … 0, and what each sends back (see the module)."""
    steps, hist = plan.shape[0], plan.hist
    of, nets, deltas, w, contrib = plan.of, plan.nets, plan.deltas, plan.w, plan.contrib
    full_d = plan.full_d
    inputs, offset, fused_d = set(plan.inputs), plan.offset, plan.fused_d
    bound = []
    for g in reversed(plan.by_phase[LOOP]):
        tr = plan.groups[g].transfer
        if (g in plan.alias and not offset) or (g in plan.in_run and g not in plan.run_last):
            how = None
        elif g in plan.run_last:
            b, a, z = span = plan.run_last[g]
            how = (
                tr,
                plan.net_p[b][:, :, a:z],
                plan.run_outs[span],
                plan.delta_p[b][:, :, a:z],
                plan.run_scratch.get(span),
            )
        else:
            how = (tr, nets[g], plan.outs[g], deltas[g], plan.scratch.get(g))
        sends = []
        for p in plan.into[g]:
            if p.early:
                continue
            c = p.conns[0]
            if p.merged:
                if p.src in inputs:
                    continue
                if p.bundle is not None:
                    dcat = plan.delta_p[p.bundle][:, :, p.cols[0][1] : p.cols[-1][2]]
                else:
                    dcat = None
                sends.append((p, p.delay, dcat, w[id(p)].T, full_d[p.src], None, 0))
            else:
                back = full_d.get(p.src)
                sends.append((p, p.delay, deltas[c.tgt], w[id(p)], back, p.gate, p.gate_delay))
        bound.append((g, how, g in fused_d, sends))
    matmul = np.matmul
    for t in range(steps - 1, -1, -1):
        th = t + hist
        for g, how, fused, sends in bound:
            if how is not None:
                tr, net, out, go_all, scratch = how
                go = go_all[t]
                keep = go.copy() if offset and not tr.vector else None
                res = tr.backward_into(net[t], out[t], go, scratch)
                if res is not go:
                    go[...] = res
                if keep is not None:  # (f' + offset) ⊙ ∂L/∂o
                    go += offset * keep
            if fused:
                deltas[g][t] += fused_d[g][t]
            for p, d, dsrc, wt, back_to, gate, gd in sends:
                if d > th:
                    continue
                if p.merged:
                    dcat = (
                        dsrc[t]
                        if dsrc is not None
                        else np.concatenate([deltas[x][t] for x, *_ in p.cols], axis=1)
                    )
                    back_to[th - d] += matmul(dcat, wt)
                    continue
                dc = dsrc[t]
                if gate is not None:
                    if gd > th:
                        continue
                    if gate not in inputs:  # ∂net/∂o_gate = o_src · W
                        made = of[p.src][th - d] if p.ident else contrib[id(p)][t]
                        full_d[gate][th - gd] += dc * made
                    dc = dc * of[gate][th - gd]
                if back_to is None:  # (from an input)
                    continue
                back_to[th - d] += dc if p.ident else p.conns[0].backward(dc, wt)
