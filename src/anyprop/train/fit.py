"""``fit``: train a network on data in one call (a :class:`Trainer` underneath).

>>> from anyprop import Network, datasets
>>> net = Network.layered([2, 3, 1], transfer="tanh", output_transfer="sigmoid", seed=1)
>>> history = fit(net, datasets.load("xor"), optimizer="sgd", lr=0.5, momentum=0.9,
...               epochs=300, seed=0, verbose=False)
>>> history.last("loss") < 0.01
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from anyprop.errors import AnypropError
from anyprop.train.callbacks import Callback, EarlyStopping, PrintLogger
from anyprop.train.history import History
from anyprop.train.trainer import Trainer


def fit(
    network: Any,
    data: Any,
    *,
    loss: Any = None,
    epochs: int = 100,
    optimizer: Any = "sgd",
    batch_size: int | str | None = None,
    validation: Any = None,
    validation_split: float = 0.0,
    early_stopping: int | EarlyStopping | None = None,
    target_loss: float | None = None,
    stop_when_solved: bool = False,
    sample_weight: Any = None,
    verbose: bool | int = True,
    callbacks: Iterable[Callback] = (),
    **options: Any,
) -> History:
    """Train ``network`` on ``data`` (a Dataset or an (inputs, targets) pair) and return
    the History.

    ``loss`` (a name, a formula in o and t, or an ops function) replaces the loss of
    the network's output group; by default each output group keeps its own.
    ``optimizer`` is a name (``sgd``, ``adam``, ``irprop``, ``quickprop``, ...), a table
    or an Optimizer; its options (``lr``, ``momentum``...) may be given here too.
    ``batch_size``: ``"online"`` (1) or a number; None leaves it to ``settings=`` (a
    :class:`TrainSettings`, full batch by default). ``early_stopping``:
    a patience in epochs (watching ``val_loss``) or an :class:`EarlyStopping`.
    ``stop_when_solved`` stops when every output is within ``margin`` (0.4) of its
    target for a whole epoch, as the classic papers count a problem solved.
    """
    if loss is not None:
        with_loss = [g for g in network.outputs if network.groups[g].loss is not None]
        if len(with_loss or network.outputs) != 1:
            raise AnypropError(
                "loss= applies to a network with one output group; give each "
                "output group its loss when building the network"
            )
        from anyprop.nn import losses

        group = network.groups[network.primary_output]
        group.loss = losses.get(loss)
        group.output = True
        network._changed()
    cbs = [] if callbacks is None else callbacks
    if isinstance(cbs, (str, bytes)) or not isinstance(cbs, Iterable):
        raise AnypropError(f"callbacks must be a list of Callback objects, got {cbs!r:.60}")
    cbs = list(cbs)
    patience = early_stopping is None or isinstance(early_stopping, EarlyStopping)
    if not patience and (isinstance(early_stopping, bool) or not isinstance(early_stopping, int)):
        raise AnypropError(
            f"early_stopping must be a patience (a whole number of epochs) or an "
            f"EarlyStopping, got {early_stopping!r}"
        )
    if not isinstance(verbose, (bool, int)):
        raise AnypropError(f"verbose must be True, False or every how many epochs, got {verbose!r}")
    if early_stopping is not None:
        es = (
            early_stopping
            if isinstance(early_stopping, EarlyStopping)
            else EarlyStopping(
                "val_loss" if (validation is not None or validation_split) else "loss",
                patience=int(early_stopping),
            )
        )
        cbs.append(es)
    if verbose:
        cbs.append(PrintLogger(every=1 if verbose is True else int(verbose)))
    if batch_size is not None:  # (None: as the settings say, full batch by default)
        options["batch_size"] = batch_size
    trainer = Trainer(network, optimizer, callbacks=cbs, **options)
    return trainer.fit(
        data, epochs, validation, validation_split, sample_weight, target_loss, stop_when_solved
    )
