"""The 3RS segment sheet: 1–5 salience scores per segment from turn codes or probabilities.

3RS (Eubanks, Muran & Safran 2015) rates segments, not turns: for each 5-minute segment a
coder notes which withdrawal and confrontation markers occur and rates how significant
each marker type is, from 1 (no rupture) to 5 (highly significant). This module derives
that sheet from turn-level codes with one fixed rule:

1. **Expected marker turns.** For each client turn, the probability that it carries the
   marker: `p(confrontation)` and `p(withdrawal)` from the model's marker head; for a
   subtype s of marker M, `p(M) · p(s) / Σ p(s')` over the subtypes of M (the subtype
   head is read only given its marker). Human codes are probabilities 0 or 1 (a human
   marker without a subtype adds 0 to every subtype). The segment's expected count E is
   the sum over its client turns.
2. **Salience.** E is mapped to 1–5 at fixed cut-points, half-way between whole turn
   counts so that human counts map exactly: E < 0.5 → **1** (absent: no turn is more
   likely than not a marker), 0.5 ≤ E < 1.5 → **2** (present once: a single, brief
   marker — 3RS "minimally significant"), 1.5 ≤ E < 2.5 → **3** (recurs: two marker
   turns — "somewhat significant"), 2.5 ≤ E < 4.5 → **4** (sustained: three or four
   marker turns, an exchange rather than a moment — "moderately significant"),
   E ≥ 4.5 → **5** (dominates: five or more marker turns in one segment — "highly
   significant"). The anchors follow the manual's reading of significance as how much
   a marker occupies and shapes the segment; the cut-points were fixed from those
   descriptions before any data were looked at and were not tuned.
3. **Session ratings.** Therapist contribution: E over therapist turns of
   `p(antagonizing)` (codebook §2: pressuring, lecturing, blaming), mapped with the same
   cut-points. Resolution (only when the session has a rupture episode, from
   `episodes.find_episodes` on the hard codes): each episode scores resolved 1, unclear
   0.5, unresolved 0; the mean r gives 1 + round(4·r), so 1 = no episode resolved,
   3 = half, 5 = all.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from rupture_nlp.episodes import EpisodeOptions, find_episodes
from rupture_nlp.labels import SUBTYPE_TO_MARKER, SUBTYPES
from rupture_nlp.segments import Segment

MARKER_TYPES = ("confrontation", "withdrawal")
CUT_POINTS = (0.5, 1.5, 2.5, 4.5)
RESOLUTION_SCORE = {"resolved": 1.0, "unclear": 0.5, "unresolved": 0.0}


def salience(expected: float) -> int:
    """1–5 score of an expected number of marker turns (cut-points in the module doc)."""
    return 1 + sum(expected >= cut for cut in CUT_POINTS)


def turn_weights(row: dict[str, Any]) -> dict[str, float]:
    """Probability that a client turn carries each marker type and subtype (0/1 for human codes)."""
    weights = {name: 0.0 for name in MARKER_TYPES + SUBTYPES}
    if row.get("role") != "client":
        return weights
    probs = row.get("probs") or {}
    marker_p = probs.get("marker")
    if marker_p:
        subtype_p = probs.get("subtype") or {}
        for marker in MARKER_TYPES:
            weights[marker] = float(marker_p.get(marker, 0.0))
            members = [s for s in SUBTYPES if SUBTYPE_TO_MARKER[s] == marker]
            total = sum(float(subtype_p.get(s, 0.0)) for s in members)
            for s in members:
                weights[s] = weights[marker] * float(subtype_p.get(s, 0.0)) / total if total > 0 else 0.0
        return weights
    marker = row.get("marker")
    if marker in MARKER_TYPES:
        weights[marker] = 1.0
        if row.get("subtype") in SUBTYPE_TO_MARKER:
            weights[row["subtype"]] = 1.0
    return weights


def antagonizing_weight(row: dict[str, Any]) -> float:
    if row.get("role") != "therapist":
        return 0.0
    stage_p = (row.get("probs") or {}).get("stage")
    if stage_p:
        return float(stage_p.get("antagonizing", 0.0))
    return 1.0 if row.get("stage") == "antagonizing" else 0.0


def segment_rows(coding: dict, segments: list[Segment], where: dict) -> list[dict[str, Any]]:
    """One sheet row per segment: expected counts (`*_n`) and 1–5 scores per marker and subtype."""
    totals = [Counter() for _ in segments]
    client_turns = Counter()
    for key, row in coding.items():
        if key not in where or row.get("role") != "client":
            continue
        k = where[key]
        client_turns[k] += 1
        totals[k].update(turn_weights(row))
    rows = []
    for k, segment in enumerate(segments):
        row: dict[str, Any] = {"session_id": segment.session_id, "segment": segment.number + 1,
                               "span": segment.label, "client_turns": client_turns[k]}
        for name in MARKER_TYPES + SUBTYPES:
            row[name] = salience(totals[k][name])
        for name in MARKER_TYPES:
            row[f"{name}_n"] = round(totals[k][name], 3)
        rows.append(row)
    return rows


def session_rows(coding: dict, options: EpisodeOptions | None = None) -> list[dict[str, Any]]:
    """One row per session: therapist contribution and resolution ratings with what they rest on."""
    by_session: dict[str, list[dict]] = {}
    for (session, turn), row in coding.items():
        by_session.setdefault(session, []).append({**row, "session_id": session, "turn": turn})
    out = []
    for session in sorted(by_session):
        rows = sorted(by_session[session], key=lambda r: r["turn"])
        expected = sum(antagonizing_weight(r) for r in rows)
        episodes = find_episodes(rows, options)
        status = Counter(e.resolution for e in episodes)
        resolution = None
        if episodes:
            mean = sum(RESOLUTION_SCORE[e.resolution] for e in episodes) / len(episodes)
            resolution = 1 + int(4 * mean + 0.5)
        out.append({"session_id": session, "therapist_contribution": salience(expected),
                    "antagonizing_n": round(expected, 3),
                    "contribution_turns_in_episodes": sum(len(e.contribution_turns) for e in episodes),
                    "resolution": resolution, "episodes": len(episodes), "resolved": status["resolved"],
                    "unresolved": status["unresolved"], "unclear": status["unclear"]})
    return out


def write_sheet(path: Path, segment_table: list[dict], session_table: list[dict]) -> tuple[Path, Path]:
    """The sheet a 3RS coder fills in (segments) and its session-level companion (`<name>_sessions.csv`)."""
    path = Path(path)
    sessions_path = path.with_name(f"{path.stem}_sessions{path.suffix or '.csv'}")
    for target, table in ((path, segment_table), (sessions_path, session_table)):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            if table:
                writer = csv.DictWriter(handle, fieldnames=list(table[0]))
                writer.writeheader()
                writer.writerows(table)
        tmp.replace(target)
    return path, sessions_path
