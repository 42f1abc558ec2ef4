"""Agreement between two codings of the same turns: per-class precision/recall/F1,
macro-F1, Cohen's κ, confusion matrix, and 95 % CIs by bootstrapping sessions (turns of
one session are not independent, so sessions, not turns, are resampled).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix, f1_score, precision_recall_fscore_support

from rupture_nlp.labels import MARKERS, STAGES, SUBTYPES

TASKS = {"marker": ("client", MARKERS), "subtype": ("client", ("none",) + SUBTYPES), "stage": ("therapist", STAGES)}


def score(gold: list[str], pred: list[str], labels: tuple[str, ...] | list[str], groups: list[str] | None = None,
          n_boot: int = 1000, seed: int = 0) -> dict:
    """Metrics of `pred` against `gold` over the given label order."""
    labels = [l for l in labels if l in set(gold) | set(pred)]
    p, r, f, n = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    result = {
        "n": len(gold),
        "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)),
        "kappa": float(cohen_kappa_score(gold, pred)) if len(set(gold) | set(pred)) > 1 else 1.0,
        "accuracy": float(np.mean(np.array(gold) == np.array(pred))) if gold else 0.0,
        "per_class": {l: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(n[i])}
                      for i, l in enumerate(labels)},
        "labels": labels,
        "confusion": confusion_matrix(gold, pred, labels=labels).tolist(),
    }
    if groups is not None and n_boot:
        result["ci95"] = bootstrap_ci(gold, pred, labels, groups, n_boot, seed)
    return result


def bootstrap_ci(gold, pred, labels, groups, n_boot=1000, seed=0) -> dict:
    """95 % percentile intervals of macro-F1 and κ, resampling sessions with replacement
    (the same resamples for both: same seed)."""
    from rupture_nlp.reliability import session_bootstrap

    gold, pred = np.array(gold), np.array(pred)

    def kappa(rows):
        g, p = gold[rows], pred[rows]
        return cohen_kappa_score(g, p) if len(set(g) | set(p)) > 1 else 1.0

    f1 = session_bootstrap(groups, lambda rows: f1_score(gold[rows], pred[rows], labels=labels, average="macro",
                                                         zero_division=0), n_boot, seed)
    return {"macro_f1": f1, "kappa": session_bootstrap(groups, kappa, n_boot, seed)}


def random_sets_band(gold, pred, labels, groups, size: int, draws: int = 400, seed: int = 0) -> list[float]:
    """95 % range of macro-F1 over random sets of `size` sessions drawn (without replacement) from `groups`.

    A dialect group of k test sessions is compared with this band for k: if its figure lies
    inside, sessions picked at random with no regard to dialect differ from each other as much,
    so the group's gap from the whole cannot be told from which sessions happened to be in it.
    """
    from rupture_nlp.reliability import session_bootstrap

    gold, pred = np.array(gold), np.array(pred)
    return session_bootstrap(groups, lambda rows: f1_score(gold[rows], pred[rows], labels=labels, average="macro",
                                                           zero_division=0),
                             n_boot=draws, seed=seed, size=size, replace=False)


def task_pairs(gold_rows: dict, pred_rows: dict, task: str) -> tuple[list[str], list[str], list[str]]:
    """(gold, pred, session) for the turns both codings have, for one task."""
    role, _ = TASKS[task]
    g, p, s = [], [], []
    for key, gold in gold_rows.items():
        pred = pred_rows.get(key)
        if pred is None or gold.get("role") != role:
            continue
        if task == "subtype":
            g.append(gold.get("subtype") or "none")
            p.append(pred.get("subtype") or "none")
        else:
            g.append(gold.get(task) or "none")
            p.append(pred.get(task) or "none")
        s.append(str(key[0]))
    return g, p, s


def read_coded(path: str | Path) -> dict[tuple[str, int], dict]:
    """Coded turns from a JSONL file or a folder of them, keyed by (session_id, turn)."""
    path = Path(path)
    files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
    rows = {}
    for file in files:
        with open(file, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    rows[(str(row["session_id"]), int(row["turn"]))] = row
    return rows


def evaluate(gold_path, pred_path, n_boot: int = 1000) -> dict:
    gold, pred = read_coded(gold_path), read_coded(pred_path)
    report = {"gold": str(gold_path), "pred": str(pred_path), "matched_turns": len(set(gold) & set(pred)),
              "gold_turns": len(gold)}
    for task, (_, labels) in TASKS.items():
        g, p, s = task_pairs(gold, pred, task)
        if g:
            report[task] = score(g, p, labels, s, n_boot)
    return report


def format_report(report: dict) -> str:
    """A readable table of an `evaluate` report."""
    lines = [f"matched turns: {report['matched_turns']} of {report['gold_turns']} gold turns"]
    for task in TASKS:
        if task not in report:
            continue
        r = report[task]
        ci = r.get("ci95", {})
        lines.append("")
        lines.append(f"{task}  (n={r['n']})  macro-F1 {r['macro_f1']:.3f}"
                     + (f" [{ci['macro_f1'][0]:.3f}, {ci['macro_f1'][1]:.3f}]" if ci else "")
                     + f"  kappa {r['kappa']:.3f}" + (f" [{ci['kappa'][0]:.3f}, {ci['kappa'][1]:.3f}]" if ci else ""))
        lines.append(f"  {'class':24} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>6}")
        for label, m in r["per_class"].items():
            lines.append(f"  {label:24} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['support']:6d}")
        lines.append("  confusion (rows gold, columns predicted): " + " ".join(r["labels"]))
        for label, row in zip(r["labels"], r["confusion"]):
            lines.append(f"  {label:24} " + " ".join(f"{v:5d}" for v in row))
    return "\n".join(lines)
