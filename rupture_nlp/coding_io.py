"""Writing coded sessions: codebook §4 JSONL (plus probabilities) and the batch manifest.

Every file is written to a hidden temporary name (`.NAME.XXXX.part`) and renamed into
place, so an interrupted run, even a `kill -9`, never leaves a half-written session under
an output name; the temporary names neither end in `.jsonl` (so `report` and `evaluate`
never read them) nor survive the next run (`clean_stale_temps`). Session ids are made safe
as file names so no id can write outside the output folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from rupture_nlp.types import Coding, Session

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
TEMP_SUFFIX = ".part"
LOCK_NAME = ".rupture-code.lock"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class OutputBusyError(Exception):
    """Another `rupture-nlp code` run is writing to the same output folder."""


def safe_name(session_id: str) -> str:
    """A file name for a session id: no separators, no leading dots, never empty."""
    name = _UNSAFE.sub("_", session_id).lstrip(".")[:120]
    return name or "session"


def coded_records(session: Session, codings: list[Coding], provenance: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Codebook §4 records (session_id, turn, speaker, role, text, marker, subtype, stage) plus probs.

    `provenance` (input hash, model fingerprint, source) goes on every row, so each row says
    what produced it and a resumed batch can tell a current output from a stale one.
    """
    rows = []
    for turn, coding in zip(session.turns, codings):
        row = {
            "session_id": session.session_id, "turn": turn.index, "speaker": turn.speaker, "role": turn.role,
            "text": turn.text, "marker": coding.marker, "subtype": coding.subtype, "stage": coding.stage,
            "probs": coding.probs, "start": turn.start, "end": turn.end, "cues": [c.text for c in turn.cues],
            "session_meta": session.metadata,
        }
        if provenance is not None:
            row["provenance"] = provenance
        rows.append(row)
    return rows


def coded_text(session: Session, codings: list[Coding], provenance: dict[str, str] | None = None) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in coded_records(session, codings, provenance))


def _write_temp(path: Path, text: str) -> str:
    """The text in a hidden, fsynced temporary file beside `path`; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; outputs get the usual permissions
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def atomic_write_text(path: Path, text: str) -> None:
    tmp = _write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_create_text(path: Path, text: str) -> bool:
    """Write `path` atomically only if no file has that name; False if one appeared first.

    A hard link is the atomic "rename unless it exists", so two workers whose sessions share
    a file name can never overwrite each other's output.
    """
    tmp = _write_temp(path, text)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: check-then-rename (not race-free)
        if path.exists():
            return False
        os.replace(tmp, path)
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_coded(session: Session, codings: list[Coding], out_dir: Path, provenance: dict[str, str] | None = None) -> Path:
    path = out_dir / f"{safe_name(session.session_id)}.jsonl"
    atomic_write_text(path, coded_text(session, codings, provenance))
    return path


@dataclass
class ExistingOutput:
    """What a coded file on disk says about itself: its session, provenance and row count."""

    session_id: str | None
    provenance: dict[str, str]
    rows: int


def read_existing(path: Path) -> ExistingOutput | None:
    """The session id and provenance of a coded file (from its first row), or None if absent or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
            rows = (1 if first.strip() else 0) + sum(1 for line in handle if line.strip())
        row = json.loads(first)
        return ExistingOutput(str(row.get("session_id")), dict(row.get("provenance") or {}), rows)
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def clean_stale_temps(out_dir: Path) -> int:
    """Remove temporary files a killed run left behind; returns how many.

    Only safe while holding the output folder's lock (`lock_output`), which guarantees no
    other run is mid-write.
    """
    removed = 0
    for tmp in out_dir.glob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


@contextmanager
def lock_output(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for a run (released by the OS even on kill -9)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one run per folder is the user's care
        yield
        return
    with open(out_dir / LOCK_NAME, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputBusyError(f"{out_dir}: another 'rupture-nlp code' run is writing here; "
                                  "wait for it to finish or choose another output folder") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
