"""The `imported` corpus source: turns a human coded on a `sample` sheet, kept in `data/`.

A source is a name (`--source clinic`) holding, a session each,
- `imported/<source>/<session>.jsonl` — the turns the sheets showed (coded turns and their
  context), text included: the user owns this text, unlike AnnoMI's;
- `labels/imported/<source>/<session>.tsv` — the codes: turn, speaker, role, marker,
  subtype, stage, coder, notes, sheet.
Turns are keyed by (session id, turn index). Importing merges: new turns are added, a
turn coded again takes the newer code, and a turn a sheet leaves uncoded keeps any code it
had; importing the same sheet twice changes nothing. A session belongs to one source only
(an authored, AnnoMI or other imported session id is refused), and keeps its own id, so
`splits.json` places it like any session — sessions it does not list are trained on.

Every row is validated against the codebook before anything is written; a bad row is a
`TranscriptError` naming the sheet and line, and `data/` is left as it was. AnnoMI text is
refused: its licence keeps it out of `data/` (AnnoMI codes live in `labels/annomi`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from rupture_nlp.coding_io import atomic_write_text, safe_name
from rupture_nlp.corpus import ANNOMI_FILE, DATA_DIR, CodedSession, annomi_dir, code_turn
from rupture_nlp.errors import TranscriptError
from rupture_nlp.labels import ROLES, check_code
from rupture_nlp.sheet import read_sheet
from rupture_nlp.types import Cue, Session, Turn, iter_jsonl_sessions

LABEL_COLUMNS = ("turn", "speaker", "role", "marker", "subtype", "stage", "coder", "notes", "sheet")
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass
class Pending:
    """One session's turns and codes read from a sheet, not yet merged."""

    session_id: str
    meta: dict = field(default_factory=dict)
    turns: dict[int, Turn] = field(default_factory=dict)
    labels: dict[int, dict[str, str]] = field(default_factory=dict)
    lines: dict[int, int] = field(default_factory=dict)  # turn → sheet line, for messages


def _code(value: str) -> str | None:
    return value.strip().lower() or None


def parse_sheet(path: Path) -> dict[str, Pending]:
    """Every row of a filled sheet, validated: turns and codes by session."""
    sessions: dict[str, Pending] = {}
    for line, row in read_sheet(path):
        sid = row["session_id"]
        if not sid:
            raise TranscriptError(path, line, "session_id is empty")
        try:
            index = int(float(row["turn"]))
        except (ValueError, OverflowError):
            raise TranscriptError(path, line, f"turn {row['turn']!r} is not a number")
        role = row["role"].lower()
        if role not in ROLES:
            raise TranscriptError(path, line, f"role {row['role']!r} is not one of {', '.join(ROLES)}")
        item = sessions.setdefault(sid, Pending(sid))
        if row.get("session_meta"):
            try:
                item.meta = json.loads(row["session_meta"])
            except json.JSONDecodeError:
                raise TranscriptError(path, line, "session_meta is not valid JSON (leave that column as written)")
        try:
            times = {k: float(row[k]) if row.get(k) else None for k in ("start", "end")}
        except ValueError:
            raise TranscriptError(path, line, f"start/end {row.get('start')!r}/{row.get('end')!r} are not seconds")
        turn = Turn(index=index, speaker=row["speaker"], role=role, text=row["text"], start=times["start"],
                    end=times["end"], cues=[Cue(c.strip()) for c in (row.get("cues") or "").split(";") if c.strip()])
        known = item.turns.get(index)
        if known is not None and (known.text, known.role) != (turn.text, turn.role):
            raise TranscriptError(path, line, f"{sid} turn {index} differs from line {item.lines[index]} of the sheet")
        item.turns[index] = turn
        item.lines.setdefault(index, line)
        marker, subtype, stage = (_code(row.get(k) or "") for k in ("marker", "subtype", "stage"))
        if not (marker or subtype or stage):
            continue  # not coded (context, or an item the coder skipped)
        problem = check_code(role, marker, subtype, stage)
        if problem:
            raise TranscriptError(path, line, f"{sid} turn {index}: {problem}")
        label = {"turn": str(index), "speaker": turn.speaker, "role": role, "marker": marker or "",
                 "subtype": subtype or "", "stage": stage or "", "coder": row.get("coder") or "",
                 "notes": row.get("notes") or "", "sheet": Path(path).name}
        previous = item.labels.get(index)
        if previous and _codes(previous) != _codes(label):
            raise TranscriptError(path, line, f"{sid} turn {index} is coded differently on line {item.lines[index]}")
        item.labels[index] = label
        item.lines[index] = line
    return sessions


def _codes(label: dict[str, str]) -> tuple[str, str, str]:
    return label["marker"], label["subtype"], label["stage"]


def _paths(data_dir: Path, source: str, sid: str) -> tuple[Path, Path]:
    name = safe_name(sid)
    return data_dir / "imported" / source / f"{name}.jsonl", data_dir / "labels/imported" / source / f"{name}.tsv"


def _read_labels(path: Path) -> dict[int, dict[str, str]]:
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as handle:
        return {int(r["turn"]): r for r in csv.DictReader(handle, delimiter="\t")}


def _read_session(path: Path) -> Session | None:
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        return next(iter_jsonl_sessions(handle), None)


