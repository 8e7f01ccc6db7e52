"""The figures people expect of an evaluation, beyond the training metrics.

For classes: accuracy, per-class precision, recall, F1 and support, their macro
averages, the confusion matrix (rows: the true class, columns: the predicted one)
and, for two classes, the ROC-AUC of the positive class's score. For values: MAE,
RMSE and R² (averaged over the target columns).

>>> o = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
>>> t = np.array([[1, 0], [0, 1], [0, 1], [0, 1]], dtype=float)
>>> r = classification_report(o, t, ["a", "b"])
>>> r["confusion"]["matrix"], r["roc_auc"]
([[1, 0], [1, 2]], 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata


def _classes(o: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """(true class, predicted class, number of classes, the positive class's score)."""
    o, t = np.asarray(o, dtype=np.float64), np.asarray(t, dtype=np.float64)
    if o.shape[1] == 1:  # one output unit for two classes: 0/1 by 0.5
        return (t[:, 0] > 0.5).astype(int), (o[:, 0] > 0.5).astype(int), 2, o[:, 0]
    return t.argmax(axis=1), o.argmax(axis=1), o.shape[1], o[:, -1]


def roc_auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """The area under the ROC curve: the chance that a positive scores above a negative
    (ties count half), from the ranks (Mann–Whitney); None with one class only."""
    pos = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_report(o: np.ndarray, t: np.ndarray, labels: list[str] | None) -> dict:
    true, pred, k, score = _classes(o, t)
    names = list(labels) if labels and len(labels) == k else [str(c) for c in range(k)]
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (true, pred), 1)
    per_class: dict[str, Any] = {}
    for c, name in enumerate(names):
        tp = int(matrix[c, c])
        predicted, actual = int(matrix[:, c].sum()), int(matrix[c].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    report: dict[str, Any] = {
        "accuracy": float(np.trace(matrix) / max(len(true), 1)),
        "macro_precision": float(np.mean([v["precision"] for v in per_class.values()])),
        "macro_recall": float(np.mean([v["recall"] for v in per_class.values()])),
        "macro_f1": float(np.mean([v["f1"] for v in per_class.values()])),
        "per_class": per_class,
        "confusion": {"labels": names, "matrix": matrix.tolist()},
    }
    if k == 2:
        report["roc_auc"] = roc_auc(score, true == 1)
    return report


def multilabel_report(o: np.ndarray, t: np.ndarray, names: list[str] | None) -> dict:
    """Several yes/no outputs (0/1 targets, outputs by 0.5): per output, precision,
    recall, F1, support and ROC-AUC, their macro averages, and the exact match (the
    fraction of samples with every output right)."""
    o, t = np.asarray(o, dtype=np.float64), np.asarray(t, dtype=np.float64)
    yes, truth = o > 0.5, t > 0.5
    names = (
        list(names) if names and len(names) == o.shape[1] else [f"y{k}" for k in range(o.shape[1])]
    )
    per: dict[str, Any] = {}
    for k, name in enumerate(names):
        tp = int(np.sum(yes[:, k] & truth[:, k]))
        predicted, actual = int(yes[:, k].sum()), int(truth[:, k].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": actual,
            "roc_auc": roc_auc(o[:, k], truth[:, k]),
        }
    return {
        "accuracy": float(np.mean(yes == truth)),
        "exact_match": float(np.mean(np.all(yes == truth, axis=1))),
        "macro_precision": float(np.mean([v["precision"] for v in per.values()])),
        "macro_recall": float(np.mean([v["recall"] for v in per.values()])),
        "macro_f1": float(np.mean([v["f1"] for v in per.values()])),
        "per_label": per,
    }


def regression_report(o: np.ndarray, t: np.ndarray) -> dict:
    o, t = np.asarray(o, dtype=np.float64), np.asarray(t, dtype=np.float64).reshape(o.shape)
    err = o - t
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    ss_res = (err**2).sum(axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "r2": float(r2.mean()),
    }
