"""Subtitle files from video tools: WebVTT (`<v Name>` voice tags or `Name:` prefixes), SRT.

Parsing is `webvtt-py`'s and `srt`'s; this module only finds the speaker of each caption
and the line it stands on. A caption with no label continues the previous speaker, as
captioning tools label only speaker changes.
"""

from __future__ import annotations

import re
from pathlib import Path

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io.base import RawTranscript, ReadOptions, Utterance, parse_time, read_text, register
from rupture_nlp.io.txt import _LINE, looks_like_label, strip_invisible_label

_TIMING = re.compile(r"-->")


def _timing_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if _TIMING.search(line)]


def split_label(text: str) -> tuple[str | None, str]:
    """`Name: words` → (`Name`, `words`); unlabeled text → (None, text)."""
    match = _LINE.match(strip_invisible_label(text))
    if match and looks_like_label(match.group("label").strip()):
        return match.group("label").strip(), match.group("text").strip()
    return None, text.strip()


def _labelled(path: Path, items: list[tuple[str | None, str, float, float, int]], fmt: str) -> RawTranscript:
    utterances: list[Utterance] = []
    for voice, text, start, end, line in items:
        text = " ".join(text.split())
        speaker, words = (voice, text) if voice else split_label(text)
        if speaker is None:
            if not utterances:
                raise TranscriptError(
                    path, line,
                    "no speaker label on the first caption; label speakers with <v Name> or 'Name: text'",
                )
            speaker = utterances[-1].speaker
        utterances.append(Utterance(speaker=speaker, text=words, line=line, start=start, end=end))
    if not utterances:
        raise TranscriptError(path, None, f"the {fmt.upper()} file has no captions")
    return RawTranscript(path.stem, utterances, str(path), fmt)


@register("vtt", (".vtt",), "WebVTT captions with <v Name> voice tags or 'Name:' prefixes")
def read_vtt(path: Path, options: ReadOptions) -> list[RawTranscript]:
    import webvtt

    text, _ = read_text(path)
    if not text.lstrip().startswith("WEBVTT"):
        raise TranscriptError(path, 1, "not a WebVTT file: the first line must be 'WEBVTT'")
    try:
        captions = list(webvtt.from_string(text))
    except Exception as exc:  # webvtt.errors.MalformedFileError and friends
        raise TranscriptError(path, None, f"malformed WebVTT: {exc}") from None
    lines = _timing_lines(text)
    items = []
    for k, caption in enumerate(captions):
        line = lines[k] + 1 if k < len(lines) else None
        items.append((caption.voice, caption.text, parse_time(caption.start), parse_time(caption.end), line))
    return [_labelled(path, items, "vtt")]


@register("srt", (".srt",), "SubRip captions with 'Name:' prefixes")
def read_srt(path: Path, options: ReadOptions) -> list[RawTranscript]:
    import srt

    text, _ = read_text(path)
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        line = text[: exc.expected_start].count("\n") + 1
        raise TranscriptError(path, line, "malformed SRT: expected a numbered caption with a 'start --> end' line") from None
    except Exception as exc:
        raise TranscriptError(path, None, f"malformed SRT: {exc}") from None
    lines = _timing_lines(text)
    items = []
    for k, sub in enumerate(subtitles):
        line = lines[k] + 1 if k < len(lines) else None
        items.append((None, sub.content, sub.start.total_seconds(), sub.end.total_seconds(), line))
    return [_labelled(path, items, "srt")]
