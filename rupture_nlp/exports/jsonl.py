"""JSONL export: the flat table (`exports.table`) as one JSON record a turn.

Same columns as the CSV, with JSON types (numbers stay numbers, empty cells are null), so
`pandas.read_json(path, lines=True)` gives the same frame as the CSV and Parquet exports.
"""

from __future__ import annotations

import json
from pathlib import Path

from rupture_nlp.coding_io import atomic_write_text
from rupture_nlp.exports.coded import SessionRecords
from rupture_nlp.exports.table import flat_rows


def export_jsonl(sessions: list[SessionRecords], out: Path) -> list[Path]:
    _, rows = flat_rows(sessions)
    atomic_write_text(out, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return [out]
