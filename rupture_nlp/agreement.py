"""Inter-coder agreement on turn codes: Cohen's κ and per-class agreement.

Used by the data card (reliability of the corpus) and by `evaluate` users comparing
coders. Per-class agreement is the specific agreement 2·n_both / (n_a + n_b), which is
symmetric in the two coders (unlike F1 against one of them as gold).
"""

from __future__ import annotations

from collections import Counter

from sklearn.metrics import cohen_kappa_score


def specific_agreement(a: list[str], b: list[str]) -> dict[str, float]:
    both = Counter(x for x, y in zip(a, b) if x == y)
    count_a, count_b = Counter(a), Counter(b)
    return {label: 2 * both[label] / (count_a[label] + count_b[label])
            for label in sorted(set(a) | set(b)) if count_a[label] + count_b[label]}


def kappa(a: list[str], b: list[str]) -> float:
    if not a:
        return float("nan")
    if len(set(a) | set(b)) == 1:
        return 1.0
    return float(cohen_kappa_score(a, b))
