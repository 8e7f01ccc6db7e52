"""Training: the general rule applied epoch after epoch.

>>> from anyprop import Network, datasets
>>> from anyprop.train import fit
>>> net = Network.layered([2, 3, 1], transfer="tanh", output_transfer="sigmoid", seed=1)
>>> history = fit(net, datasets.load("xor"), optimizer="sgd", lr=0.5, momentum=0.9,
...               epochs=300, seed=0, verbose=False)
>>> history.last("loss") < 0.01
True

Each step: forward and backward on a batch (:meth:`Network.backprop`), the
gradients made complete (:meth:`Trainer.reduce_gradients`, the seam where
several processes would average them), then the optimizer's update. Batches are
drawn from a seeded Generator, so the same seed gives a bitwise-identical run,
and :meth:`Trainer.state_dict` holds everything to resume exactly.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop.data import Dataset
from anyprop.errors import AnypropError, ShapeError
from anyprop.nn.plan import Options
from anyprop.optim import Optimizer
from anyprop.optim import make as make_optimizer
from anyprop.optim.schedules import Schedule
from anyprop.optim.schedules import make as make_schedule
from anyprop.train.callbacks import Callback, EarlyStopping, PrintLogger
from anyprop.train.metrics import METRICS, default_metrics


def split_seed_for(seed: int | None) -> int:
    """The seed of the validation split of a run seeded ``seed`` (apart from the stream that
    shuffles the batches, so that the split does not depend on the epochs run)."""
    return int(np.random.default_rng(seed).integers(2**32))


class TrainingError(AnypropError, RuntimeError):
    """Training that cannot go on (a non-finite loss or delta, say)."""


@dataclass
class History:
    """Per-epoch figures: ``epochs[k]`` is a dict (loss, metrics, val_..., lr, time)."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    gradients: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str | None = None
    solved_epoch: int | None = None
    restored_epoch: int | None = None

    def __getitem__(self, key: str) -> list[float]:
        return [e[key] for e in self.epochs if key in e]

    def __len__(self) -> int:
        return len(self.epochs)

    def last(self, key: str) -> float:
        values = self[key]
        if not values:
            raise KeyError(f"history has no '{key}' (it has {', '.join(self.names())})")
        return values[-1]

    def names(self) -> list[str]:
        """The figures recorded (loss, metrics, val_..., lr, time), in order of appearance."""
        out: list[str] = []
        for e in self.epochs:
            out += [k for k in e if k not in out]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {  # copies: a snapshot, not the live record
            "epochs": [dict(e) for e in self.epochs],
            "gradients": [dict(g) for g in self.gradients],
            "stop_reason": self.stop_reason,
            "solved_epoch": self.solved_epoch,
            "restored_epoch": self.restored_epoch,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        return cls(
            [dict(e) for e in d.get("epochs", [])],
            [dict(g) for g in d.get("gradients", [])],
            d.get("stop_reason"),
            d.get("solved_epoch"),
            d.get("restored_epoch"),
        )


def _as_dataset(data: Any, what: str) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        x, y = (np.asarray(a) for a in data)
        if x.ndim == 1:
            x = x[:, None]
        task = (
            "classification" if np.issubdtype(y.dtype, np.integer) and y.ndim == 1 else "regression"
        )
        return Dataset(x, y, what, task=task)
    raise AnypropError(
        f"{what} must be a Dataset or an (inputs, targets) pair, got {type(data).__name__}"
    )


class Trainer:
    """Trains one network with one optimizer; :func:`fit` is the usual way in."""

    def __init__(
        self,
        network: Any,
        optimizer: Optimizer | str | Mapping = "sgd",
        *,
        lr: float | None = None,
        schedule: Any = None,
        batch_size: int | str | None = None,
        shuffle: bool = True,
        seed: int | np.random.Generator | None = 0,
        metrics: Sequence[str] | None = None,
        margin: float = 0.4,
        class_weight: Mapping[Any, float] | None = None,
        callbacks: Iterable[Callback] = (),
        prime_offset: float = 0.0,
        atanh_error: bool = False,
        loss_reduction: str = "mean",
        **optimizer_options: Any,
    ) -> None:
        self.network = network
        if isinstance(optimizer, Optimizer):
            if lr is not None or optimizer_options:
                raise AnypropError(
                    "give options to an optimizer object when making it, not to fit()"
                )
            self.optimizer = optimizer
        else:
            if lr is not None:
                optimizer_options["lr"] = lr
            self.optimizer = make_optimizer(optimizer, self.network, **optimizer_options)
        self.schedule: Schedule | None = (
            None
            if schedule is None
            else schedule
            if isinstance(schedule, Schedule)
            else make_schedule(schedule, self.optimizer.lr)
        )
        if batch_size == "online":
            batch_size = 1
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise AnypropError(
                f"batch_size must be a whole number >= 1, 'online' or None (full "
                f"batch), got {batch_size!r}"
            )
        self.batch_size = batch_size
        self.shuffle = shuffle
        if isinstance(seed, np.random.Generator):
            self.rng = seed
            self.split_seed = int(seed.integers(2**32))
        else:
            self.rng = np.random.default_rng(seed)
            self.split_seed = split_seed_for(seed)
        self.metric_names = list(metrics) if metrics is not None else None
        for m in self.metric_names or []:
            METRICS.get(m)
        self.margin = float(margin)
        self.class_weight = dict(class_weight) if class_weight else None
        self.callbacks = list(callbacks)
        self.prime_offset, self.atanh_error = float(prime_offset), bool(atanh_error)
        if loss_reduction not in ("mean", "sum"):
            raise AnypropError(f"loss_reduction must be 'mean' or 'sum', got {loss_reduction!r}")
        self.loss_reduction = loss_reduction
        self.config = {
            "batch_size": batch_size,
            "shuffle": shuffle,
            "margin": self.margin,
            "metrics": self.metric_names,
            "prime_offset": self.prime_offset,
            "atanh_error": self.atanh_error,
            "loss_reduction": self.loss_reduction,
            "class_weight": {str(k): v for k, v in (self.class_weight or {}).items()},
            "schedule": None if self.schedule is None else self.schedule.config(),
        }
        self.history = History()
        self.epoch = 0  # the number of epochs done
        self.stop = False
        self.stop_reason: str | None = None
        self._epoch_solved = False
        #: how this trainer's passes compute the loss and the deltas (given per call)
        self.options = Options(self.loss_reduction, self.prime_offset, self.atanh_error)
        self._checks: tuple | None = None  # (plan, what _delta_sum reads of its passes)

    # --- the step ---------------------------------------------------------------
    def reduce_gradients(self, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The seam between complete local gradients and the update: one process returns
        them as they are; a data-parallel trainer averages them across processes here."""
        return grads

    def step(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, batch: int) -> Any:
        """One step of the rule on one batch; returns the Backprop."""
        plan = self.network.plan()
        bp = plan.backprop(x, y, w, False, False, self.options)
        grads = self.reduce_gradients(bp.grads)
        if not math.isfinite(bp.loss + self._delta_sum(plan, bp)):
            self._diverged(bp, batch)
        self.optimizer.step(grads)
        return bp

    def _delta_sum(self, plan: Any, bp: Any) -> float:
        """A sum that is non-finite when any delta is: each group's bias gradient (a sum of
        its deltas over the batch), and the deltas themselves where a group has no bias.
        It costs a pass over the activations, not over the weights."""
        cached = self._checks
        checks = cached[1] if cached is not None and cached[0] is plan else None
        if checks is None:
            checks = [
                (True, g.bias_param) if g.bias_param else (False, g.name)
                for g in self.network.groups.values()
                if not g.is_input
            ]
            self._checks = (plan, checks)
        grads, deltas = bp.grads, bp.deltas
        flat = getattr(grads, "flat", None)
        if flat is not None and flat.size <= 65536:  # small: one reduction over all gradients
            return float(np.add.reduce(flat))
        total = 0.0
        for is_bias, name in checks:
            total += float(np.add.reduce(grads[name] if is_bias else deltas[name], axis=None))
        return total

    def _diverged(self, bp: Any, batch: int) -> None:
        first = None
        for name in reversed(self.network.order()):
            d = bp.deltas.get(name)
            if d is not None and not np.all(np.isfinite(d)):
                first = name
        where = f"epoch {self.epoch + 1}, batch {batch + 1}"
        if not math.isfinite(bp.loss):
            what = f"the loss became {bp.loss}"
        else:
            what = "a gradient became non-finite"
        group = f"; the first group whose deltas went non-finite is '{first}'" if first else ""
        lr = self.optimizer.lr
        raise TrainingError(
            f"training stopped at {where}: {what}{group}. Likely causes: a learning rate too "
            f"large for this network ({lr:g}: try {lr / 10:g}), or a transfer function "
            "overflowing (large net inputs: scale the inputs, or use a bounded function). "
            "The weights are those of the last good step."
        )

    # --- epochs -----------------------------------------------------------------
    def _weights(self, data: Dataset, sample_weight: np.ndarray | None) -> np.ndarray | None:
        w = (
            None
            if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        )
        if w is not None and w.shape != (len(data),):
            raise ShapeError(f"sample_weight has {w.size} values for {len(data)} samples")
        if self.class_weight:
            if data.task != "classification" or data.y.ndim != 1:
                raise AnypropError("class_weight needs class targets (one class index per sample)")
            cw = np.array(
                [
                    self.class_weight.get(c, self.class_weight.get(str(c), 1.0))
                    for c in data.y.tolist()
                ]
            )
            w = cw if w is None else w * cw
        return w

    def _metrics_for(self, data: Dataset) -> list[str]:
        return self.metric_names if self.metric_names is not None else default_metrics(data.task)

    def _evaluate_outputs(
        self, outs: np.ndarray, data: Dataset, prefix: str, targets: np.ndarray | None = None
    ) -> dict[str, float]:
        """Metrics of one output group's outputs against the data's targets (as prepared)."""
        t = self._prepared_targets(data) if targets is None else targets
        logs = {}
        for m in self._metrics_for(data):
            logs[prefix + m] = METRICS.get(m)(outs, t, task=data.task, margin=self.margin)
        return logs

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The outputs for ``x``, laid out like the targets (:meth:`Network.gather`)."""
        return self.network.gather(self.network.plan().forward(x)).copy()

    def loss_on(self, data: Dataset) -> tuple[float, np.ndarray]:
        """(loss, outputs) on a whole data set, without training."""
        plan = self.network.plan()
        total, outs = plan.evaluate(data.x, data.y, None, self.options)
        return total, self.network.gather(outs).copy()

    #: data sets up to this size are permuted whole each epoch (batches are then slices);
    #: larger ones are gathered batch by batch, so as not to copy them
    PERMUTE_BYTES = 16 * 2**20

    def run_epoch(self, data: Dataset, weights: np.ndarray | None) -> dict[str, float]:
        n = len(data)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        size = self.batch_size or n
        dtype = self.network.dtype
        x_all = data.x.astype(dtype, copy=False)
        # the targets as the loss wants them, made once (class indices become one-hot rows)
        y_all = self._prepared_targets(data, dtype)
        whole = x_all.nbytes + y_all.nbytes <= self.PERMUTE_BYTES
        if whole:  # the same batches in the same order, as slices of one permuted copy
            x_all, y_all = x_all[order], y_all[order]
            weights = None if weights is None else weights[order]
        seen = np.empty((n, self.network.target_width), dtype=dtype)  # outputs, in x_all's order
        loss_sum, weight_sum = 0.0, 0.0
        for b, start in enumerate(range(0, n, size)):
            if whole:
                place: Any = slice(start, min(start + size, n))
            else:
                place = order[start : start + size]
            x, y = x_all[place], y_all[place]
            w = None if weights is None else weights[place]
            bp = self.step(x, y, w, b)
            seen[place] = self.network.gather(bp.outputs)
            k = len(x)
            if self.loss_reduction == "sum":  # a batch reports its sum: the epoch's is their sum
                loss_sum += bp.loss
                weight_sum = 1.0
            else:
                loss_sum += bp.loss * k
                weight_sum += k
            for cb in self.callbacks:
                cb.on_batch_end(self, b, bp)
        logs = {"loss": loss_sum / weight_sum}
        # y_all is in the order of seen, whether permuted whole or gathered batch by batch
        targets = y_all
        logs.update(self._evaluate_outputs(seen, data, "", targets))
        # "solved" (every output within the margin of its target) is the classic papers'
        # criterion for 0/1 and numeric targets; for classes, accuracy says it
        self._epoch_solved = data.task != "classification" and bool(
            METRICS.get("solved")(seen, targets, margin=self.margin)
        )
        return logs

    def _prepared_targets(self, data: Dataset, dtype: Any = np.float64) -> np.ndarray:
        """The targets as the outputs are laid out (class indices as one-hot rows)."""
        return self.network.prepare_targets(data.y, dtype)

    def fit(
        self,
        data: Any,
        epochs: int,
        validation: Any = None,
        validation_split: float = 0.0,
        sample_weight: Any = None,
        target_loss: float | None = None,
        stop_when_solved: bool = False,
    ) -> History:
        """Train for up to ``epochs`` epochs (counting those already done when resuming)."""
        train = _as_dataset(data, "training data")
        self._check_data(train)
        val = None if validation is None else _as_dataset(validation, "validation data")
        if validation_split:
            if val is not None:
                raise AnypropError("give validation data or a validation_split, not both")
            keep, held = train.split_indices(
                validation_split, np.random.default_rng(self.split_seed)
            )
            if sample_weight is not None:  # the weights go with their samples
                sample_weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
                if sample_weight.shape != (len(train),):
                    raise ShapeError(
                        f"sample_weight has {sample_weight.size} values for {len(train)} samples"
                    )
                sample_weight = sample_weight[keep]
            train, val = train.subset(keep), train.subset(held)
        if val is not None:
            self._check_data(val)
        weights = self._weights(train, sample_weight)
        if not isinstance(epochs, int) or epochs < 0:
            raise AnypropError(f"epochs must be a whole number >= 0, got {epochs!r}")
        self.stop, self.stop_reason = False, None
        for cb in self.callbacks:
            cb.on_train_begin(self)
        # Overflow shows up as a non-finite loss or gradient, which step() reports clearly;
        # NumPy's own warnings would only repeat it (set once here: errstate is slow per step).
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._epochs(train, val, weights, epochs, target_loss, stop_when_solved)
        self.history.stop_reason = self.stop_reason or f"{self.epoch} epochs done"
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    def _epochs(
        self,
        train: Dataset,
        val: Dataset | None,
        weights: np.ndarray | None,
        epochs: int,
        target_loss: float | None,
        stop_when_solved: bool,
    ) -> None:
        try:
            while self.epoch < epochs and not self.stop:
                if self.schedule is not None:
                    self.optimizer.lr = self.schedule.lr(self.epoch)
                for cb in self.callbacks:
                    cb.on_epoch_begin(self)
                t0 = time.perf_counter()
                logs = self.run_epoch(train, weights)
                if val is not None:
                    vloss, vout = self.loss_on(val)
                    logs["val_loss"] = vloss
                    logs.update(self._evaluate_outputs(vout, val, "val_"))
                logs["lr"] = self.optimizer.lr
                logs["time"] = time.perf_counter() - t0
                if self.schedule is not None:
                    self.schedule.observe(logs.get("val_loss", logs["loss"]))
                self.history.epochs.append(logs)
                if self.history.solved_epoch is None and self._epoch_solved:
                    self.history.solved_epoch = self.epoch + 1
                if stop_when_solved and self.history.solved_epoch is not None:
                    self.stop, self.stop_reason = (
                        True,
                        (f"solved: every output within {self.margin} of its target"),
                    )
                if target_loss is not None and logs["loss"] <= target_loss:
                    self.stop, self.stop_reason = True, f"target loss {target_loss:g} reached"
                self.epoch += 1
                for cb in self.callbacks:
                    cb.on_epoch_end(self, logs)
        except KeyboardInterrupt:
            self.stop, self.stop_reason = True, "interrupted"
            self.history.stop_reason = self.stop_reason
            for cb in self.callbacks:
                cb.on_train_end(self)
            raise

    def _check_data(self, data: Dataset) -> None:
        n_in = self.network.input_width
        if data.x.shape[1] != n_in:
            raise ShapeError(
                f"{data.name}: {data.x.shape[1]} input columns, but the network has "
                f"{n_in} input units"
            )
        self.network.prepare_targets(data.y[: min(len(data.y), 1000)])

    # --- state --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly."""
        return {
            "config": copy.deepcopy(self.config),
            "epoch": self.epoch,
            "rng": self.rng.bit_generator.state,
            "split_seed": self.split_seed,
            "history": self.history.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            "callbacks": [cb.state_dict() for cb in self.callbacks],
        }

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.epoch = int(sd["epoch"])
        self.rng.bit_generator.state = sd["rng"]
        self.split_seed = int(sd.get("split_seed", self.split_seed))
        self.history = History.from_dict(sd["history"])
        self.optimizer.load_state_dict(sd["optimizer"])
        if self.schedule is not None and sd.get("schedule") is not None:
            self.schedule.load_state_dict(sd["schedule"])
        for cb, s in zip(self.callbacks, sd.get("callbacks", []), strict=False):
            cb.load_state_dict(s)

    @classmethod
    def from_state(
        cls, network: Any, state: Mapping[str, Any], callbacks: Iterable[Callback] = ()
    ) -> Trainer:
        """A trainer that continues exactly where the one that saved ``state`` stopped."""
        cfg = dict(state.get("config") or {})
        opt_cfg = dict(state["optimizer"]["config"])
        name = opt_cfg.pop("name")
        class_weight = cfg.get("class_weight") or None
        schedule = cfg.get("schedule")
        trainer = cls(
            network,
            name,
            schedule=None,
            batch_size=cfg.get("batch_size"),
            shuffle=cfg.get("shuffle", True),
            seed=0,
            metrics=cfg.get("metrics"),
            margin=cfg.get("margin", 0.4),
            class_weight=class_weight,
            callbacks=callbacks,
            prime_offset=cfg.get("prime_offset", 0.0),
            atanh_error=cfg.get("atanh_error", False),
            loss_reduction=cfg.get("loss_reduction", "mean"),
            **opt_cfg,
        )
        if schedule is not None:
            trainer.schedule = make_schedule(schedule, trainer.optimizer.lr)
            trainer.config["schedule"] = schedule
        trainer.load_state_dict(state)
        return trainer

    def save(self, path: str, **extra: Any) -> None:
        """Write the model and this trainer's state to ``path`` (atomically)."""
        from anyprop.train.model_io import save_model

        save_model(path, self.network, trainer=self, **extra)


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
    ``batch_size``: None for full batch, ``"online"`` (1) or a number. ``early_stopping``:
    a patience in epochs (watching ``val_loss``) or an :class:`EarlyStopping`.
    ``stop_when_solved`` stops when every output is within ``margin`` (0.4) of its
    target for a whole epoch, as the classic papers count a problem solved.
    """
    if loss is not None:
        net = network
        outs = [g for g in net.outputs if net.groups[g].loss is not None] or net.outputs
        if len(outs) != 1:
            raise AnypropError(
                "loss= applies to a network with one output group; give each "
                "output group its loss when building the network"
            )
        from anyprop.nn import losses

        net.groups[outs[0]].loss = losses.get(loss)
        net.groups[outs[0]].output = True
        net._changed()
    cbs = list(callbacks)
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
    trainer = Trainer(network, optimizer, batch_size=batch_size, callbacks=cbs, **options)
    return trainer.fit(
        data, epochs, validation, validation_split, sample_weight, target_loss, stop_when_solved
    )
