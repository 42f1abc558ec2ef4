"""The data model every part of the package shares: Session → Turn → Coding.

Plain dataclasses (after ConvoKit's Corpus → Utterance) so that a session read from any
format, a session coded by any model and a session written to JSONL are the same object.
A JSONL file holds one turn a line, each line carrying its `session_id`, so files can be
concatenated, streamed and read with `pandas.read_json(lines=True)`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator


@dataclass
class Cue:
    """A nonverbal cue taken out of the text: `[laughs]`, `(long pause)`, a silence gap.

    `offset` is the character position in the cleaned turn text where the cue stood, so a
    report can put it back; `kind` is `transcribed` (written in the transcript) or `gap`
    (a silence measured from timestamps, `seconds` set).
    """

    text: str
    offset: int = 0
    kind: str = "transcribed"
    seconds: float | None = None


@dataclass
class Span:
    """One original segment (caption, CSV row, line) that a turn was merged from."""

    line: int | None
    start: float | None = None
    end: float | None = None
    id: str | None = None


@dataclass
class Coding:
    """A coder's labels for one turn (codebook §4), with probabilities when a model coded it."""

    marker: str | None = None
    subtype: str | None = None
    stage: str | None = None
    probs: dict[str, dict[str, float]] | None = None


@dataclass
class Turn:
    """One speaker turn: consecutive speech of one speaker, cues removed from `text`."""

    index: int
    speaker: str
    role: str
    text: str
    sentences: list[str] = field(default_factory=list)
    start: float | None = None
    end: float | None = None
    cues: list[Cue] = field(default_factory=list)
    source_line: int | None = None
    spans: list[Span] = field(default_factory=list)
    backchannel: bool = False
    coding: Coding | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.coding is None:
            data.pop("coding")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Turn":
        data = dict(data)
        data["cues"] = [Cue(**c) for c in data.get("cues") or []]
        data["spans"] = [Span(**s) for s in data.get("spans") or []]
        if data.get("coding") is not None:
            data["coding"] = Coding(**data["coding"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Session:
    """A transcript as ordered turns, with where it came from and what was guessed."""

    session_id: str
    turns: list[Turn] = field(default_factory=list)
    source: str | None = None
    format: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def speakers(self) -> dict[str, str]:
        """Speaker label → role, in order of first appearance."""
        seen: dict[str, str] = {}
        for turn in self.turns:
            seen.setdefault(turn.speaker, turn.role)
        return seen

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict a turn, each with the session's id, source and metadata."""
        head = {
            "session_id": self.session_id,
            "source": self.source,
            "format": self.format,
            "session_meta": self.metadata,
        }
        return [{**head, **turn.to_dict()} for turn in self.turns]

    def to_pandas(self):
        """The turns as a DataFrame (one row a turn), for analysis."""
        import pandas as pd

        rows = []
        for record in self.to_records():
            record = dict(record)
            record.pop("session_meta")
            record["cues"] = [c["text"] for c in record["cues"]]
            record["n_spans"] = len(record.pop("spans"))
            coding = record.pop("coding", None) or {}
            for key in ("marker", "subtype", "stage"):
                record[key] = coding.get(key)
            rows.append(record)
        return pd.DataFrame(rows)


def sessions_to_pandas(sessions: Iterable[Session]):
    """All turns of many sessions as one DataFrame."""
    import pandas as pd

    frames = [s.to_pandas() for s in sessions]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_jsonl(sessions: Iterable[Session], out: str | Path | IO[str]) -> int:
    """Write sessions as turn-per-line JSONL; returns the number of turns written."""
    if isinstance(out, (str, Path)):
        with open(out, "w", encoding="utf-8") as handle:
            return write_jsonl(sessions, handle)
    count = 0
    for session in sessions:
        for record in session.to_records():
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def iter_jsonl_sessions(lines: Iterable[str]) -> Iterator[Session]:
    """Regroup turn-per-line records into sessions, in file order."""
    current: Session | None = None
    for raw in lines:
        if not raw.strip():
            continue
        record = json.loads(raw)
        sid = str(record.pop("session_id"))
        source = record.pop("source", None)
        fmt = record.pop("format", None)
        meta = record.pop("session_meta", None) or {}
        if current is None or current.session_id != sid:
            if current is not None:
                yield current
            current = Session(session_id=sid, source=source, format=fmt, metadata=meta)
        current.turns.append(Turn.from_dict(record))
    if current is not None:
        yield current


def read_jsonl(path: str | Path) -> list[Session]:
    """Read sessions written by `write_jsonl`."""
    with open(path, encoding="utf-8") as handle:
        return list(iter_jsonl_sessions(handle))
