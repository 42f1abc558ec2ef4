"""Spreadsheets (CSV/TSV): columns found by name, many sessions per file.

Columns are auto-detected from common names (AnnoMI's `transcript_id`, `interlocutor`,
`utterance_text`, `timestamp` read as-is); `--columns speaker=Who,text=Said` names them
explicitly. A session-id column splits the file into sessions in order of first
appearance; other columns constant within a session become its metadata.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io.base import RawTranscript, ReadOptions, Utterance, parse_time, read_text, register

csv.field_size_limit(64 * 1024 * 1024)

COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "session": ("session_id", "transcript_id", "session", "conversation_id", "conversation",
                "dialog_id", "dialogue_id", "case_id", "case"),
    "speaker": ("speaker", "speaker_name", "name", "who", "spk", "participant", "interlocutor", "role"),
    "role": ("role", "interlocutor", "speaker_role"),
    "text": ("text", "utterance_text", "utterance", "content", "transcript_text", "message",
             "transcription", "sentence", "line", "said", "speech"),
    "start": ("start", "start_time", "timestamp", "time", "begin", "start_sec", "onset"),
    "end": ("end", "end_time", "stop", "end_sec"),
    "id": ("utterance_id", "utt_id", "turn_id", "segment_id", "id"),
}


def detect_columns(header: list[str], override: dict[str, str], path: Path) -> dict[str, int]:
    """Map our fields (speaker, text, …) to column positions."""
    lowered = [h.strip().lower() for h in header]
    found: dict[str, int] = {}
    for field, name in override.items():
        if field not in COLUMN_NAMES:
            raise TranscriptError(path, None, f"--columns names unknown field {field!r}; fields: {', '.join(COLUMN_NAMES)}")
        if name.strip().lower() not in lowered:
            raise TranscriptError(path, 1, f"--columns {field}={name}: no such column; columns are {', '.join(header)}")
        found[field] = lowered.index(name.strip().lower())
    for field, names in COLUMN_NAMES.items():
        if field in found:
            continue
        for name in names:
            if name in lowered and lowered.index(name) not in found.values():
                found[field] = lowered.index(name)
                break
    if "role" in found and "speaker" in found and found["role"] == found["speaker"]:
        del found["role"]
    for required in ("speaker", "text"):
        if required not in found:
            raise TranscriptError(
                path, 1,
                f"no {required} column found among {', '.join(header)}; name it with --columns {required}=COLUMN",
            )
    return found


def _dialect(path: Path, sample: str) -> type[csv.Dialect] | csv.Dialect:
    if path.suffix.lower() == ".tsv":
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def read_table(path: Path, options: ReadOptions, name: str) -> list[RawTranscript]:
    text, encoding = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(path, text[:4096]))
    try:
        header = next(reader)
    except StopIteration:
        raise TranscriptError(path, 1, "the file has no header row") from None
    except csv.Error as exc:
        raise TranscriptError(path, 1, f"malformed {name.upper()}: {exc}") from None
    columns = detect_columns(header, options.columns, path)
    mapped = set(columns.values())
    extra = [(i, h) for i, h in enumerate(header) if i not in mapped]

    sessions: dict[str, RawTranscript] = {}
    constant: dict[str, dict[str, str | None]] = {}
    line = reader.line_num
    while True:
        start_line = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise TranscriptError(path, reader.line_num, f"malformed {name.upper()} row: {exc}") from None
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cell = lambda field: row[columns[field]].strip() if field in columns and columns[field] < len(row) else ""
        speaker, utterance = cell("speaker"), cell("text")
        if not utterance:
            continue
        if not speaker:
            raise TranscriptError(path, start_line, "this row has text but no speaker; fill in the speaker column")
        sid = cell("session") or path.stem
        if sid not in sessions:
            sessions[sid] = RawTranscript(sid, [], str(path), name)
            if encoding not in ("utf-8", "utf-8-sig"):
                sessions[sid].warnings.append(f"decoded as {encoding}")
            constant[sid] = {h: (row[i] if i < len(row) else "") for i, h in extra}
        else:
            for i, h in extra:
                if constant[sid].get(h) is not None and (row[i] if i < len(row) else "") != constant[sid][h]:
                    constant[sid][h] = None
        sessions[sid].utterances.append(
            Utterance(
                speaker=speaker,
                text=utterance,
                line=start_line,
                start=parse_time(cell("start")),
                end=parse_time(cell("end")),
                id=cell("id") or None,
                role=cell("role") or None,
            )
        )
    if not sessions:
        raise TranscriptError(path, 2, "no rows with text under the header")
    for sid, raw in sessions.items():
        raw.metadata = {k: v for k, v in constant[sid].items() if v not in (None, "")}
    return list(sessions.values())


@register("csv", (".csv",), "spreadsheet with speaker and text columns (AnnoMI reads as-is)")
def read_csv(path: Path, options: ReadOptions) -> list[RawTranscript]:
    return read_table(path, options, "csv")


@register("tsv", (".tsv",), "tab-separated spreadsheet with speaker and text columns")
def read_tsv(path: Path, options: ReadOptions) -> list[RawTranscript]:
    return read_table(path, options, "tsv")
