"""Connections between unit groups: one class per kind, found through :data:`KINDS`.

- ``dense`` (:class:`Dense`): a (source units, target units) matrix W, net += o_src @ W,
  so W[i, j] is the weight w_ij from source unit i to target unit j;
- ``sparse`` (:class:`Sparse`): only listed (source unit, target unit) pairs have
  weights, one per pair, in the order the pairs were given;
- ``one_to_one`` (:class:`OneToOne`): one weight per unit pair (i, i), net += o_src ⊙ w.

Adding a kind means writing one subclass of :class:`Connection` (its parameter
shape, fans, forward, backward, tape form and unit pairs) and registering it
with :func:`connection_kind`; the network, the plan, the tape, specs and the
explanation tools find it through the registry.
"""

from anyprop.nn.connections.base import KINDS, Connection, connection_kind
from anyprop.nn.connections.dense import Dense
from anyprop.nn.connections.one_to_one import OneToOne
from anyprop.nn.connections.sparse import Sparse, csr, random_pairs, sparse_pairs

__all__ = [
    "KINDS",
    "Connection",
    "Dense",
    "OneToOne",
    "Sparse",
    "connection_kind",
    "csr",
    "random_pairs",
    "sparse_pairs",
]