def _labels_text(labels: dict[int, dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LABEL_COLUMNS, delimiter="\t", lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(labels[k] for k in sorted(labels))
    return buffer.getvalue()


def _session_text(session: Session) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in session.to_records())


def taken_session_ids(data_dir: Path, except_source: str) -> dict[str, str]:
    """Session id → source for every session already in the corpus outside `except_source`."""
    taken = {p.stem: "authored" for p in (data_dir / "authored/meta").glob("*.json")}
    taken.update({f"annomi_{p.stem}": "annomi" for p in (data_dir / "labels/annomi/coder_a").glob("*.tsv")})
    for folder in sorted((data_dir / "imported").glob("*")):
        if folder.is_dir() and folder.name != except_source:
            for file in folder.glob("*.jsonl"):
                session = _read_session(file)
                if session is not None:
                    taken[session.session_id] = f"imported/{folder.name}"
    return taken


def labelled_keys(data_dir: Path = DATA_DIR) -> set[tuple[str, int]]:
    """(session id, turn) of every imported code, so a new sample does not ask for them again."""
    return {(item.session.session_id, t.index) for item in load_imported("coder_a", data_dir)
            for t in item.session.turns if t.coding is not None}


def _prefix(text: str) -> str:
    return " ".join(text.split())[:60].lower()


def refuse_annomi(pending: dict[str, Pending], sheet: Path) -> None:
    """AnnoMI text must never be stored in `data/` (its licence is unstated): refuse sheets that carry it.

    Caught by AnnoMI's session metadata (`mi_quality`) and, when a local copy is found, by
    any turn that starts like an AnnoMI utterance of 20 characters or more."""
    for item in pending.values():
        if "mi_quality" in item.meta:
            raise TranscriptError(sheet, min(item.lines.values()), f"session {item.session_id} is an AnnoMI transcript; "
                                  "its text is never stored in data/ (code AnnoMI in data/labels/annomi)")
    folder = annomi_dir()
    if folder is None:
        return
    with open(folder / ANNOMI_FILE, encoding="utf-8", newline="") as handle:
        known = {_prefix(r["utterance_text"]) for r in csv.DictReader(handle) if len(r.get("utterance_text") or "") >= 20}
    for item in pending.values():
        for index, turn in item.turns.items():
            if len(turn.text) >= 20 and _prefix(turn.text) in known:
                raise TranscriptError(sheet, item.lines[index], f"{item.session_id} turn {index} is AnnoMI text, which "
                                      "is never stored in data/ (code AnnoMI in data/labels/annomi)")


def import_sheet(sheet: str | Path, source: str, data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Validate a filled sheet and merge its turns and codes into `data_dir` as source `source`."""
    sheet = Path(sheet)
    if not _SOURCE_NAME.match(source):
        raise ValueError(f"source name {source!r}: use letters, digits, '-' and '_' (it becomes a folder name)")
    pending = parse_sheet(sheet)
    refuse_annomi(pending, sheet)
    taken = taken_session_ids(data_dir, source)
    for sid, item in pending.items():
        if sid in taken:
            line = min(item.lines.values())
            raise TranscriptError(sheet, line, f"session {sid} is already in the corpus as {taken[sid]}; "
                                               "a session belongs to one source")
    writes: list[tuple[Path, str]] = []
    stats = {"sessions": len(pending), "coded_rows": 0, "new": 0, "changed": 0, "unchanged": 0, "files_written": 0}
    for sid, item in sorted(pending.items()):
        text_path, labels_path = _paths(data_dir, source, sid)
        stored = _read_session(text_path)
        if stored is not None and stored.session_id != sid:
            raise TranscriptError(sheet, min(item.lines.values()),
                                  f"session {sid} would share {text_path.name} with {stored.session_id}; rename one")
        turns = {t.index: t for t in (stored.turns if stored else [])}
        for index, turn in item.turns.items():
            old = turns.get(index)
            if old is not None and (old.text, old.role) != (turn.text, turn.role):
                raise TranscriptError(sheet, item.lines[index], f"{sid} turn {index} differs from the text already "
                                                                f"imported in {text_path}")
            turns.setdefault(index, turn)
        meta = {**(stored.metadata if stored else {}), **item.meta, "imported_source": source}
        session = Session(session_id=sid, turns=[turns[k] for k in sorted(turns)], format="sheet", metadata=meta)
        labels = _read_labels(labels_path)
        for index, label in item.labels.items():
            stats["coded_rows"] += 1
            old = labels.get(index)
            same = old is not None and _codes(old) == _codes(label)
            stats["unchanged" if same else "changed" if old else "new"] += 1
            if not same:
                labels[index] = label
        for path, text in ((text_path, _session_text(session)), (labels_path, _labels_text(labels))):
            if not labels and path == labels_path:
                continue
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                writes.append((path, text))
    for path, text in writes:  # all rows validated: now write, text before codes, each file atomically
        atomic_write_text(path, text)
    stats["files_written"] = len(writes)
    return stats


def load_imported(coder: str = "coder_a", data_dir: Path = DATA_DIR, only: set[str] | None = None) -> list[CodedSession]:
    """Imported sessions with their codes (training labels, so only for the primary coder `coder_a`)."""
    if coder != "coder_a":
        return []
    out = []
    for folder in sorted(p for p in (data_dir / "imported").glob("*") if p.is_dir()):
        for text_path in sorted(folder.glob("*.jsonl")):
            session = _read_session(text_path)
            if session is None or (only is not None and session.session_id not in only):
                continue
            labels_path = data_dir / "labels/imported" / folder.name / f"{text_path.stem}.tsv"
            by_index = {t.index: t for t in session.turns}
            for number, (index, row) in enumerate(sorted(_read_labels(labels_path).items()), start=2):
                turn = by_index.get(index)
                if turn is None or turn.role != row["role"]:
                    raise TranscriptError(labels_path, number, f"turn {index} ({row['role']}) is not in {text_path}")
                code_turn(turn, row, labels_path, number)
            session.metadata.setdefault("imported_source", folder.name)
            out.append(CodedSession(session, "imported", dict(session.metadata)))
    return out
