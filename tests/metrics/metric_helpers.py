"""Brute-force references shared by the metric tests."""

from __future__ import annotations

import numpy as np


def fold_mean_r(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    """numpy's Pearson r of two vectors on each fold, averaged over the folds."""
    return float(
        np.mean([np.corrcoef(x[folds == f], y[folds == f])[0, 1] for f in np.unique(folds)])
    )
