"""Defaults for what a user did not say: a recipe fills a training job's unset options.

A recipe is one definition of the training options a run takes when the user
gives none: the optimizer (at its own default learning rate), the mini-batch
size, the epochs, and when to hold out a validation part for early stopping.
It fills only the options left unset; whatever the user gives (a flag, an
argument of :func:`anyprop.train_model`) is taken as given.

``tabular`` (the default) was chosen by measuring candidates on a panel of
tabular data sets against scikit-learn's MLP defaults (``bench/accuracy.py``,
docs/accuracy.md). ``plain`` is the rule the README opens with: full-batch
gradient descent, w ← w − 0.01·∂L/∂w, 100 epochs, nothing held out.

>>> filled = RECIPES["tabular"].fill(rows=20000, optimizer=None, epochs=None, batch_size=UNSET,
...                                  validation_split=None, early_stopping=None)
>>> filled.fields  # doctest: +NORMALIZE_WHITESPACE
{'optimizer': 'adam', 'epochs': 200, 'validation_split': 0.1, 'early_stopping': 10,
 'batch_size': 64}
>>> RECIPES["tabular"].fill(rows=500, optimizer=None, epochs=None, batch_size=UNSET,
...                         validation_split=None, early_stopping=None).fields["min_delta"]
0.0001
>>> RECIPES["tabular"].fill(rows=4, optimizer=None, epochs=None, batch_size=UNSET,
...                         validation_split=None, early_stopping=None).fields["batch_size"] is None
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anyprop.errors import AnypropError
from anyprop.registry import suggest

#: the hidden layer of a network made for the data (no spec): measured with the default
#: recipe on the accuracy panel (docs/accuracy.md), as scikit-learn's MLP has it
DEFAULT_HIDDEN = 100
DEFAULT_TRANSFER = "relu"

#: a ``batch_size`` argument that was not given (None is a given "full batch")
UNSET: Any = False


@dataclass(frozen=True)
class Filled:
    """The options a recipe filled (by their job field names), and each in words."""

    fields: dict[str, Any]
    said: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Recipe:
    """The options a run takes when the user gives none.

    ``optimizer`` runs at its own default learning rate. ``batch_size``: samples per step
    (a training part this small or smaller is one full batch; None: always full batch).
    ``holdout_rows``: a training set of at least this many rows holds out ``holdout`` of
    itself for validation (None: never, and no early stopping is filled); a validation
    part stops the run early after ``patience`` epochs without a better validation loss,
    keeping the best weights. ``converged``: without a validation part, where the user
    left the epochs to the recipe and set no stop of their own, the run ends once the
    training loss has not improved by this much for ``patience`` epochs, keeping the
    last weights (scikit-learn's ``tol`` and ``n_iter_no_change``)."""

    name: str
    description: str
    optimizer: str
    epochs: int
    batch_size: int | None
    holdout_rows: int | None = None
    holdout: float = 0.1
    patience: int = 10
    # below holdout_rows, with the epochs left to the recipe: stop once the training loss
    # has not improved by ``converged`` for ``patience`` epochs (None: never)
    converged: float | None = None

    def fill(
        self,
        rows: int,
        optimizer: str | None,
        epochs: int | None,
        batch_size: Any,
        validation_split: float | None,
        early_stopping: int | bool | None,
        stops: bool = False,
        min_delta: float | None = None,
    ) -> Filled:
        """The unset options (None; ``batch_size``: :data:`UNSET`) of a run on ``rows``
        training rows, filled. ``early_stopping`` False: none, by the user's choice;
        ``stops``: the user set a stop of their own (a target loss, stop-when-solved).

        The hold-out is decided on the rows before it is split off, the batch size on
        the rows left to train on. Any validation part, given or filled, gets early
        stopping on its loss (the best weights kept); without one, the convergence stop
        applies where the epochs, too, were left to the recipe."""
        fields: dict[str, Any] = {}
        said: list[str] = []
        if optimizer is None:
            fields["optimizer"] = self.optimizer
            said.append(f"optimizer {self.optimizer}")
        if epochs is None:
            fields["epochs"] = self.epochs
            said.append(f"{self.epochs} epochs")
        holdout = validation_split
        if validation_split is None:
            big = self.holdout_rows is not None and rows >= self.holdout_rows
            holdout = self.holdout if big else 0.0
            fields["validation_split"] = holdout
            if big:
                said.append(
                    f"{self.holdout:.0%} held out for validation ({rows} rows >= "
                    f"{self.holdout_rows})"
                )
        if early_stopping is None:
            if holdout and self.holdout_rows is not None:
                fields["early_stopping"] = self.patience
                said.append(
                    f"early stopping after {self.patience} epochs without a better validation "
                    "loss, best weights kept"
                )
            elif epochs is None and not stops and self.converged is not None:
                delta = self.converged if min_delta is None else min_delta + 0.0  # (not -0)
                fields.update(early_stopping=self.patience, min_delta=delta, restore_best=False)
                said.append(
                    f"ends once the training loss improves by less than {delta:g} in "
                    f"{self.patience} epochs"
                )
        if batch_size is UNSET:
            left = rows - round(rows * holdout) if holdout else rows
            full = self.batch_size is None or left <= self.batch_size
            fields["batch_size"] = None if full else self.batch_size
            said.append("full batch" if full else f"batch size {self.batch_size}")
        return Filled(fields, said)


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "tabular",
            "measured on tabular data (docs/accuracy.md): adam at lr 0.001, batches of 64, "
            "200 epochs (ending once the training loss settles); from 10000 rows, 10% held "
            "out and early stopping (patience 10)",
            optimizer="adam",
            epochs=200,
            batch_size=64,
            holdout_rows=10000,
            converged=1e-4,
        ),
        Recipe(
            "plain",
            "the rule as the README states it: full-batch sgd at lr 0.01, 100 epochs, "
            "nothing held out",
            optimizer="sgd",
            epochs=100,
            batch_size=None,
        ),
    )
}
DEFAULT_RECIPE = "tabular"


def recipe(name: str | None) -> Recipe:
    """The recipe called ``name`` (None: the default)."""
    key = DEFAULT_RECIPE if name is None else name
    if not isinstance(key, str):
        raise AnypropError(f"a recipe is given by its name ({', '.join(RECIPES)}), got {key!r}")
    if key not in RECIPES:
        raise AnypropError(
            f"no recipe '{key}'{suggest(key, RECIPES)}; there are: {', '.join(RECIPES)}"
        )
    return RECIPES[key]
