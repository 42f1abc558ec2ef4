"""Test-split macro-F1 of each inference backend against fp32, with the shipped (or given) model.

    RUPTURE_ANNOMI_DIR=/path/to/annomi python scripts/backend_accuracy.py [--model DIR] [--backends torch int8 ...]

Prints one JSON object: per backend client-marker and stage macro-F1, their change from
`torch` (fp32), how often its argmax agrees with fp32, and the largest probability gap
(without `torch` among --backends, the change is from the model card's fp32 test figures).
It decides whether a quantized backend may become the default (client macro-F1 drop ≤ 0.01).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from rupture_nlp.backends import BACKENDS
from rupture_nlp.model import TransformerCoder
from rupture_nlp.training_run import split_records, test_metrics


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    args = parser.parse_args(argv)
    results: dict = {}
    reference = None
    order = (["torch"] if "torch" in args.backends else []) + [b for b in args.backends if b != "torch"]
    for backend in order:
        coder = TransformerCoder.load(args.model, backend=backend)
        records = split_records(None, coder.context_turns)["test"]
        start = time.perf_counter()
        heads = coder._heads(records)
        seconds = time.perf_counter() - start
        coder._heads = lambda _records, heads=heads: heads  # score the outputs just timed, without rerunning
        probs = coder.predict_proba(records)
        metrics = test_metrics(coder, records)["all"]
        row = {"turns": len(records), "seconds": round(seconds, 1),
               "client_macro_f1": round(metrics["marker"]["macro_f1"], 4),
               "stage_macro_f1": round(metrics["stage"]["macro_f1"], 4)}
        if backend == "torch":
            reference = (probs, row)
        elif reference is None:  # no fp32 run: compare with the model card's fp32 test figures
            card = coder.config.get("metrics_test", {})
            row["client_macro_f1_change"] = round(row["client_macro_f1"] - card.get("client_macro_f1", float("nan")), 4)
            row["stage_macro_f1_change"] = round(row["stage_macro_f1"] - card.get("stage_macro_f1", float("nan")), 4)
        else:
            row["client_macro_f1_change"] = round(row["client_macro_f1"] - reference[1]["client_macro_f1"], 4)
            row["stage_macro_f1_change"] = round(row["stage_macro_f1"] - reference[1]["stage_macro_f1"], 4)
            row["argmax_agreement"] = round(float(np.mean(probs.argmax(1) == reference[0].argmax(1))), 4)
            row["max_probability_gap"] = round(float(np.abs(probs - reference[0]).max()), 4)
        results[backend] = row
        print(f"{backend}: {row}", file=sys.stderr)
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
