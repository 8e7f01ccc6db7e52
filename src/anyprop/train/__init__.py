"""Training: the fit loop, data, metrics, callbacks, and model files."""

from anyprop.data import DataError, Dataset, Standardizer, load_csv, load_file
from anyprop.train.callbacks import Callback, Checkpoint, EarlyStopping, GradientStats, PrintLogger
from anyprop.train.metrics import METRICS
from anyprop.train.trainer import History, Trainer, TrainingError, fit

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
    "Trainer",
    "TrainingError",
    "fit",
    "load_csv",
    "load_file",
]
