"""JSON Lines: ConvoKit `utterances.jsonl`, and this package's own turn files.

A line with `conversation_id` is a ConvoKit utterance (`speaker`, `text`, `timestamp`,
`meta`); conversations become sessions in order of first appearance, and a role in
`meta.role` (or `meta.speaker_role`) is used. A line with `session_id` and `turn`/`index`
is a turn written by `rupture-nlp segment`, so segmented output reads back in.
"""

from __future__ import annotations

import json
from pathlib import Path

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io.base import RawTranscript, ReadOptions, Utterance, json_lines, read_text, register


@register("jsonl", (".jsonl",), "ConvoKit utterances.jsonl, or turns written by 'rupture-nlp segment'")
def read_jsonl(path: Path, options: ReadOptions) -> list[RawTranscript]:
    text, _ = read_text(path)
    sessions: dict[str, RawTranscript] = {}
    for number, line in json_lines(text):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TranscriptError(path, number, f"malformed JSON line: {exc.msg}") from None
        if not isinstance(record, dict):
            raise TranscriptError(path, number, "each line must be a JSON object")
        meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
        if "conversation_id" in record:
            sid, fmt = str(record["conversation_id"]), "convokit"
            role = meta.get("role") or meta.get("speaker_role")
            start = record.get("timestamp")
        elif "session_id" in record:
            sid, fmt = str(record["session_id"]), "jsonl"
            role = record.get("role")
            start = record.get("start")
        else:
            raise TranscriptError(path, number, "a line has neither 'conversation_id' (ConvoKit) nor 'session_id'")
        speaker, words = record.get("speaker"), record.get("text")
        if not isinstance(words, str):
            raise TranscriptError(path, number, "the line has no 'text' string")
        if not speaker or not isinstance(speaker, str):
            raise TranscriptError(path, number, "the line has no 'speaker'")
        raw = sessions.setdefault(sid, RawTranscript(sid, [], str(path), fmt))
        if fmt == "jsonl" and record.get("session_meta"):
            if not isinstance(record["session_meta"], dict):
                raise TranscriptError(path, number, "'session_meta' must be a JSON object")
            raw.metadata = record["session_meta"]
        raw.utterances.append(
            Utterance(
                speaker=speaker,
                text=_with_cues(record) if fmt == "jsonl" else words,
                line=number,
                start=start if isinstance(start, (int, float)) else None,
                end=record.get("end") if isinstance(record.get("end"), (int, float)) else None,
                id=str(record.get("id")) if record.get("id") is not None else None,
                role=role if isinstance(role, str) else None,
            )
        )
    if not sessions:
        raise TranscriptError(path, None, "the file has no JSON lines")
    return list(sessions.values())


def _with_cues(record: dict) -> str:
    """Put transcribed cues back in brackets so re-segmenting keeps them.

    A cue without a usable offset (not a whole number) goes at the end, so a hand-edited
    turn file loses no cue and breaks nothing."""
    text = record.get("text") or ""
    cues = record.get("cues") if isinstance(record.get("cues"), list) else []
    placed = []
    for cue in cues:
        if not isinstance(cue, dict) or cue.get("kind", "transcribed") != "transcribed" or not cue.get("text"):
            continue
        offset = cue.get("offset")
        at = offset if isinstance(offset, int) and not isinstance(offset, bool) else len(text)
        placed.append((max(0, min(at, len(text))), str(cue["text"])))
    for at, cue_text in sorted(placed, key=lambda c: c[0], reverse=True):
        text = f"{text[:at]} [{cue_text}] {text[at:]}"
    return text
