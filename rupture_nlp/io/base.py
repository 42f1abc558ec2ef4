"""What every reader returns, the reader registry, and safe decoding of text files.

A reader knows one file format and nothing else: it turns a file into `RawTranscript`s
(speaker-labelled utterances in order, with times and source lines). Turning those into
turns with roles, cues and sentences is `rupture_nlp.segment`'s job, the same for every
format, which is why the same conversation in any format yields identical turns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from rupture_nlp.errors import TranscriptError


@dataclass
class Utterance:
    """One labelled stretch of speech as the source has it (a line, a row, a caption)."""

    speaker: str
    text: str
    line: int | None = None
    start: float | None = None
    end: float | None = None
    id: str | None = None
    role: str | None = None  # a role the source itself states


@dataclass
class RawTranscript:
    """A reader's output for one session, before segmentation."""

    session_id: str
    utterances: list[Utterance]
    source: str
    format: str
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ReadOptions:
    """Reader options a user can set; each reader uses the ones that apply to it."""

    columns: dict[str, str] = field(default_factory=dict)
    speakers: set[str] = field(default_factory=set)  # labels the user named (--therapist etc.): always speakers


Reader = Callable[[Path, ReadOptions], list[RawTranscript]]


@dataclass(frozen=True)
class ReaderSpec:
    name: str
    extensions: tuple[str, ...]
    read: Reader
    description: str


READERS: dict[str, ReaderSpec] = {}


def register(name: str, extensions: tuple[str, ...], description: str) -> Callable[[Reader], Reader]:
    """Register a reader under a format name and the file extensions it owns."""

    def wrap(func: Reader) -> Reader:
        READERS[name] = ReaderSpec(name, extensions, func, description)
        return func

    return wrap


def reader_for(path: Path, format: str | None = None) -> ReaderSpec:
    """The reader for a file: by `--format` name when given, else by extension."""
    if format:
        key = format.lower().replace("-", "_")
        aliases = {"text": "txt", "whisper_json": "whisper", "whisperx": "whisper", "jsonl": "jsonl",
                   "convokit": "jsonl", "word": "docx", "webvtt": "vtt"}
        key = aliases.get(key, key)
        if key not in READERS:
            raise TranscriptError(path, None, f"unknown format {format!r}; known formats: {', '.join(sorted(READERS))}")
        return READERS[key]
    suffix = path.suffix.lower()
    for spec in READERS.values():
        if suffix in spec.extensions:
            return spec
    known = sorted({ext for spec in READERS.values() for ext in spec.extensions})
    raise TranscriptError(
        path, None, f"no reader for extension {suffix or '(none)'!r}; use --format, or one of {', '.join(known)}"
    )


def known_extensions() -> set[str]:
    return {ext for spec in READERS.values() for ext in spec.extensions}


ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")


def json_lines(text: str) -> Iterator[tuple[int, str]]:
    """The non-blank lines of JSON Lines text with their 1-based line numbers.

    JSON Lines end at "\n" only: str.splitlines() would also split inside a JSON string
    holding a raw U+2028, U+0085 or \x1c (which `json.dumps(ensure_ascii=False)` writes).
    """
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, line


def read_text(path: Path) -> tuple[str, str]:
    """Decode a text file, trying utf-8, utf-8-sig and cp1252; return (text, encoding),
    the text with "\n" line ends.

    UTF-16 (with a BOM, or without one when every other byte is NUL) is decoded too.
    Raises `TranscriptError` for an empty file, a binary file (a NUL byte; the error names
    its line), or bytes no encoding fits, naming the line of the first undecodable byte.
    """
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise TranscriptError(path, None, "this is a directory, not a transcript file") from None
    except OSError as exc:
        raise TranscriptError(path, None, f"cannot open the file ({exc.strerror or exc})") from None
    if not data.strip():
        raise TranscriptError(path, None, "the file is empty; export the transcript again")
    utf16 = _utf16_flavour(data)
    if utf16:
        try:
            return _newlines(data.decode(utf16).lstrip("\ufeff")), "utf-16"
        except UnicodeDecodeError:
            pass
    nul = data.find(b"\x00")
    if nul >= 0:
        raise TranscriptError(path, data[:nul].count(b"\n") + 1,
                              "NUL byte: this looks like a binary file, not a text transcript; "
                              "export it as text (.txt, .csv, .vtt, .srt, .json) or .docx")
    first_error: UnicodeDecodeError | None = None
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
            continue
        return _newlines(text.lstrip("\ufeff")), ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else encoding)
    assert first_error is not None
    line = data[: first_error.start].count(b"\n") + 1
    raise TranscriptError(
        path, line, f"undecodable bytes (tried {', '.join(ENCODINGS)}); re-save the file as UTF-8"
    )


def _newlines(text: str) -> str:
    """CRLF (Windows) and lone CR (classic Mac, some caption tools) line ends as "\n", so
    every reader and library (the `srt` parser does not know a lone CR) sees lines alike."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _utf16_flavour(data: bytes) -> str | None:
    """`utf-16` for a file with a UTF-16 BOM; `utf-16-le`/`-be` for one without a BOM whose
    every other byte is NUL (Windows tools write that); else None (not UTF-16)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= 0.9 * (len(sample) // 2) and even == 0:
        return "utf-16-le"
    if even >= 0.9 * (len(sample) // 2) and odd == 0:
        return "utf-16-be"
    return None


_TIMESTAMP = re.compile(r"^(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?$")


def parse_time(value: Any) -> float | None:
    """Seconds from `01:02:03`, `02:03`, `01:02:03.500`, `01:02:03,500` or a number."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    hours, minutes, seconds, fraction = match.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        total += int(fraction.ljust(3, "0")) / 1000
    return float(total)
