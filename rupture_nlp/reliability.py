"""Reliability statistics for more than two coders: Krippendorff's α, ICC, session bootstrap.

Why written here rather than imported:
- Krippendorff's α (nominal) is a dozen lines of numpy over the coincidence matrix
  (Krippendorff 2011, "Computing Krippendorff's alpha-reliability"); the `krippendorff`
  package is GPL-3.0, which an Apache-2.0 runtime should not depend on, so it is used only
  in the tests as an independent check of this implementation.
- ICC: `pingouin` pulls in plotting libraries for one formula. We compute ICC(2,1) of
  Shrout & Fleiss (1979), McGraw & Wong's ICC(A,1): two-way random effects, absolute
  agreement, single rater. Random, because the coders compared (a model, two humans) stand
  for coders in general; absolute agreement, because a coder who finds twice as many
  markers in every segment is *not* interchangeable with one who finds half as many, and a
  3RS score is read as a level, not a rank. ICC(3,1) (consistency) is reported beside it
  so a reader can see how much of the gap is a systematic offset between coders.
- Bootstrap: turns and segments of one session are not independent, so every interval
  resamples whole sessions with replacement (as `evaluate.bootstrap_ci` does) and takes
  the 2.5th and 97.5th percentiles.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def kappa_codes(a: np.ndarray, b: np.ndarray, n_labels: int) -> float:
    """Cohen's κ of two integer-coded label arrays (fast enough for bootstrap loops).

    One label used by both coders on every item gives 1.0, as `agreement.kappa` does.
    """
    if len(a) == 0:
        return float("nan")
    table = np.bincount(a * n_labels + b, minlength=n_labels * n_labels).reshape(n_labels, n_labels) / len(a)
    observed = np.trace(table)
    expected = float(table.sum(1) @ table.sum(0))
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else float("nan")
    return float((observed - expected) / (1.0 - expected))


def alpha_nominal(data: np.ndarray) -> float:
    """Krippendorff's α for nominal data; `data` is coders × units of integer codes, -1 = missing.

    Units with fewer than two codes are not pairable and are left out; α is NaN when the
    pairable values hold one category only (no disagreement is possible, α undefined).
    """
    data = np.asarray(data)
    if data.size == 0:
        return float("nan")
    n_values = int(data.max()) + 1 if (data >= 0).any() else 0
    counts = np.zeros((data.shape[1], max(n_values, 1)))
    for row in data:
        present = row >= 0
        counts[np.flatnonzero(present), row[present]] += 1
    m = counts.sum(1)
    counts = counts[m >= 2]
    m = m[m >= 2]
    if len(m) == 0:
        return float("nan")
    weights = 1.0 / (m - 1)
    coincidence = (counts * weights[:, None]).T @ counts - np.diag((counts * weights[:, None]).sum(0))
    n_c = coincidence.sum(1)
    n = n_c.sum()
    disagree_expected = n * n - float(n_c @ n_c)
    if disagree_expected <= 0:
        return float("nan")
    disagree_observed = n - np.trace(coincidence)
    return float(1.0 - (n - 1) * disagree_observed / disagree_expected)


def icc(ratings: np.ndarray) -> dict[str, float]:
    """ICC(2,1) (absolute agreement) and ICC(3,1) (consistency) of targets × raters.

    Mean squares of the two-way ANOVA without replication (Shrout & Fleiss 1979):
    ICC(2,1) = (MSR − MSE) / (MSR + (k−1)·MSE + k·(MSC − MSE)/n),
    ICC(3,1) = (MSR − MSE) / (MSR + (k−1)·MSE). NaN when undefined (fewer than two
    targets or raters, or no variance at all).
    """
    y = np.asarray(ratings, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2:
        return {"icc2_1": float("nan"), "icc3_1": float("nan"), "n": int(y.shape[0]) if y.ndim == 2 else 0}
    n, k = y.shape
    grand = y.mean()
    rows, cols = y.mean(1), y.mean(0)
    msr = k * ((rows - grand) ** 2).sum() / (n - 1)
    msc = n * ((cols - grand) ** 2).sum() / (k - 1)
    mse = ((y - rows[:, None] - cols[None, :] + grand) ** 2).sum() / ((n - 1) * (k - 1))
    denominator2 = msr + (k - 1) * mse + k * (msc - mse) / n
    denominator3 = msr + (k - 1) * mse
    return {"icc2_1": float((msr - mse) / denominator2) if denominator2 > 0 else float("nan"),
            "icc3_1": float((msr - mse) / denominator3) if denominator3 > 0 else float("nan"), "n": n}


def session_bootstrap(groups: Sequence[str], statistic: Callable[[np.ndarray], float], n_boot: int = 1000,
                      seed: int = 0, size: int | None = None, replace: bool = True) -> list[float] | None:
    """95 % percentile interval of `statistic(rows)` over resamples of whole sessions.

    `groups[i]` is the session of row i; `statistic` receives the row indices of one
    resample: by default as many sessions as there are, drawn with replacement (so a row may
    appear more than once); with `size` and `replace=False`, random sets of `size` distinct
    sessions. Resamples where the statistic is undefined (NaN) are dropped; None when all are.
    """
    if not n_boot:
        return None
    groups = np.asarray(groups)
    ids = np.unique(groups)
    index = {g: np.flatnonzero(groups == g) for g in ids}
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        drawn = rng.choice(ids, size=len(ids) if size is None else min(size, len(ids)), replace=replace)
        rows = np.concatenate([index[g] for g in drawn])
        values.append(statistic(rows))
    values = np.array(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return None
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]
