"""Reading coded sessions back: the JSONL `rupture-nlp code` writes, grouped by session.

Exports and the active-learning sampler start from here. A line that is not JSON, or a
record without `session_id`/`turn`/`role`, is a `TranscriptError` naming the file and line,
so a hand-edited or truncated file is reported before anything is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from rupture_nlp.errors import TranscriptError

REQUIRED = ("session_id", "turn", "role")


@dataclass
class SessionRecords:
    """One coded session: its codebook §4 records (one a turn, in turn order) and where they came from."""

    session_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None

    @property
    def meta(self) -> dict[str, Any]:
        """The session metadata carried on the records (`session_meta`)."""
        return next((r.get("session_meta") or {} for r in self.records if r.get("session_meta")), {})


def coded_files(paths: Iterable[str | Path]) -> list[Path]:
    """The coded JSONL files named or found (recursively) in folders, in a stable order."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(path.rglob("*.jsonl")))
        elif path.exists():
            files.append(path)
        else:
            raise TranscriptError(path, None, "no such file or folder")
    return files


def read_coded_sessions(paths: Iterable[str | Path]) -> list[SessionRecords]:
    """Coded sessions from files and folders, in file order; a session split over files is joined."""
    sessions: dict[str, SessionRecords] = {}
    for file in coded_files(paths):
        with open(file, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TranscriptError(file, number, f"not a JSON record ({exc.msg}); is this a coded JSONL file?")
                missing = [k for k in REQUIRED if not isinstance(record, dict) or k not in record]
                if missing:
                    raise TranscriptError(file, number, f"coded record lacks {', '.join(missing)}")
                try:
                    record["turn"] = int(record["turn"])
                except (TypeError, ValueError):
                    raise TranscriptError(file, number, f"turn {record['turn']!r} is not a number")
                sid = str(record["session_id"])
                item = sessions.setdefault(sid, SessionRecords(sid, path=file))
                item.records.append(record)
    for item in sessions.values():
        item.records.sort(key=lambda r: r["turn"])
    return list(sessions.values())
