"""Which coded turns a human should code next: uncertainty from the model's probabilities.

A client turn is scored on the marker head, a therapist turn on the stage head (the codes
the corpus trains on). Both scores lie in [0, 1], higher = less sure, so client and
therapist turns rank on one scale:
- `margin`: 1 − (p₁ − p₂), the gap between the two most probable labels;
- `entropy`: Shannon entropy divided by log K (K labels in the head), so a 3-way marker
  head and a 7-way stage head are comparable.

Spreading the sample (`select`): each session's turns are ranked by uncertainty and only
its top `per_session_max` are eligible; then sessions are visited round-robin — round 1
takes every session's most uncertain turn, round 2 every session's second, … — and within
a round turns go in order of uncertainty (ties by session id, then turn). The first N
taken are the sample. So no session contributes a second turn before every session with
an eligible turn has contributed one, and a few hard sessions cannot fill the sheet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

HEAD_OF_ROLE = {"client": "marker", "therapist": "stage"}
METHODS = ("margin", "entropy")


def margin_score(probs: Iterable[float]) -> float:
    top = sorted(probs, reverse=True) + [0.0, 0.0]
    return 1.0 - (top[0] - top[1])


def entropy_score(probs: Iterable[float]) -> float:
    values = [p for p in probs]
    total = sum(values)
    if len(values) < 2 or total <= 0:
        return 0.0
    h = -sum((p / total) * math.log(p / total) for p in values if p > 0)
    return h / math.log(len(values))


def uncertainty(record: dict[str, Any], by: str = "margin") -> float | None:
    """The turn's uncertainty on its role's head, or None when it has no probabilities to score."""
    if by not in METHODS:
        raise ValueError(f"unknown uncertainty {by!r}; choose one of {', '.join(METHODS)}")
    head = HEAD_OF_ROLE.get(record.get("role") or "")
    probs = ((record.get("probs") or {}).get(head) or {}) if head else {}
    if len(probs) < 2:
        return None
    return (margin_score if by == "margin" else entropy_score)(probs.values())


@dataclass
class Candidate:
    session_id: str
    turn: int
    score: float
    rank_in_session: int = 0


def select(records: Iterable[dict[str, Any]], n: int, by: str = "margin", per_session_max: int | None = None,
           exclude: set[tuple[str, int]] = frozenset()) -> list[Candidate]:
    """The N most uncertain turns spread across sessions by the rule in the module docstring."""
    by_session: dict[str, list[Candidate]] = {}
    for record in records:
        key = (str(record["session_id"]), int(record["turn"]))
        score = uncertainty(record, by)
        if score is None or key in exclude:
            continue
        by_session.setdefault(key[0], []).append(Candidate(key[0], key[1], score))
    pool = []
    for items in by_session.values():
        items.sort(key=lambda c: (-c.score, c.turn))
        for rank, item in enumerate(items[:per_session_max] if per_session_max else items):
            item.rank_in_session = rank
            pool.append(item)
    pool.sort(key=lambda c: (c.rank_in_session, -c.score, c.session_id, c.turn))
    return pool[:max(n, 0)]
