"""The plan's buffers: a smaller batch takes the first rows of the ones made for a larger,
with the same numbers as a plan made for it."""

from __future__ import annotations

import copy

import numpy as np

from tests.nn.plan.nets import _data, _net, dag


def test_a_smaller_batch_runs_in_the_first_rows_of_the_buffers():
    a = _net("float64", dag)
    b = copy.deepcopy(a)
    x, t = _data(a, 8, 0)
    pa, pb = a.plan(), b.plan()
    pa.backprop(x, t, None, False, False)
    held = dict(pa.nets)
    got = pa.backprop(x[:5], t[:5], None, False, False)  # the epoch's last, smaller batch
    want = pb.backprop(x[:5], t[:5], None, False, False)
    for name, v in want.nets.items():
        assert got.nets[name].shape == v.shape
        assert np.shares_memory(got.nets[name], held[name])  # no buffer made again
        np.testing.assert_array_equal(got.nets[name], v)
        np.testing.assert_array_equal(got.deltas[name], want.deltas[name])
    for name in want.grads:
        np.testing.assert_array_equal(got.grads[name], want.grads[name])
    again = pa.backprop(x, t, None, False, False)  # and the full batch in the full buffers
    assert all(again.nets[k] is held[k] for k in held)
    bigger = pa.backprop(np.vstack([x, x]), np.vstack([t, t]), None, False, False)
    assert bigger.nets["a"].shape[0] == 16
