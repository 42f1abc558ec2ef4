"""Download the public AnnoMI transcripts (Wu et al. 2022, 2023) for use with the corpus codes.

The project commits only its own codes keyed by (transcript_id, turn, utterance_id);
the utterance text stays upstream (its licence is unstated). This script fetches the
upstream CSVs at the commit the codes were made against.
Usage: python scripts/fetch_annomi.py [--dest data/external/annomi]
then point the loader at it: export RUPTURE_ANNOMI_DIR=data/external/annomi
Cite: Wu et al., ICASSP 2022; Wu et al., Future Internet 15(3):110, 2023.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import urllib.request
from pathlib import Path

COMMIT = "4293664"
BASE = f"https://raw.githubusercontent.com/uccollab/AnnoMI/{COMMIT}"
FILES = {"AnnoMI-simple.csv": "AnnoMI-simple-dev.csv", "AnnoMI-full.csv": "AnnoMI-full-dev.csv"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path(__file__).resolve().parents[1] / "data/external/annomi")
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    for remote, local in FILES.items():
        target = args.dest / local
        try:
            with urllib.request.urlopen(f"{BASE}/{remote}", timeout=60) as response, open(target.with_suffix(".part"), "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            print(f"error: could not download {remote}: {exc}", file=sys.stderr)
            return 1
        target.with_suffix(".part").replace(target)
        print(f"saved {target}")
    print(f"export RUPTURE_ANNOMI_DIR={args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
