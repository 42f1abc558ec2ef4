"""Writing coded sessions: codebook §4 JSONL (plus probabilities) and the batch manifest.

Every file is written to a temporary name and renamed into place, so an interrupted
run never leaves a half-written session; session ids are made safe as file names so no
id can write outside the output folder, and no two sessions of a run share a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from rupture_nlp.types import Coding, Session

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Names Windows reserves for devices, with any extension (`CON.jsonl` opens the console).
_RESERVED = frozenset({"con", "prn", "aux", "nul", "conin$", "conout$"}
                      | {f"{dev}{n}" for dev in ("com", "lpt") for n in "0123456789¹²³"})


def safe_name(session_id: str) -> str:
    """A file name for a session id: ASCII letters, digits, `._-` only, no leading dot,
    no Windows device name, at most ~130 characters, never empty.

    An id that is already such a name is used as it is. Any other id is sanitised and
    gets a hash of the original, so two distinct ids (`a/b`, `a_b`, `café`, `cafè`)
    never map to the same file.
    """
    name = _UNSAFE.sub("_", session_id).lstrip(".").rstrip(". ")[:120]
    if name.split(".")[0].lower() in _RESERVED:
        name = f"_{name}"
    if name and name == session_id:
        return name
    digest = hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{name or 'session'}-{digest}"


def unique_id(session_id: str, taken: set[str]) -> str:
    """The session id, or `id-2`, `id-3`… when its file name is already taken in this run.

    Two input files often give the same id (`a/s1.txt` and `b/s1.txt` are both `s1`); the
    second becomes `s1-2`, in its records too, so the report and `evaluate` (which key
    on session ids) keep the two sessions apart. File names are compared
    case-insensitively because macOS and Windows file systems do. `taken` holds the
    names used so far in the run and is updated.
    """
    candidate, n = session_id, 1
    while safe_name(candidate).casefold() in taken:
        n += 1
        candidate = f"{session_id}-{n}"
    taken.add(safe_name(candidate).casefold())
    return candidate


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
    """Write one coded session to `out_dir/<safe_name(id)>.jsonl` (see `unique_id` for a batch)."""
    path = out_dir / f"{safe_name(session.session_id)}.jsonl"
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in coded_records(session, codings)))
    return path
