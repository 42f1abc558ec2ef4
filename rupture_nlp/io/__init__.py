"""Readers (one module a format, found through the registry) and batch reading.

`read_sessions(path)` is the whole ingestion job for one file: pick the reader by
`--format` or extension, read, segment into turns. `expand_paths` turns the paths a user
typed (files and folders) into the files the readers know.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io import convokit, docx, subtitles, table, txt, whisper  # noqa: F401  (registration)
from rupture_nlp.io.base import READERS, RawTranscript, ReadOptions, known_extensions, reader_for
from rupture_nlp.segment import SegmentOptions, build_session
from rupture_nlp.types import Session

__all__ = ["READERS", "ReadOptions", "expand_paths", "read_raw", "read_sessions"]


def expand_paths(paths: Iterable[str | Path], format: str | None = None) -> list[Path]:
    """Files to read: files as given, folders searched recursively for known extensions.

    With `format` set, a folder yields the files of that format's extensions only.
    """
    extensions = set(reader_for(Path("x"), format).extensions) if format else known_extensions()
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in extensions))
        else:
            files.append(path)
    return files


def read_raw(path: str | Path, format: str | None = None, options: ReadOptions | None = None) -> list[RawTranscript]:
    """Read one file into raw transcripts; every failure becomes a `TranscriptError`."""
    path = Path(path)
    if not path.exists():
        raise TranscriptError(path, None, "no such file")
    if path.is_dir():
        raise TranscriptError(path, None, "this is a directory, not a transcript file")
    if not path.is_file():  # reading a FIFO would hang, /dev/zero would fill the memory
        raise TranscriptError(path, None, "not a regular file (a device, pipe or socket); save the transcript to a file")
    spec = reader_for(path, format)
    try:
        return spec.read(path, options or ReadOptions())
    except TranscriptError:
        raise
    except RecursionError:
        raise TranscriptError(path, None, f"the {spec.name} file is nested too deeply to read") from None
    except Exception as exc:  # a reader bug or a library's own error on a malformed file
        raise TranscriptError(path, None, f"could not read as {spec.name}: {type(exc).__name__}: {exc}") from None


def read_sessions(
    path: str | Path,
    format: str | None = None,
    options: ReadOptions | None = None,
    segment: SegmentOptions | None = None,
) -> list[Session]:
    """Read one file into segmented sessions (several when the file carries session ids)."""
    sessions = []
    for raw in read_raw(path, format, options):
        try:
            sessions.append(build_session(raw, segment))
        except TranscriptError:
            raise
        except Exception as exc:
            raise TranscriptError(path, None, f"could not segment: {type(exc).__name__}: {exc}") from None
    return sessions


def iter_sessions(
    paths: Iterable[str | Path],
    format: str | None = None,
    options: ReadOptions | None = None,
    segment: SegmentOptions | None = None,
) -> Iterator[tuple[Path, list[Session] | TranscriptError]]:
    """Each file with its sessions or its error, so a batch goes on past bad files."""
    for path in expand_paths(paths, format):
        try:
            yield path, read_sessions(path, format, options, segment)
        except TranscriptError as error:
            yield path, error
