"""Compare a retrained candidate with the shipped model on the dev split: the replacement rule.

Prints, for each model, dev client macro-F1, stage macro-F1 and their mean (the coder as
`rupture-nlp code` runs it: lexical companion and offsets included, fp32), then the
candidate-minus-shipped difference of the mean with a 95 % interval from bootstrapping dev
sessions in pairs (both models scored on the same resampled sessions). The candidate
replaces the shipped model only if the whole interval lies above zero
(docs/model-selection.md). The test split is never read here: it reports, it does not choose.
Usage: RUPTURE_ANNOMI_DIR=/path/to/annomi python scripts/compare_models.py SHIPPED CANDIDATE
       [--data FOLDER] [--bootstrap 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rupture_nlp.errors import TranscriptError  # noqa: E402
from rupture_nlp.labels import MARKERS, STAGES  # noqa: E402
from rupture_nlp.model import ModelLoadError, TransformerCoder  # noqa: E402
from rupture_nlp.reliability import session_bootstrap  # noqa: E402
from rupture_nlp.training_run import split_records  # noqa: E402


def dev_codes(folder: Path, dev: list[dict]) -> np.ndarray:
    """The code each dev record gets: its marker for a client turn, its stage for a therapist turn."""
    coder = TransformerCoder.load(folder, backend="torch")
    return np.array([c.marker if r["role"] == "client" else c.stage for r, c in zip(dev, coder.code_records(dev))])


def macro_f1s(dev: list[dict], codes: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    """(client macro-F1, stage macro-F1) over the given rows."""
    client = [i for i in rows if dev[i]["role"] == "client"]
    therapist = [i for i in rows if dev[i]["role"] == "therapist"]
    marker = f1_score([dev[i]["marker"] for i in client], codes[client], labels=list(MARKERS), average="macro",
                      zero_division=0)
    stage = f1_score([dev[i]["stage"] for i in therapist], codes[therapist], labels=list(STAGES), average="macro",
                     zero_division=0)
    return marker, stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shipped", type=Path)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--data", type=Path, default=None, help="corpus folder laid out like data/ (default: data/)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    try:
        dev = split_records(None, 3, args.data)["dev"]
    except TranscriptError as exc:  # an unreadable corpus folder: name the file, no traceback
        parser.exit(2, f"error: {exc}\n")
    if not dev:
        parser.exit(2, "error: the corpus has no dev sessions (splits.json)\n")
    models = {"shipped": args.shipped, "candidate": args.candidate}
    try:
        codes = {name: dev_codes(folder, dev) for name, folder in models.items()}
    except ModelLoadError as exc:
        parser.exit(2, f"error: {exc}\n")
    everything = np.arange(len(dev))
    for name, folder in models.items():
        marker, stage = macro_f1s(dev, codes[name], everything)
        print(f"{name:9} {folder}: dev client {marker:.3f}  stage {stage:.3f}  mean {(marker + stage) / 2:.3f}")

    def difference(rows: np.ndarray) -> float:
        return float(np.mean(macro_f1s(dev, codes["candidate"], rows)) - np.mean(macro_f1s(dev, codes["shipped"], rows)))

    low, high = session_bootstrap([r["session_id"] for r in dev], difference, n_boot=args.bootstrap)
    verdict = "replaces the shipped model" if low > 0 else "does not replace the shipped model (interval reaches zero)"
    print(f"difference of the mean {difference(everything):+.3f}, 95 % interval [{low:+.3f}, {high:+.3f}]: the candidate {verdict}")


if __name__ == "__main__":
    main()
