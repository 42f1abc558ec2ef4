"""Assign sessions to train / dev / test once, and keep the assignment fixed.

Sessions already in `data/splits.json` keep their split; new sessions are assigned so
that each source is stratified by marker rate: within a source, sessions sorted by
their share of client markers are dealt in blocks of ten as test, test, dev, train… so
test holds ≥ 20 % of the sessions of every source and of every marker-rate band.
Usage: python scripts/make_splits.py
"""

from __future__ import annotations

import json
from collections import defaultdict

from rupture_nlp.corpus import DATA_DIR, load_all

PATTERN = ["test", "train", "train", "dev", "train", "test", "train", "train", "dev", "train"]


def main() -> None:
    path = DATA_DIR / "splits.json"
    splits: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    by_source: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for item in load_all():
        sid = item.session.session_id
        if sid in splits:
            continue
        client = [t for t in item.session.turns if t.role == "client"]
        rate = sum(t.coding.marker != "none" for t in client) / max(len(client), 1)
        by_source[item.source].append((rate, sid))
    for source, sessions in by_source.items():
        for k, (_, sid) in enumerate(sorted(sessions)):
            splits[sid] = PATTERN[k % len(PATTERN)]
    path.write_text(json.dumps(dict(sorted(splits.items())), indent=0) + "\n")
    counts = defaultdict(int)
    for value in splits.values():
        counts[value] += 1
    print(dict(counts))


if __name__ == "__main__":
    main()
