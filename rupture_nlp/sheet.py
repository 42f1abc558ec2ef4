"""The coding sheet of the active-learning loop: written by `sample`, filled by a human,
read back by `import`.

One CSV row a turn, UTF-8 with a byte-order mark so Excel shows accents and curly quotes.
Each sampled turn is an *item*: its preceding context turns come first (`row` = `context`,
for reading), then the turn to code (`row` = `CODE`), which carries the model's guess and
uncertainty, the codes valid for its role, and empty columns `marker, subtype, stage, coder,
notes` for the coder. Every row names its `session_id` and `turn`, so sorting or filtering
the sheet does not break the import. Excel in some locales saves CSV with `;`: the reader
accepts `,`, `;` and tab.

A sheet named `*.xlsx` is written as an Excel workbook instead (openpyxl, extra `[export]`):
the same columns, header frozen, and drop-down lists of the codebook's values on the
marker, subtype and stage columns, taken from a second worksheet `codes`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rupture_nlp.coding_io import atomic_write_text
from rupture_nlp.errors import TranscriptError
from rupture_nlp.exports.coded import SessionRecords
from rupture_nlp.exports.extras import require
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
    """Write the sheet as CSV, or as an Excel workbook when `out` ends in `.xlsx`."""
    if out.suffix.lower() == ".xlsx":
        return _write_xlsx(rows, out)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS} for row in rows)
    atomic_write_text(out, "\ufeff" + buffer.getvalue())
    return out


def _write_xlsx(rows: list[dict[str, Any]], out: Path) -> Path:
    openpyxl = require("openpyxl", "XLSX")
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "coding"
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([row.get(k) for k in COLUMNS])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a turn such as "=)" is text, not a formula
    sheet.freeze_panes = "A2"
    codes = book.create_sheet("codes")
    lists = {"marker": MARKERS, "subtype": CONFRONTATION_SUBTYPES + WITHDRAWAL_SUBTYPES, "stage": STAGES}
    for col, (name, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(col)
        codes.cell(1, col, name)
        for r, value in enumerate(values, start=2):
            codes.cell(r, col, value)
        check = DataValidation(type="list", formula1=f"codes!${letter}$2:${letter}${len(values) + 1}", allow_blank=True,
                               showErrorMessage=True, error=f"Not a {name} code of the codebook")
        target = get_column_letter(COLUMNS.index(name) + 1)
        check.add(f"{target}2:{target}{max(len(rows), 1) + 1}")
        sheet.add_data_validation(check)
    sheet.column_dimensions[get_column_letter(COLUMNS.index("text") + 1)].width = 80
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    os.close(fd)
    try:
        book.save(tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _read_xlsx(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    openpyxl = require("openpyxl", "XLSX")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a file that is not a workbook
        raise TranscriptError(path, None, f"not an Excel workbook ({exc})")
    sheet = book["coding"] if "coding" in book.sheetnames else book.worksheets[0]
    lines = sheet.iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(lines, ())]
    rows = []
    for number, values in enumerate(lines, start=2):
        cells = ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in values]
        rows.append((number, dict(zip(header, cells))))
    book.close()
    return header, rows


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(path, None, f"not UTF-8 ({exc.reason}); in Excel use 'Save as… CSV UTF-8'")
    first = text.splitlines()[0] if text else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = list(reader.fieldnames or [])
    rows, line = [], reader.line_num + 1
    for row in reader:
        rows.append((line, {k: v if isinstance(v, str) else "" for k, v in row.items() if k is not None}))
        line = reader.line_num + 1
    return header, rows


def read_sheet(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for every non-empty row: the row's first line in a CSV, its row number in Excel."""
    path = Path(path)
    if not path.exists():
        raise TranscriptError(path, None, "no such sheet")
    header, rows = (_read_xlsx if path.suffix.lower() == ".xlsx" else _read_csv)(path)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise TranscriptError(path, 1, f"the sheet lacks the column(s) {', '.join(missing)}; is it a sheet "
                                       "written by 'rupture-nlp sample'?")
    return [(line, {k: v.strip() for k, v in row.items()}) for line, row in rows if any(v.strip() for v in row.values())]
