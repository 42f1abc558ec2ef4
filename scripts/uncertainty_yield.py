"""How many model errors an uncertainty sample catches, against gold codes from the corpus.

For coded sessions that also have gold codes (authored or AnnoMI sessions of the corpus),
prints, for each rule and sample size, the share of sampled turns whose code (client
marker, therapist stage) differs from the gold code, beside that share over all scored
turns (what a random sample finds on average). A good sampler finds more errors per
turn a human codes.
Usage: python scripts/uncertainty_yield.py CODED_FOLDER [N ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rupture_nlp.corpus import load_all  # noqa: E402
from rupture_nlp.exports import read_coded_sessions  # noqa: E402
from rupture_nlp.uncertainty import HEAD_OF_ROLE, select, uncertainty  # noqa: E402


def main(folder: str, sizes: list[int]) -> None:
    records = [r for s in read_coded_sessions([folder]) for r in s.records]
    ids = {str(r["session_id"]) for r in records}
    gold = {(item.session.session_id, t.index): t.coding for item in load_all() if item.session.session_id in ids
            for t in item.session.turns if t.coding is not None}
    wrong = {}
    for r in records:
        key = (str(r["session_id"]), int(r["turn"]))
        head = HEAD_OF_ROLE.get(r["role"])
        if key in gold and head and uncertainty(r) is not None:
            wrong[key] = (r.get(head) or "none") != (getattr(gold[key], head) or "none")
    scored = [r for r in records if (str(r["session_id"]), int(r["turn"])) in wrong]
    base = sum(wrong.values()) / max(len(wrong), 1)
    print(f"{len(ids)} sessions, {len(wrong)} scored turns, model disagrees with gold on {base:.1%} of them")
    print(f"{'rule':8} {'pick':8} {'N':>4} {'sessions':>8} {'errors found':>12} {'share':>6} {'vs random':>9}")
    for by in ("margin", "entropy"):
        for n in sizes:
            ranked = sorted(scored, key=lambda r: -uncertainty(r, by))[:n]  # no spreading, for comparison
            for pick, keys in (("spread5", [(c.session_id, c.turn) for c in select(scored, n, by, 5)]),
                               ("global", [(str(r["session_id"]), int(r["turn"])) for r in ranked])):
                found = sum(wrong[k] for k in keys)
                share = found / max(len(keys), 1)
                print(f"{by:8} {pick:8} {len(keys):4d} {len({k[0] for k in keys}):8d} "
                      f"{found:12d} {share:6.1%} {share / base if base else 0:8.1f}x")


if __name__ == "__main__":
    main(sys.argv[1], [int(n) for n in sys.argv[2:]] or [25, 50, 100])
