"""Writing coded sessions: codebook §4 JSONL (plus probabilities) and the batch manifest.

Every file is written to a temporary name and renamed into place, so an interrupted
run never leaves a half-written session; session ids are made safe as file names so no
id can write outside the output folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from rupture_nlp.types import Coding, Session

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(session_id: str) -> str:
    """A file name for a session id: no separators, no leading dots, never empty."""
    name = _UNSAFE.sub("_", session_id).lstrip(".")[:120]
    return name or "session"


def coded_records(session: Session, codings: list[Coding]) -> list[dict[str, Any]]:
    """Codebook §4 records (session_id, turn, speaker, role, text, marker, subtype, stage) plus probs."""
    rows = []
    for turn, coding in zip(session.turns, codings):
        rows.append({
            "session_id": session.session_id, "turn": turn.index, "speaker": turn.speaker, "role": turn.role,
            "text": turn.text, "marker": coding.marker, "subtype": coding.subtype, "stage": coding.stage,
            "probs": coding.probs, "start": turn.start, "end": turn.end, "cues": [c.text for c in turn.cues],
            "session_meta": session.metadata,
        })
    return rows


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_coded(session: Session, codings: list[Coding], out_dir: Path) -> Path:
    path = out_dir / f"{safe_name(session.session_id)}.jsonl"
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in coded_records(session, codings)))
    return path
