"""Small coded sessions, as `rupture-nlp code` writes them, with hand-made probabilities.

Text written for these tests. `plain` has no times and session metadata; `timed` has
media times; `couple` has two clients. Probabilities are chosen so the uncertainty order
is known: see `MARGINS`.
"""

from __future__ import annotations

import json
from pathlib import Path

from rupture_nlp.labels import MARKERS, STAGES, SUBTYPES


def _probs(role: str, top: float, second: float) -> dict:
    """Probabilities whose two largest are `top` and `second` on the role's head."""
    labels = MARKERS if role == "client" else STAGES
    rest = (1.0 - top - second) / (len(labels) - 2)
    values = [top, second] + [rest] * (len(labels) - 2)
    head = {"marker" if role == "client" else "stage": dict(zip(labels, values))}
    if role == "client":
        head["subtype"] = {s: round(1 / len(SUBTYPES), 4) for s in SUBTYPES}
    return head


def _turn(sid, turn, speaker, role, text, top, second, marker=None, subtype=None, stage=None, start=None, end=None,
          cues=(), meta=None):
    if role == "client":
        marker = marker or "none"
    else:
        stage = stage or "none"
    return {"session_id": sid, "turn": turn, "speaker": speaker, "role": role, "text": text, "marker": marker,
            "subtype": subtype, "stage": stage, "probs": _probs(role, top, second), "start": start, "end": end,
            "cues": list(cues), "session_meta": meta or {}}


META = {"dialect_group": "general_us", "modality": "cbt", "tags": ["pilot", "week 3"]}

PLAIN = [
    _turn("plain", 0, "T", "therapist", "How has the week been?", 0.95, 0.03, meta=META),
    _turn("plain", 1, "C", "client", "Fine. I guess.", 0.40, 0.38, marker="withdrawal", subtype="minimal_response",
          cues=["sighs"], meta=META),
    _turn("plain", 2, "T", "therapist", "You said \"fine\", and then you sighed, café-style.", 0.50, 0.45,
          stage="attending", meta=META),
    _turn("plain", 3, "C", "client", "Honestly, these sheets are pointless, okay?", 0.60, 0.30, marker="confrontation",
          subtype="complaint_activities", meta=META),
    _turn("plain", 4, "T", "therapist", "Tell me more about what feels pointless.", 0.70, 0.20,
          stage="exploring_meaning", meta=META),
    _turn("plain", 5, "C", "client", "Whatever you think is best.", 0.34, 0.33, marker="withdrawal",
          subtype="deferential", meta=META),
]

TIMED = [
    _turn("timed", 0, "Dr K", "therapist", "Welcome back.", 0.90, 0.05, start=1.0, end=2.5),
    _turn("timed", 1, "Sam", "client", "I am not doing the homework again.", 0.46, 0.43, marker="confrontation",
          subtype="rejects_intervention", start=3.0, end=5.25),
    _turn("timed", 2, "Dr K", "therapist", "You are right, I pushed it on you.", 0.55, 0.40, stage="repairing",
          start=5.5, end=8.0),
]

COUPLE = [
    _turn("couple", 0, "T", "therapist", "Who would like to start?", 0.99, 0.005),
    _turn("couple", 1, "Ana", "client", "He never listens.", 0.80, 0.15),
    _turn("couple", 2, "Ben", "client", "That is not true.", 0.80, 0.15),
]

#: 1 − (top − second) of each turn, for checking the sampler's order.
MARGINS = {("plain", 5): 0.99, ("plain", 1): 0.98, ("timed", 1): 0.97, ("plain", 2): 0.95, ("timed", 2): 0.85,
           ("plain", 3): 0.70, ("plain", 4): 0.50}


def write_coded(folder: Path, sessions=(PLAIN, TIMED, COUPLE)) -> Path:
    """One coded JSONL a session in `folder` (like `rupture-nlp code -o folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for records in sessions:
        path = folder / f"{records[0]['session_id']}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return folder
