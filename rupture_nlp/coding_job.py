"""One input file's share of a `code` batch: read it, code the sessions not already done, write each.

The same function runs in the main process (`--workers 1`) and in worker processes, so
the two give identical files. Everything it needs travels in a small picklable
`JobSettings`; the model comes from a `get_coder` callable that loads it on first use, so
a file whose sessions are all current never loads or runs the model.

With `settings.deid` (a `rupture_nlp.deid.Deidentifier`, which pickles, so workers get it)
each session is coded on its real text and de-identified before its output text and file
name are made; the input is then named by its content hash (`resume.file_digest`), never
by path, in the result, the provenance and every message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rupture_nlp.coding_io import atomic_create_text, atomic_write_text, coded_text
from rupture_nlp.errors import TranscriptError
from rupture_nlp.io import read_sessions
from rupture_nlp.io.base import ReadOptions, reader_for
from rupture_nlp.resume import (deid_provenance, file_digest, find_current, find_current_deid, input_hash, is_current,
                                 provenance, target_for)
from rupture_nlp.segment import SegmentOptions


@dataclass
class JobSettings:
    """What every file of a batch is read and coded with."""

    out_dir: Path
    model: str  # the model fingerprint recorded in every output
    fmt: str | None = None
    options: ReadOptions = field(default_factory=ReadOptions)
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    force: bool = False
    deid: Any = None  # a rupture_nlp.deid.Deidentifier: de-identify every output
    keep_mapping: bool = False  # send each session's placeholder table back (only for --deid-mapping)
    run: str = ""  # this batch's id: de-identified resume reads the outputs on disk once per run

    def input_name(self, path: str | Path) -> str:
        """How messages and the manifest name an input: its path, or its content hash when de-identifying."""
        return file_digest(path) if self.deid is not None else str(path)

    def scrub(self, message: str) -> str:
        return self.deid.text(message) if self.deid is not None else message


@dataclass
class FileResult:
    """One file's outcome: an entry per session (coded, skipped or failed) or a read error."""

    path: str
    sessions: list[dict[str, Any]] = field(default_factory=list)
    error: TranscriptError | None = None


class FatalCodingError(Exception):
    """An error that no other file would escape (e.g. the model cannot load): stop the batch."""


def code_file(path: Path, settings: JobSettings, get_coder: Callable[[], Any],
              on_session: Callable[[dict[str, Any]], None] | None = None) -> FileResult:
    """Code one file's sessions into `settings.out_dir`; never raises for a bad file or session."""
    result = FileResult(settings.input_name(path))
    try:
        reader = reader_for(path, settings.fmt).name
        key = input_hash(path, reader, settings.options, settings.segment)  # before reading: a later edit redoes it
    except (OSError, TranscriptError):
        key = None  # read_sessions names the problem
    try:
        sessions = read_sessions(path, settings.fmt, settings.options, settings.segment)
        if key is None:
            raise TranscriptError(path, None, "cannot open the file")
    except TranscriptError as error:
        result.error = error if settings.deid is None else TranscriptError(
            result.path, error.line, settings.scrub(error.message.replace(str(path), result.path)))
        return result
    for index, session in enumerate(sessions):
        if settings.deid is not None:
            entry = _code_deid_session(path, session, index, key, settings, get_coder)
        else:
            entry = _code_session(path, session, key, settings, get_coder)
        result.sessions.append(entry)
        if on_session is not None:
            on_session(entry)
    return result


def _code_session(path: Path, session, key: str, settings: JobSettings, get_coder) -> dict[str, Any]:
    prov = provenance(path, key, settings.model)
    entry: dict[str, Any] = {"session_id": session.session_id, "input": str(path), "turns": len(session.turns),
                             "warnings": session.warnings}
    try:
        current = None if settings.force else find_current(settings.out_dir, session.session_id, prov, len(session.turns))
        if current is not None:
            return dict(entry, status="skipped", output=str(current))
        text = coded_text(session, get_coder().code(session), prov)
        target = _write_output(settings.out_dir, session.session_id, prov["source"], text)
        return dict(entry, status="coded", output=str(target))
    except FatalCodingError:
        raise
    except Exception as exc:  # one session's failure must not cost the rest of the batch
        return dict(entry, status="failed", message=f"could not code: {type(exc).__name__}: {exc}")


def _write_output(out_dir: Path, session_id: str, source: str, text: str) -> Path:
    """Write a session's output under its name, or a fresh one if another input's session took it meanwhile."""
    target, replace = target_for(out_dir, session_id, source)
    if replace:
        atomic_write_text(target, text)
    elif not atomic_create_text(target, text):  # another input's session took the name meanwhile
        target, _ = target_for(out_dir, session_id, source)
        atomic_write_text(target, text)
    return target


def _code_deid_session(path: Path, session, index: int, key: str, settings: JobSettings, get_coder) -> dict[str, Any]:
    """`_code_session` for `--deidentify`: resume by input hash + position, write only de-identified text.

    An earlier output of the same session is found whatever its (pseudonymous) name, so a
    re-run skips it even when the pseudonym key changed; when it is stale (another model) it
    is replaced in place. Nothing in the entry names the input's path or the real session id.
    """
    deid = settings.deid
    prov = deid_provenance(path, key, settings.model, index)
    entry: dict[str, Any] = {"session_id": deid.session_id(session.session_id), "input": prov["source"],
                             "turns": len(session.turns), "warnings": []}
    try:
        previous, found = find_current_deid(settings.out_dir, prov, settings.run)
        if previous is not None and not settings.force and is_current(found, prov, len(session.turns)):
            return dict(entry, session_id=found.session_id, status="skipped", output=str(previous))
        codings = get_coder().code(session)  # on the real text: the codes do not depend on --deidentify
        clean = deid.session(session)
        text = coded_text(clean, codings, prov)
        entry.update(session_id=clean.session_id, warnings=clean.warnings)
        if settings.keep_mapping:
            entry["mapping"] = deid.mapping(clean.session_id)
        if previous is not None:
            atomic_write_text(previous, text)
            return dict(entry, status="coded", output=str(previous))
        target = _write_output(settings.out_dir, clean.session_id, prov["source"], text)
        return dict(entry, status="coded", output=str(target))
    except FatalCodingError:
        raise
    except Exception as exc:  # one session's failure must not cost the rest of the batch
        return dict(entry, status="failed", message=settings.scrub(f"could not code: {type(exc).__name__}: {exc}"))
