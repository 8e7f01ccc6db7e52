"""What ``anyprop train`` does, from Python: one call, a model object back.

>>> import anyprop
>>> model = anyprop.train_model("xor", optimizer="sgd", lr=0.5, momentum=0.9, epochs=300,
...                             hidden=3, transfer="tanh")
>>> [round(float(p)) for p in model.predict([[0, 0], [0, 1]])[:, 0]]
[0, 1]

:func:`train_model` runs the same :class:`~anyprop.train.job.TrainJob` as the
command line (label encoding, the task rule, standardisation fitted on the
training part, the validation split, early stopping, the same defaults), so the
same arguments give the same model, bit for bit. :func:`load` reads a model file
written by either; :func:`save` writes a model, or a bare network.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from anyprop.errors import AnypropError
from anyprop.registry import suggest
from anyprop.train.job import TrainJob, run
from anyprop.train.model_io import Model, load_model, save_model
from anyprop.train.settings import FIELDS
from anyprop.train.sources import as_dataset

_JOB_FIELDS = {f.name for f in dataclasses.fields(TrainJob)} - {"data", "settings", "out"}


def train_model(data: Any, target: Any = None, **options: Any) -> Model:
    """Train as ``anyprop train`` does and return the model.

    ``data``: a data set's name, a file (.csv, .npy, .npz), an (inputs, targets) pair of
    arrays, lists or pandas objects (text labels become classes), or a Dataset.
    ``options`` are the command line's, by their Python names: ``spec`` (a spec file),
    ``epochs``, ``optimizer``, ``lr``, ``momentum``, ``hidden``, ``transfer``,
    ``validation_split``, ``early_stopping``, ``task``, ``seed``, ... and the training
    settings (``batch_size``, ``loss_reduction``, ``margin``, ...). ``out`` also writes
    the model file, as the command line does.
    """
    settings = {k: options.pop(k) for k in list(options) if k in FIELDS}
    out = options.pop("out", None)
    unknown = sorted(set(options) - _JOB_FIELDS)
    if unknown:
        hint = suggest(unknown[0], _JOB_FIELDS | FIELDS)
        raise AnypropError(f"train_model() has no option '{unknown[0]}'{hint}")
    source: Any = data if isinstance(data, str) else as_dataset(data, target)
    if isinstance(data, os.PathLike):
        source = str(data)
    job = TrainJob(
        data=source,
        target=target if isinstance(source, str) else None,
        settings=settings,
        out=out,
        **options,
    )
    return run(job).model()


def load(path: str | os.PathLike) -> Model:
    """A model file, written by ``anyprop train`` or by :meth:`Model.save`."""
    return load_model(path)


def save(thing: Any, path: str | os.PathLike) -> None:
    """Write a model (with its training state), or a bare network, as a model file."""
    if isinstance(thing, Model):
        thing.save(path)
        return
    if hasattr(thing, "params") and hasattr(thing, "plan"):
        save_model(path, thing)
        return
    raise AnypropError(f"save() writes a model or a network, got {type(thing).__name__}")
