"""Time to segment all AnnoMI dev sessions (target: under 10 s on a 2-core machine).

Usage: python scripts/bench_segment.py [PATH_TO_AnnoMI-simple-dev.csv]
Prints the figures; it asserts nothing (speed is measured here, never in unit tests).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from rupture_nlp.io import read_sessions
from rupture_nlp.segment import split_sentences


def main() -> None:
    default = Path(os.environ.get("RUPTURE_ANNOMI_DIR", Path(__file__).parents[2] / "shared/corpora/annomi"))
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default / "AnnoMI-simple-dev.csv"
    split_sentences(["Warm up the sentencizer."])  # spaCy start-up is not segmentation time
    t0 = time.perf_counter()
    sessions = read_sessions(path)
    elapsed = time.perf_counter() - t0
    turns = sum(len(s.turns) for s in sessions)
    print(f"file:      {path}")
    print(f"sessions:  {len(sessions)}")
    print(f"turns:     {turns}")
    print(f"seconds:   {elapsed:.2f} (target < 10)")
    print(f"turns/s:   {turns / elapsed:,.0f}")


if __name__ == "__main__":
    main()
