"""Speech-recognition JSON: Whisper (segments, no speakers) and WhisperX (segments with
`speaker` such as `SPEAKER_00`).

Plain Whisper output has no speakers, so it reads only when segment texts carry
`Name:` labels; otherwise the error says to diarize (WhisperX) first. A WhisperX segment
missing its speaker takes the majority speaker of its words, else the previous speaker.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io.base import RawTranscript, ReadOptions, Utterance, read_text, register
from rupture_nlp.io.subtitles import split_label


@register("whisper", (".json",), "Whisper / WhisperX JSON (segments; speakers from WhisperX diarization)")
def read_whisper(path: Path, options: ReadOptions) -> list[RawTranscript]:
    text, _ = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(path, exc.lineno, f"malformed JSON: {exc.msg}") from None
    segments = data.get("segments") if isinstance(data, dict) else data if isinstance(data, list) else None
    if not isinstance(segments, list):
        raise TranscriptError(path, 1, "no 'segments' list: expected Whisper or WhisperX JSON output")
    utterances: list[Utterance] = []
    warnings: list[str] = []
    for k, seg in enumerate(segments):
        if not isinstance(seg, dict) or not isinstance(seg.get("text", ""), str):
            raise TranscriptError(path, None, f"segment {k} is not an object with a 'text' string")
        words = seg.get("text", "").strip()
        if not words:
            continue
        speaker = _name(seg.get("speaker"))
        if not isinstance(seg.get("speaker"), (str, type(None))) and speaker is None:
            raise TranscriptError(path, None, f"segment {k} has a 'speaker' that is not a name: {seg['speaker']!r:.60}")
        if not speaker:
            words_list = seg.get("words") if isinstance(seg.get("words"), list) else []
            votes = Counter(_name(w.get("speaker")) for w in words_list if isinstance(w, dict) and _name(w.get("speaker")))
            speaker = votes.most_common(1)[0][0] if votes else None
        if not speaker:
            label, rest = split_label(words)
            if label:
                speaker, words = label, rest
        if not speaker and utterances and any(isinstance(s, dict) and s.get("speaker") for s in segments):
            speaker = utterances[-1].speaker
            warnings.append(f"segment {k} has no speaker; gave it the previous speaker {speaker!r}")
        if not speaker:
            raise TranscriptError(
                path, None,
                f"segment {k} has no speaker: plain Whisper output has no speaker labels; run diarization "
                "(e.g. WhisperX) or convert the transcript to 'Speaker: text' lines",
            )
        utterances.append(
            Utterance(speaker=str(speaker), text=words, line=None, start=_num(seg.get("start")),
                      end=_num(seg.get("end")), id=str(seg["id"]) if "id" in seg else f"seg{k}")
        )
    if not utterances:
        raise TranscriptError(path, None, "the JSON has no segments with text")
    return [RawTranscript(path.stem, utterances, str(path), "whisper", {}, warnings)]


def _num(value) -> float | None:
    """A finite time in seconds, or None (JSON allows NaN/Infinity, booleans are not times)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _name(value) -> str | None:
    """A speaker label: a non-blank string, or a number (some diarizers number speakers)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
