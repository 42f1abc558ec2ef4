"""Codes from JSONL: the files `rupture-nlp code` writes and turns JSONL with codes.

Both are one turn a line with `session_id`. The `code` output has `turn`, `role`,
`marker`, `subtype`, `stage`, `probs`, `start`, `end` at the top level; a turns JSONL
(`rupture-nlp segment`, `types.write_jsonl`) has `index` and the codes under `coding`.
A turns line without codes is kept as a turn (role and times) so it can place ELAN
annotations; `normalize.coded_only` drops it from the comparison.
"""

from __future__ import annotations

import json
from pathlib import Path

from rupture_nlp.codes.normalize import CodeTable, normalize
from rupture_nlp.errors import TranscriptError


def read_jsonl(path: str | Path) -> CodeTable:
    path = Path(path)
    rows: CodeTable = {}
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise TranscriptError(path, None, f"cannot open: {exc.strerror}") from None
    with handle:
        try:
            for line, raw in enumerate(handle, start=1):
                if raw.strip():
                    _add(rows, raw, path, line)
        except UnicodeDecodeError as exc:
            raise TranscriptError(path, None, f"not UTF-8 text ({exc.reason})") from None
    if not rows:
        raise TranscriptError(path, None, "no turns in the file")
    return rows


def _add(rows: CodeTable, raw: str, path: Path, line: int) -> None:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TranscriptError(path, line, f"not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise TranscriptError(path, line, "each line must be a JSON object (one turn)")
    coding = record.get("coding") if isinstance(record.get("coding"), dict) else record
    if "session_id" not in record or ("turn" not in record and "index" not in record):
        raise TranscriptError(path, line, "a turn needs 'session_id' and 'turn' (or 'index')")
    try:
        turn = int(record["turn"] if "turn" in record else record["index"])
    except (TypeError, ValueError):
        raise TranscriptError(path, line, f"turn {record.get('turn', record.get('index'))!r} is not a whole number") from None
    fields = {k: coding.get(k) for k in ("marker", "subtype", "stage")}
    fields["role"] = record.get("role")
    row = normalize(fields, path, line)
    for field in ("start", "end"):
        value = record.get(field)
        if value is not None and not isinstance(value, (int, float)):
            raise TranscriptError(path, line, f"{field} {value!r} is not a number of seconds")
        row[field] = None if value is None else float(value)
    key = (str(record["session_id"]), turn)
    if key in rows:
        raise TranscriptError(path, line, f"session {key[0]} turn {turn} appears twice")
    rows[key] = {**row, "path": str(path), "probs": coding.get("probs")}

