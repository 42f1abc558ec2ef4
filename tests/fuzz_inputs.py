"""Hypothesis strategies for hostile transcript files, and the one property every reader keeps.

Inputs are near-valid on purpose: a random byte string is rejected by the first check of
every reader, so most cases start from the project's own fixture conversation in the
reader's format and break it (truncate, splice, re-encode, change line ends, insert NUL,
zero-width, RTL or emoji characters, blank speaker labels, put wrong types in JSON fields).
The property (`check_read`) is the contract the CLI relies on: reading either yields
well-formed sessions or raises `TranscriptError` naming the file (and a line ≥ 1 if any).
"""

from __future__ import annotations

import atexit
import io
import itertools
import json
import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import strategies as st

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io import read_sessions

FIXTURES = Path(__file__).parent / "fixtures"
_SCRATCH = Path(tempfile.mkdtemp(prefix="rupture-fuzz-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
_COUNTER = itertools.count()


def scratch_dir(prefix: str = "case") -> Path:
    """A fresh folder for one hypothesis example (function-scoped pytest fixtures do not
    reset between examples); all of them are removed when the test process ends."""
    folder = _SCRATCH / f"{prefix}-{next(_COUNTER)}"
    folder.mkdir()
    return folder
ROLES = {"therapist", "client", "other"}

# Characters that break naive parsers: zero-width, bidi controls, BOM, NUL, odd line ends, emoji.
NASTY = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u202d", "\u2066", "\u2069", "\u061c",
    "\x00", "\r", "\r\n", "\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\t",
    "😀", "👩‍👩‍👧", "🏳️‍🌈", "שלום", "مرحبا", "Ω", "ß", "İ",
    ":", " : ", "\n: text with an empty speaker\n", "\n :\n", "-->", "00:00:01.000 --> 00:00:02.000",
    "\"", "'", ",", ";", "{", "}", "[", "]", "<v >", "<v", "\\", "[laughs]", "(pause)", "WEBVTT",
]


def _seed_tsv() -> bytes:
    lines = (FIXTURES / "conversation.csv").read_text(encoding="utf-8").splitlines()
    import csv

    rows = list(csv.reader(lines))
    return "\n".join("\t".join(r) for r in rows).encode() + b"\n"


def _docx_bytes(paragraphs: list[str], table: list[tuple[str, str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=0, cols=2)
        for speaker, text in table:
            cells = grid.add_row().cells
            cells[0].text, cells[1].text = speaker, text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _seed_docx() -> bytes:
    txt = (FIXTURES / "conversation.txt").read_text(encoding="utf-8").splitlines()
    return _docx_bytes([line for line in txt if line.strip()])


SEEDS: dict[str, bytes] = {
    ".txt": (FIXTURES / "conversation.txt").read_bytes(),
    ".csv": (FIXTURES / "conversation.csv").read_bytes(),
    ".tsv": _seed_tsv(),
    ".vtt": (FIXTURES / "conversation.vtt").read_bytes(),
    ".srt": (FIXTURES / "conversation.srt").read_bytes(),
    ".json": (FIXTURES / "conversation_whisperx.json").read_bytes(),
    ".jsonl": (FIXTURES / "conversation_utterances.jsonl").read_bytes(),
}
SEEDS[".docx"] = _seed_docx()

positions = st.floats(min_value=0.0, max_value=1.0)
chunks = st.one_of(
    st.sampled_from(NASTY).map(lambda s: s.encode("utf-8")),
    st.binary(max_size=24),
    st.text(max_size=24).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


def _at(data: bytes, where: float) -> int:
    return int(where * len(data))


@st.composite
def _byte_edit(draw):
    kind = draw(st.sampled_from(["truncate", "insert", "delete", "replace", "duplicate"]))
    where, other = draw(positions), draw(positions)
    chunk = draw(chunks)

    def apply(data: bytes) -> bytes:
        i = _at(data, where)
        if kind == "truncate":
            return data[:i]
        if kind == "insert":
            return data[:i] + chunk + data[i:]
        if kind == "delete":
            return data[:i] + data[i + 1 + int(other * 64):]
        if kind == "replace":
            return data[:i] + chunk + data[i + len(chunk):]
        j = _at(data, other)
        lo, hi = min(i, j), max(i, j)
        return data[:hi] + data[lo:hi] + data[hi:]

    return apply


_LABEL_AT_START = re.compile(r"(?m)^([A-Za-z][\w .]{0,30}):")
# Changes that keep a file valid: the turns read from it must not change.
SAME_CONTENT = ["crlf", "cr", "bom", "utf-16", "utf-16-le-no-bom", "utf-16-be-no-bom", "cp1252",
                "zero-width-labels", "rtl-labels"]


def same_content_edit(kind: str):
    """A whole-file change that keeps the conversation (encoding, line ends, invisible marks)."""
    return _text_edit(kind)


def _text_edit(kind: str):
    def apply(data: bytes) -> bytes:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        if kind == "crlf":
            return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        if kind == "cr":
            return text.replace("\r\n", "\n").replace("\n", "\r").encode("utf-8")
        if kind == "bom":
            return b"\xef\xbb\xbf" + data
        if kind == "utf-16":
            return text.encode("utf-16")
        if kind == "utf-16-le-no-bom":
            return text.encode("utf-16-le")
        if kind == "utf-16-be-no-bom":
            return text.encode("utf-16-be")
        if kind == "cp1252":
            return text.encode("cp1252", "replace")
        if kind == "latin-1":
            return text.encode("latin-1", "replace")
        if kind == "empty-speakers":
            return "\n".join(":" + line.split(":", 1)[1] if ":" in line else line
                             for line in text.split("\n")).encode("utf-8")
        if kind == "huge-line":  # over spaCy's 1,000,000-character limit
            return (text + "\nClient: " + "so " * 340_000 + "\n").encode("utf-8")
        if kind == "zero-width-labels":
            return _LABEL_AT_START.sub("\u200b\\1\u200e:", text).encode("utf-8")
        if kind == "rtl-labels":
            return _LABEL_AT_START.sub("\u202b\\1\u202c:", text).encode("utf-8")
        raise AssertionError(kind)

    return apply


text_edits = st.sampled_from(
    SAME_CONTENT + ["latin-1", "empty-speakers", "huge-line"]
).map(_text_edit)


def mutated(seed: bytes, max_edits: int = 4) -> st.SearchStrategy[bytes]:
    """The seed file with a few random edits (byte splices and whole-file text changes)."""

    @st.composite
    def build(draw):
        data = seed
        for edit in draw(st.lists(st.one_of(_byte_edit(), text_edits), min_size=1, max_size=max_edits)):
            data = edit(data)
        return data

    return build()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def wrong_json_fields(draw, seed: bytes) -> bytes:
    """Whisper JSON with random fields (top level, a segment, a word) replaced by random JSON."""
    data = json.loads(seed)
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(["top", "segments", "segment", "word"]))
        value = draw(json_values)
        segments = data.get("segments") if isinstance(data, dict) else None
        if target == "top" or not isinstance(segments, list) or not segments:
            if isinstance(data, dict):
                data[draw(st.sampled_from(["segments", "language", "word_segments"]))] = value
            else:
                data = value
            continue
        if target == "segments":
            segments[draw(st.integers(0, len(segments) - 1))] = value
            continue
        seg = segments[draw(st.integers(0, len(segments) - 1))]
        if not isinstance(seg, dict):
            continue
        if target == "segment":
            seg[draw(st.sampled_from(["text", "speaker", "start", "end", "id", "words"]))] = value
        else:  # WhisperX word-level output, with one field of one word broken
            if not (isinstance(seg.get("words"), list) and seg["words"] and isinstance(seg["words"][0], dict)):
                seg["words"] = [{"word": w, "start": 0.0, "end": 0.1, "score": 0.9} for w in str(seg.get("text")).split()]
                seg.pop("speaker", None) if draw(st.booleans()) else None
            if seg["words"]:
                seg["words"][0][draw(st.sampled_from(["speaker", "word", "start"]))] = value
    return json.dumps(data, ensure_ascii=draw(st.booleans())).encode("utf-8")


@st.composite
def wrong_jsonl_fields(draw, seed: bytes) -> bytes:
    """JSONL lines (ConvoKit or turn files) with random fields replaced by random JSON."""
    lines = [json.loads(line) for line in seed.decode("utf-8").splitlines()]
    if draw(st.booleans()):  # the package's own turn-file flavour
        lines = [{"session_id": r["conversation_id"], "index": i, "speaker": r["speaker"], "text": r["text"],
                  "start": r["timestamp"], "cues": [], "session_meta": {}} for i, r in enumerate(lines)]
    keys = ["conversation_id", "session_id", "speaker", "text", "timestamp", "start", "end", "id", "meta",
            "role", "cues", "session_meta"]
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.integers(0, len(lines) - 1))
        if draw(st.integers(0, 5)) == 0:
            lines[k] = draw(json_values)
        elif isinstance(lines[k], dict):
            lines[k][draw(st.sampled_from(keys))] = draw(json_values)
    return "".join(json.dumps(r) + "\n" for r in lines).encode("utf-8")


xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"))
                   | st.sampled_from([c for c in NASTY if len(c) == 1 and c.isprintable() or c in "\u200b\u202e\t"]),
                   max_size=40)


@st.composite
def structured_docx(draw) -> bytes:
    """A Word file built from random paragraphs and an optional random speaker/text table."""
    label = st.one_of(st.sampled_from(["Therapist", "Client", "T", "C", "", " ", "\u200b", "Dr. Lee", "😀"]), xml_text)
    paragraphs = draw(st.lists(st.tuples(label, xml_text).map(lambda p: f"{p[0]}: {p[1]}") | xml_text, max_size=8))
    table = draw(st.none() | st.lists(st.tuples(label, xml_text), max_size=6))
    return _docx_bytes([p.replace("\x00", "") for p in paragraphs], table)


@st.composite
def labelled_text(draw) -> bytes:
    """Plain-text transcripts line by line: labels (some empty or exotic), timestamps, nasty text."""
    label = st.one_of(st.sampled_from(["Therapist", "Client", "T", "C", "", " ", "SPEAKER_00", "Ms. D"]), st.text(max_size=10))
    line = st.one_of(
        st.tuples(st.sampled_from(["", "[00:01:02] ", "00:03 ", "(01:02) "]), label, st.text(max_size=40)).map(
            lambda t: f"{t[0]}{t[1]}: {t[2]}"),
        st.text(max_size=40),
        st.sampled_from(NASTY),
    )
    lines = draw(st.lists(line, max_size=12))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return ending.join(lines).encode(encoding, "replace") if encoding == "cp1252" else \
        ending.join(lines).encode(encoding, "surrogatepass")


def check_read(path: Path, format: str | None = None) -> list:
    """The reader contract: sessions with non-empty turns and known roles, or a `TranscriptError`
    that names this file and a line ≥ 1 (or none). Any other exception fails the test."""
    try:
        sessions = read_sessions(path, format)
    except TranscriptError as error:
        assert error.path == str(path), error
        assert error.line is None or (isinstance(error.line, int) and error.line >= 1), error
        assert error.message and str(error).startswith(str(path)), error
        # read_raw/read_sessions turn any other exception into one of these: a reader bug in disguise
        assert not error.message.startswith(("could not read as", "could not segment")), error
        return []
    assert sessions, "read_sessions returned no sessions and no error"
    for session in sessions:
        assert session.turns, session
        assert isinstance(session.session_id, str)
        for number, turn in enumerate(session.turns):
            assert turn.index == number
            assert turn.role in ROLES, turn
            assert isinstance(turn.speaker, str) and turn.speaker.strip(), turn
            assert isinstance(turn.text, str) and (turn.text or turn.cues), turn
        for record in session.to_records():
            json.dumps(record, ensure_ascii=False)  # what `segment` writes must serialise
    return sessions
