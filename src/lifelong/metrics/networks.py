"""Measurements of the networks, System A and B: METRICS.md "System A (world model)", items
"Linear probe", "Collapse" (effective rank) and "Calibration" (Spearman), and "System B and
plasticity", item "Dormant units".

Pure numpy on activations and features; `lifelong.diagnostics` collects those on a held-out probe
set and calls these.
"""

from __future__ import annotations

import math

import numpy as np

from lifelong.metrics.common import as_floats


def dormant_fraction(activations: np.ndarray, tau: float = 0.025) -> float:
    """Fraction of dormant units of one layer (METRICS.md "Dormant units", Sokar et al. 2023).

    activations (N, H) on a probe batch; unit i scores s_i = E|h_i| / ((1/H) sum_k E|h_k|) and
    is dormant when s_i <= tau (tau = 0 counts dead units). A layer that is all zeros is all
    dormant (1.0).
    """
    a = np.abs(as_floats(activations))
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"activations must be (N, H), got shape {a.shape}")
    per_unit = a.mean(axis=0)
    layer = per_unit.mean()
    if layer == 0:
        return 1.0
    return float(np.mean(per_unit / layer <= tau))


def effective_rank(features: np.ndarray) -> float:
    """Effective rank erank = exp(-sum p_i ln p_i), p_i = s_i / sum_j s_j (METRICS.md "Collapse").

    s are the singular values of the (N, D) feature batch as given (not centred), following
    Roy & Vetterli (2007). Ranges from 1 (rank one) to min(N, D); 0.0 for an all-zero batch,
    which is total collapse.
    """
    x = as_floats(features)
    if x.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {x.shape}")
    s = np.linalg.svd(x, compute_uv=False)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def linear_probe_r2(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    ridge: float = 1e-3,
) -> float:
    """Held-out R^2 of a ridge-regression probe on frozen features (METRICS.md "Linear probe").

    Fits y = x W + b on the training set with an L2 penalty `ridge` on W (not on the bias b),
    then scores R^2 = 1 - SS_res / SS_tot per target column of the test set (SS_tot around the
    test mean) and averages over columns. Columns with zero test variance have no R^2 and are
    skipped; NaN when none is left.
    """
    x_tr, x_te = as_floats(x_train), as_floats(x_test)
    y_tr, y_te = as_floats(y_train), as_floats(y_test)
    y_tr = y_tr[:, None] if y_tr.ndim == 1 else y_tr
    y_te = y_te[:, None] if y_te.ndim == 1 else y_te
    x_mean, y_mean = x_tr.mean(axis=0), y_tr.mean(axis=0)
    d = x_tr.shape[1]
    # Centring removes the bias from the penalised problem; stacking sqrt(ridge) I below the data
    # turns ridge into least squares, which also copes with ridge = 0 and rank-deficient x.
    a = np.vstack([x_tr - x_mean, math.sqrt(ridge) * np.eye(d)])
    b = np.vstack([y_tr - y_mean, np.zeros((d, y_tr.shape[1]))])
    w = np.linalg.lstsq(a, b, rcond=None)[0]
    predicted = (x_te - x_mean) @ w + y_mean
    ss_res = ((y_te - predicted) ** 2).sum(axis=0)
    ss_tot = ((y_te - y_te.mean(axis=0)) ** 2).sum(axis=0)
    keep = ss_tot > 0
    if not keep.any():
        return math.nan
    return float(np.mean(1.0 - ss_res[keep] / ss_tot[keep]))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of the ranks they span."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0
    return mean_rank[inverse.ravel()]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation with average ranks for ties (METRICS.md "Calibration").

    The Pearson correlation of the two rank vectors. Pairs with a NaN on either side are
    dropped; NaN with fewer than two pairs or when one side is constant.
    """
    a, b = as_floats(a).ravel(), as_floats(b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a {a.shape} and b {b.shape} must have the same length")
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        return math.nan
    ra, rb = _average_ranks(a[keep]), _average_ranks(b[keep])
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = math.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else math.nan
