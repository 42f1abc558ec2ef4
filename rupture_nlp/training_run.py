"""`rupture-nlp train`: fit the baseline and the transformer on the corpus splits, measure
both on the test split (per class, per source, per dialect group) and write the model card."""

from __future__ import annotations

import copy
import json
import time
from collections import defaultdict
from pathlib import Path

from rupture_nlp.evaluate import score
from rupture_nlp.labels import MARKERS, STAGES


def split_records(annomi: Path | None = None, context_turns: int = 4, data_dir: Path | None = None) -> dict[str, list[dict]]:
    """Turn records of a corpus folder (default: the project's `data/`) by its `splits.json`;
    sessions the file does not list are trained on."""
    from rupture_nlp.corpus import DATA_DIR, load_all, load_splits, turn_records

    data_dir = data_dir or DATA_DIR
    splits = load_splits(data_dir)
    parts: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    for record in turn_records(load_all("coder_a", annomi, data_dir), context_turns):
        parts[splits.get(record["session_id"], "train")].append(record)
    return parts


def check_parts(parts: dict[str, list[dict]], data_dir: Path) -> None:
    """Refuse a corpus that cannot be trained, calibrated and measured, before an hour of training."""
    from rupture_nlp.errors import TranscriptError

    splits = data_dir / "splits.json"
    for name, purpose in (("train", "to train on"), ("dev", "to choose the epoch and calibrate on"),
                          ("test", "to measure the model on")):
        roles = {r["role"] for r in parts[name]}
        if not {"client", "therapist"} <= roles:
            raise TranscriptError(splits, None, f"the {name} split has no coded {' or '.join(sorted({'client', 'therapist'} - roles))} "
                                  f"turns {purpose}: assign sessions to it (rupture-nlp split --data {data_dir})")


def test_metrics(coder, records: list[dict]) -> dict:
    """Client marker and therapist stage metrics on records, overall and by source and dialect group."""
    codings = coder.code_records(records)
    pairs = list(zip(records, codings))

    def block(items):
        client = [(r, c) for r, c in items if r["role"] == "client"]
        therapist = [(r, c) for r, c in items if r["role"] == "therapist"]
        out = {"sessions": len({r["session_id"] for r, _ in items})}
        if client:
            out["marker"] = score([r["marker"] for r, _ in client], [c.marker for _, c in client], MARKERS,
                                  [r["session_id"] for r, _ in client], n_boot=200)
            marked = [(r, c) for r, c in client if r["marker"] != "none" and c.marker == r["marker"]]
            if marked:
                out["subtype_accuracy_on_correct_markers"] = sum(r["subtype"] == c.subtype for r, c in marked) / len(marked)
        if therapist:
            out["stage"] = score([r["stage"] for r, _ in therapist], [c.stage for _, c in therapist], STAGES,
                                 [r["session_id"] for r, _ in therapist], n_boot=200)
        return out

    result = {"all": block(pairs), "by_source": {}, "by_dialect_group": {}}
    for key, name in (("source", "by_source"), ("dialect_group", "by_dialect_group")):
        groups = defaultdict(list)
        for r, c in pairs:
            groups[r[key]].append((r, c))
        result[name] = {g: block(items) for g, items in sorted(groups.items())}
    add_random_bands(result["by_dialect_group"], [(r, c) for r, c in pairs if r["source"] == "authored"])
    return result


def add_random_bands(by_group: dict, pool: list) -> None:
    """Give each dialect group the macro-F1 band of random authored test-session sets of its size."""
    from rupture_nlp.evaluate import random_sets_band

    client = [(r, c) for r, c in pool if r["role"] == "client"]
    if not client:
        return
    gold, pred = [r["marker"] for r, _ in client], [c.marker for _, c in client]
    groups = [r["session_id"] for r, _ in client]
    labels = [m for m in MARKERS if m in set(gold) | set(pred)]
    for name, metrics in by_group.items():
        if name != "annomi" and metrics.get("marker"):
            metrics["random_band"] = random_sets_band(gold, pred, labels, groups, metrics["sessions"])


def encoder_alone(coder):
    """The same fine-tuned encoder without its lexical companion and decision offsets (a component figure)."""
    alone = copy.copy(coder)
    alone.lexical, alone.lexical_weight, alone.marker_bias, alone.stage_bias = None, 0.0, None, None
    return alone


def train_and_report(output: Path, base: Path | None, epochs: int, max_length: int, annomi: Path | None, seed: int,
                     log=print, context_turns: int = 3, learning_rate: float = 1e-4, data_dir: Path | None = None,
                     pooling: str = "turn_and_mean", epoch_choice: str = "client_and_stage") -> dict:
    from rupture_nlp.baseline import BaselineCoder
    from rupture_nlp.corpus import DATA_DIR
    from rupture_nlp.train import TrainingArguments, train

    parts = split_records(annomi, context_turns, data_dir)
    check_parts(parts, data_dir or DATA_DIR)
    log(f"turns: train {len(parts['train'])}, dev {len(parts['dev'])}, test {len(parts['test'])}")
    t0 = time.time()
    baseline = BaselineCoder(seed=seed).fit(parts["train"])
    log(f"baseline fitted in {time.time() - t0:.0f}s")
    args = TrainingArguments(epochs=epochs, max_length=max_length, seed=seed, context_turns=context_turns,
                             learning_rate=learning_rate, pooling=pooling, epoch_choice=epoch_choice)
    coder = train(parts["train"], parts["dev"], None, base, args, log=log, lexical=baseline)
    return report_and_save(coder, baseline, parts, output, log)


def report_and_save(coder, baseline, parts: dict[str, list[dict]], output: Path, log=print) -> dict:
    """Test-split metrics of the shipped coder, its encoder alone and the baseline; card, weights, metrics.json."""
    from rupture_nlp.model_card import render_card

    metrics = {"transformer": test_metrics(coder, parts["test"]), "baseline": test_metrics(baseline, parts["test"]),
               "encoder_only": test_metrics(encoder_alone(coder), parts["test"]),
               "training_seconds": coder.config["training_seconds"],
               "split_sizes": {k: len(v) for k, v in parts.items()}}
    coder.config["metrics_test"] = {
        "client_macro_f1": metrics["transformer"]["all"]["marker"]["macro_f1"],
        "client_kappa": metrics["transformer"]["all"]["marker"]["kappa"],
        "stage_macro_f1": metrics["transformer"]["all"]["stage"]["macro_f1"],
        "baseline_client_macro_f1": metrics["baseline"]["all"]["marker"]["macro_f1"],
        "encoder_only_client_macro_f1": metrics["encoder_only"]["all"]["marker"]["macro_f1"],
    }
    coder.save(output, card=render_card(coder.saved_config(), metrics, parts))
    (output / "metrics.json").write_text(json.dumps(metrics, indent=1))
    log(f"saved to {output}: test client macro-F1 {coder.config['metrics_test']['client_macro_f1']:.3f} "
        f"(baseline {coder.config['metrics_test']['baseline_client_macro_f1']:.3f}), "
        f"stage macro-F1 {coder.config['metrics_test']['stage_macro_f1']:.3f}")
    return metrics
