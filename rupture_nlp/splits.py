"""Assign sessions to train / dev / test once, and keep the assignment fixed.

Sessions already in `data/splits.json` keep their split; new sessions are assigned so
that each source is stratified by marker rate: within a source, sessions sorted by
their share of client markers are dealt in blocks of ten as test, train, train, dev… so
test holds ≥ 20 % of the sessions of every source and of every marker-rate band.

One rule comes first: a dialect group with fewer than `TEST_FLOOR` test sessions sends its
new sessions to test until it has them (spread over the group's marker rates), because a
per-group figure from one or two sessions says nothing (the model card reports F1 per
dialect group). Floor and deal together send at most half of a group's new sessions to
test, so that train keeps some, and a corpus without a dev session gets one.
The rule looks only at counts, never at how a model does on a group.

Sessions whose meta says `"purpose": "training"` (written in answer to an error analysis of
the model) go to train and take no part in the dealing: material chosen for what the model
gets wrong would tilt test toward its weak points and make dev offsets over-correct.
A session marked training-only after it was dealt keeps its split (a split never moves once
written, or earlier figures would stop being comparable); `assign_splits` names such
sessions so the corpus owner can decide.

Command line: `rupture-nlp split [--data FOLDER]` (default: the project's `data/`).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from rupture_nlp.corpus import DATA_DIR, load_all, load_splits

PATTERN = ["test", "train", "train", "dev", "train", "test", "train", "train", "dev", "train"]
TEST_FLOOR = 5
UNGROUPED = {"annomi", "unknown", None}  # sources whose clients' varieties were not recorded


def spread(items: list[str], k: int) -> list[str]:
    """`k` of `items` at evenly spaced positions (items are sorted by marker rate)."""
    if k >= len(items):
        return list(items)
    step = len(items) / k
    return [items[int((i + 0.5) * step)] for i in range(k)]


def floor_to_test(new: dict[str, list[tuple[float, str]]], splits: dict[str, str], groups: dict[str, str]) -> dict[str, str]:
    """Test assignments that lift every dialect group to `TEST_FLOOR` test sessions."""
    in_test = defaultdict(int)
    for sid, split in splits.items():
        if split == "test":
            in_test[groups.get(sid)] += 1
    by_group: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for sessions in new.values():
        for rate, sid in sessions:
            by_group[groups[sid]].append((rate, sid))
    chosen = {}
    for group, sessions in by_group.items():
        # never more than half a group's new sessions: a small corpus must still have some to train on
        need = min(TEST_FLOOR - in_test[group], len(sessions) // 2)
        if group in UNGROUPED or need <= 0:
            continue
        for sid in spread([sid for _, sid in sorted(sessions)], need):
            chosen[sid] = "test"
    return chosen


def assign_new(by_source: dict[str, list[tuple[float, str]]], splits: dict[str, str], groups: dict[str, str],
               training_only: set[str]) -> dict[str, str]:
    """Splits for sessions not yet in `splits`: training-only ones to train, then the floor rule, then the deal.

    Floor and deal together send at most half of a group's new sessions to test (a test slot
    of the deal that would pass that goes to train), and a corpus that would have no dev
    session gets one from the dealt train sessions, because training needs dev to choose the
    epoch and calibrate on."""
    chosen = {sid: "train" for sessions in by_source.values() for _, sid in sessions if sid in training_only}
    dealt = {source: [(rate, sid) for rate, sid in sessions if sid not in training_only]
             for source, sessions in by_source.items()}
    chosen.update(floor_to_test(dealt, splits, groups))
    new_in_group: dict[str, int] = defaultdict(int)
    test_in_group: dict[str, int] = defaultdict(int)
    for sessions in dealt.values():
        for _, sid in sessions:
            new_in_group[groups[sid]] += 1
            test_in_group[groups[sid]] += chosen.get(sid) == "test"
    order = []
    for sessions in dealt.values():
        rest = [sid for _, sid in sorted(sessions) if sid not in chosen]
        for k, sid in enumerate(rest):
            split = PATTERN[k % len(PATTERN)]
            if split == "test":
                if test_in_group[groups[sid]] >= new_in_group[groups[sid]] // 2:
                    split = "train"
                else:
                    test_in_group[groups[sid]] += 1
            chosen[sid] = split
            order.append(sid)
    if "dev" not in set(splits.values()) | set(chosen.values()):
        trained = [sid for sid in order if chosen[sid] == "train"]
        if len(trained) >= 2:  # train keeps at least one
            chosen[trained[-1]] = "dev"
    return chosen


def assign_splits(data_dir: Path = DATA_DIR, annomi: Path | None = None) -> dict:
    """Give every session of the corpus folder that `splits.json` lacks a split, write the file,
    and return `{"counts": {split: sessions}, "new": n, "training_only_elsewhere": [ids]}`.

    Raises `TranscriptError` (naming the file) for a corpus that cannot be read."""
    path = data_dir / "splits.json"
    splits = load_splits(data_dir)
    items = load_all(annomi_path=annomi, data_dir=data_dir)
    by_source: dict[str, list[tuple[float, str]]] = defaultdict(list)
    groups: dict[str, str] = {}
    training_only: set[str] = set()
    for item in items:
        sid = item.session.session_id
        groups[sid] = item.session.metadata.get("dialect_group") or "unknown"
        if item.meta.get("purpose") == "training":
            training_only.add(sid)
        if sid in splits:
            continue
        client = [t for t in item.session.turns if t.role == "client"]
        rate = sum(t.coding.marker != "none" for t in client) / max(len(client), 1)
        by_source[item.source].append((rate, sid))
    new = assign_new(by_source, splits, groups, training_only)
    splits.update(new)
    path.write_text(json.dumps(dict(sorted(splits.items())), indent=0) + "\n")
    return {"counts": dict(Counter(splits.values())), "new": len(new),
            "training_only_elsewhere": sorted(sid for sid in training_only if splits.get(sid) not in (None, "train"))}
