"""The flat table every tabular export shares: one row a turn, the same columns in CSV,
JSONL and Parquet, so a researcher can switch format without remapping anything.

Columns, in order: `session_id`; `meta_<key>` for every session-metadata key present;
`turn, speaker, role, start, end, text, cues` (cues joined by "; "); the codes `marker,
subtype, stage`; then `p_<head>_<label>` for every probability head present in the input
(labels in codebook order, `rupture_nlp.labels`). A cell a turn has no value for is empty
(None), e.g. `p_stage_*` on a client turn.
"""

from __future__ import annotations

import json
from typing import Any

from rupture_nlp.exports.coded import SessionRecords
from rupture_nlp.labels import MARKERS, STAGES, SUBTYPES

TURN_COLUMNS = ("turn", "speaker", "role", "start", "end", "text", "cues", "marker", "subtype", "stage")
HEADS: dict[str, tuple[str, ...]] = {"marker": MARKERS, "subtype": SUBTYPES, "stage": STAGES}


def _scalar(value: Any) -> Any:
    """Metadata cells must be scalars for a spreadsheet: lists and dicts become JSON text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def columns(sessions: list[SessionRecords]) -> list[str]:
    """The column order for these sessions (metadata and probability columns only where present)."""
    meta_keys: dict[str, None] = {}
    heads: set[str] = set()
    for session in sessions:
        for record in session.records:
            meta_keys.update(dict.fromkeys(record.get("session_meta") or {}))
            heads.update((record.get("probs") or {}).keys())
    probs = [f"p_{head}_{label}" for head, labels in HEADS.items() if head in heads for label in labels]
    return ["session_id", *(f"meta_{k}" for k in meta_keys), *TURN_COLUMNS, *probs]


def flat_rows(sessions: list[SessionRecords]) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows): one dict a turn with every column present (None when empty)."""
    names = columns(sessions)
    rows = []
    for session in sessions:
        for record in session.records:
            row: dict[str, Any] = dict.fromkeys(names)
            row["session_id"] = session.session_id
            for key, value in (record.get("session_meta") or {}).items():
                row[f"meta_{key}"] = _scalar(value)
            for key in TURN_COLUMNS:
                row[key] = record.get(key)
            row["cues"] = "; ".join(record.get("cues") or []) or None
            for head, probs in (record.get("probs") or {}).items():
                for label, p in (probs or {}).items():
                    if f"p_{head}_{label}" in row:
                        row[f"p_{head}_{label}"] = p
            rows.append(row)
    return names, rows
