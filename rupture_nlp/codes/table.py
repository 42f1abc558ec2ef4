"""Codes from a CSV/TSV sheet, the form human coders most often hand in.

Columns, matched case-insensitively: `session` (or `session_id`, `transcript_id`;
optional for a one-session file, whose stem is then the session id), `turn` (or
`turn_index`, `index`), and either `code` or any of `marker`, `subtype`, `stage`;
optional `role` (else a `speaker` column whose values are role words — Therapist,
Client — gives it), `start`, `end` (seconds or hh:mm:ss). The delimiter is a tab for
`.tsv` and sniffed (comma, semicolon, tab) otherwise. A bad row stops the read with a
`TranscriptError` naming the file and line, so no half-read coding is ever compared.
"""

from __future__ import annotations

import csv
from pathlib import Path

from rupture_nlp.codes.normalize import SPEAKER_ROLES, CodeTable, normalize
from rupture_nlp.errors import TranscriptError
from rupture_nlp.io.base import parse_time

ALIASES: dict[str, tuple[str, ...]] = {
    "session": ("session", "session_id", "transcript_id", "conversation_id"),
    "turn": ("turn", "turn_index", "index"),
    "code": ("code", "label"),
    "marker": ("marker",),
    "subtype": ("subtype",),
    "stage": ("stage",),
    "role": ("role",),
    "speaker": ("speaker",),
    "start": ("start", "start_time"),
    "end": ("end", "end_time"),
}


def _columns(header: list[str], path: Path) -> dict[str, str]:
    lowered = {h.strip().lower(): h for h in header if h}
    found = {}
    for field, names in ALIASES.items():
        for name in names:
            if name in lowered:
                found[field] = lowered[name]
                break
    if "turn" not in found:
        raise TranscriptError(path, 1, f"no turn column among {', '.join(header)}; name one 'turn'")
    if not {"code", "marker", "subtype", "stage"} & set(found):
        raise TranscriptError(path, 1, f"no code column among {', '.join(header)}; "
                              "give 'code' or 'marker'/'subtype'/'stage' columns")
    return found


def read_table(path: str | Path) -> CodeTable:
    """Codes keyed by (session, turn) from a CSV/TSV file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(path, None, f"not UTF-8 text ({exc.reason}); re-save the sheet as UTF-8 CSV") from None
    if not text.strip():
        raise TranscriptError(path, None, "the file is empty")
    if path.suffix.lower() == ".tsv":
        dialect: type[csv.Dialect] | csv.Dialect = csv.excel_tab
    else:
        try:
            dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    columns = _columns(list(reader.fieldnames or []), path)
    rows: CodeTable = {}
    for record in reader:
        line = reader.line_num
        values = {field: (record.get(column) or "").strip() for field, column in columns.items()}
        if not any(values.values()):
            continue
        session = values.get("session") or path.stem
        try:
            turn = int(values["turn"])
        except ValueError:
            raise TranscriptError(path, line, f"turn {values['turn']!r} is not a whole number") from None
        fields = {k: values.get(k) for k in ("code", "marker", "subtype", "stage", "role")}
        if not fields["role"] and values.get("speaker", "").strip().lower() in SPEAKER_ROLES:
            fields["role"] = values["speaker"]
        row = normalize(fields, path, line)  # a row with no code is a turn not coded (e.g. a third speaker)
        for field in ("start", "end"):
            raw = values.get(field)
            row[field] = parse_time(raw) if raw else None
            if raw and row[field] is None:
                raise TranscriptError(path, line, f"{field} {raw!r} is not seconds or hh:mm:ss")
        key = (session, turn)
        if key in rows:
            raise TranscriptError(path, line, f"session {session} turn {turn} coded twice "
                                  f"(first on line {rows[key]['line']})")
        rows[key] = {**row, "path": str(path), "probs": None}
    if not any(r["marker"] or r["stage"] for r in rows.values()):
        raise TranscriptError(path, None, "no coded rows")
    return rows
