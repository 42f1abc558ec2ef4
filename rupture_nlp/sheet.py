"""The coding sheet of the active-learning loop: written by `sample`, filled by a human,
read back by `import`.

One CSV row a turn, UTF-8 with a byte-order mark so Excel shows accents and curly quotes.
Each sampled turn is an *item*: its preceding context turns come first (`row` = `context`,
for reading), then the turn to code (`row` = `CODE`), which carries the model's guess and
uncertainty, the codes valid for its role, and empty columns `marker, subtype, stage, coder,
notes` for the coder. Every row names its `session_id` and `turn`, so sorting or filtering
the sheet does not break the import. Excel in some locales saves CSV with `;`: the reader
accepts `,`, `;` and tab.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from rupture_nlp.coding_io import atomic_write_text
from rupture_nlp.errors import TranscriptError
from rupture_nlp.exports.coded import SessionRecords
from rupture_nlp.labels import CONFRONTATION_SUBTYPES, MARKERS, STAGES, WITHDRAWAL_SUBTYPES
from rupture_nlp.uncertainty import Candidate

CODER_COLUMNS = ("marker", "subtype", "stage", "coder", "notes")
COLUMNS = ("item", "row", "session_id", "turn", "speaker", "role", "text", "cues", "uncertainty", "model_code",
           *CODER_COLUMNS, "valid_codes", "start", "end", "session_meta")
REQUIRED = ("session_id", "turn", "speaker", "role", "text", "marker", "subtype", "stage")
TARGET, CONTEXT = "CODE", "context"

VALID_CODES = {
    "client": (f"marker: {' | '.join(MARKERS)}; subtype (only when marker is not none): "
               f"confrontation → {' | '.join(CONFRONTATION_SUBTYPES)}; withdrawal → {' | '.join(WITHDRAWAL_SUBTYPES)}"),
    "therapist": f"stage: {' | '.join(STAGES)}",
}


def model_code(record: dict[str, Any]) -> str:
    if record.get("role") == "client":
        return f"{record.get('marker') or ''}/{record.get('subtype') or ''}".strip("/")
    return record.get("stage") or ""


def _row(item: int, kind: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"item": item, "row": kind, "session_id": record["session_id"], "turn": record["turn"],
            "speaker": record.get("speaker") or "", "role": record.get("role") or "", "text": record.get("text") or "",
            "cues": "; ".join(record.get("cues") or []), "start": record.get("start"), "end": record.get("end")}


def sheet_rows(sessions: list[SessionRecords], picked: list[Candidate], context: int = 3,
               blind: bool = False) -> list[dict[str, Any]]:
    """Rows of the sheet: for each picked turn, `context` preceding turns then the turn itself."""
    by_key = {(s.session_id, r["turn"]): (s, r) for s in sessions for r in s.records}
    rows = []
    for item, cand in enumerate(picked, start=1):
        session, record = by_key[(cand.session_id, cand.turn)]
        for prior in [r for r in session.records if cand.turn - context <= r["turn"] < cand.turn]:
            rows.append(_row(item, CONTEXT, prior))
        row = _row(item, TARGET, record)
        row.update({"uncertainty": round(cand.score, 4), "model_code": "" if blind else model_code(record),
                    "valid_codes": VALID_CODES.get(record["role"], ""),
                    "session_meta": json.dumps(session.meta, ensure_ascii=False, sort_keys=True) if session.meta else ""})
        rows.append(row)
    return rows


def write_sheet(rows: list[dict[str, Any]], out: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS} for row in rows)
    atomic_write_text(out, "\ufeff" + buffer.getvalue())
    return out


def read_sheet(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for every non-empty row; the line is the row's first line in the file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(path, None, f"not UTF-8 ({exc.reason}); in Excel use 'Save as… CSV UTF-8'")
    except OSError as exc:
        raise TranscriptError(path, None, f"cannot read the sheet: {exc.strerror}")
    first = text.splitlines()[0] if text else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise TranscriptError(path, 1, f"the sheet lacks the column(s) {', '.join(missing)}; is it a sheet "
                                       "written by 'rupture-nlp sample'?")
    rows, line = [], reader.line_num + 1
    for row in reader:
        if any((v or "").strip() for k, v in row.items() if k is not None):
            rows.append((line, {k: (v or "").strip() for k, v in row.items() if k is not None}))
        line = reader.line_num + 1
    return rows
