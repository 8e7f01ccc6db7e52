"""Training: the fit loop, data, metrics, callbacks, and model files."""

from anyprop.data import DataError, Dataset, Standardizer, load_csv, load_file
from anyprop.train.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    GradientStats,
    PrintLogger,
    StopWhenSolved,
    TargetLoss,
)
from anyprop.train.divergence import TrainingError
from anyprop.train.fit import fit
from anyprop.train.history import History
from anyprop.train.metrics import METRICS
from anyprop.train.settings import TrainSettings
from anyprop.train.trainer import Trainer

__all__ = [
    "METRICS",
    "Callback",
    "Checkpoint",
    "DataError",
    "Dataset",
    "EarlyStopping",
    "GradientStats",
    "History",
    "PrintLogger",
    "Standardizer",
    "StopWhenSolved",
    "TargetLoss",
    "TrainSettings",
    "Trainer",
    "TrainingError",
    "fit",
    "load_csv",
    "load_file",
]
