"""Plain-text transcripts: `Name: text` lines, as typed by researchers and clinics.

Handles continuation lines, blank lines, header lines before the first turn (kept as
metadata), timestamps before or after the label (`[00:01:23] T: …`, `T [01:23]: …`,
`00:01:23 Therapist: …`, or alone on the line above) and labels such as
`THERAPIST (Dr. Lee):`, `T:`, `Ms. D:`, `SPEAKER_00:`. A `Word: text` line counts as a
new speaker only when the word looks like a speaker label (an alias, or a capitalised
name used more than once), so "So: here's the thing" stays inside the turn.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io.base import RawTranscript, ReadOptions, Utterance, parse_time, read_text, register
from rupture_nlp.roles import alias_role

_TS = r"[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?[\])]?"
_LINE = re.compile(
    rf"^\s*(?:(?P<ts1>{_TS})\s*[-–]?\s*)?"
    rf"(?P<label>[^\W\d_][\w .'’()&/-]{{0,48}}?)\s*(?:(?P<ts2>{_TS})\s*)?:\s*"
    rf"(?:(?P<ts3>{_TS})\s+)?(?P<text>.*)$"
)
_ONLY_TS = re.compile(rf"^\s*{_TS}\s*$")
_HEADER_KEYS = frozenset(
    {"note", "notes", "date", "time", "session", "location", "duration", "transcript", "title",
     "page", "recorded", "transcribed by", "participants", "present", "subject", "re", "file",
     "source", "id", "setting", "modality", "topic", "session number", "length", "comment",
     "comments", "http", "https", "copyright", "confidential", "case", "case id"}
)


# Invisible characters that editors, web pages and right-to-left keyboards leave around
# labels: zero-width space, word joiner, BOM, and the bidi marks/embeddings/isolates.
# (ZWJ and ZWNJ are left alone: they are part of emoji and of Persian/Indic words.)
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\u061c]")
_LABEL_END = re.compile(r":(?!\d)")  # the label's colon, not one inside a timestamp


def strip_invisible_label(line: str) -> str:
    """The line with invisible characters removed before its label's colon, so
    `\u200bClient\u200e: …` reads as `Client: …` while the spoken text is kept as it is."""
    end = _LABEL_END.search(line, 0, 100)
    return _INVISIBLE.sub("", line[: end.end()]) + line[end.end():] if end else line


def _strip_ts(value: str | None) -> float | None:
    return parse_time(value.strip("[]()")) if value else None


def looks_like_label(label: str) -> bool:
    """A speaker label: an alias, or short capitalised words (`Ms. D`, `SPEAKER_00`, `Rosa`)."""
    if alias_role(label):
        return True
    if label.strip().lower() in _HEADER_KEYS:
        return False
    words = re.sub(r"\(.*?\)", " ", label).split()
    if not words or len(words) > 4:
        return False
    return all(w[0].isupper() or w[0].isdigit() for w in words)


def parse_labelled_lines(
    lines: list[tuple[int, str]], path: Path, known: set[str] | frozenset[str] = frozenset()
) -> tuple[list[Utterance], list[str]]:
    """Utterances from numbered lines of `Name: text`; returns (utterances, header lines)."""
    known_folded = {k.casefold() for k in known}
    matches: list[tuple[int, str, re.Match[str] | None]] = []
    counts: Counter[str] = Counter()
    lines = [(number, strip_invisible_label(line)) for number, line in lines]
    for number, line in lines:
        match = _LINE.match(line)
        label = match.group("label").strip() if match else ""
        if match and (looks_like_label(label) or label.casefold() in known_folded):
            counts[match.group("label").strip()] += 1
        else:
            match = None
        matches.append((number, line, match))

    def is_speaker(label: str, started: bool) -> bool:
        return bool(alias_role(label)) or counts[label] >= 2 or started or label.casefold() in known_folded

    utterances: list[Utterance] = []
    header: list[str] = []
    pending_time: float | None = None
    for number, line, match in matches:
        if _ONLY_TS.match(line):
            pending_time = _strip_ts(line.strip())
            continue
        label = match.group("label").strip() if match else None
        if label and is_speaker(label, bool(utterances)):
            start = _strip_ts(match.group("ts1") or match.group("ts2") or match.group("ts3"))
            utterances.append(
                Utterance(speaker=label, text=match.group("text").strip(), line=number,
                          start=start if start is not None else pending_time)
            )
            pending_time = None
        elif not line.strip():
            continue
        elif utterances:
            utterances[-1].text = f"{utterances[-1].text} {line.strip()}".strip()
        else:
            header.append(line.strip())
    if not utterances:
        first = next((n for n, l in lines if l.strip()), 1)
        raise TranscriptError(
            path, first,
            "no speaker labels found; write each turn as 'Speaker: text' (e.g. 'Therapist: …', "
            "'Client: …'), or give the format with --format",
        )
    return utterances, header


@register("txt", (".txt", ".text", ".md"), "plain text, one 'Speaker: text' turn per line or paragraph")
def read_txt(path: Path, options: ReadOptions) -> list[RawTranscript]:
    text, encoding = read_text(path)
    lines = list(enumerate(text.splitlines(), start=1))
    utterances, header = parse_labelled_lines(lines, path, options.speakers)
    warnings = [] if encoding in ("utf-8", "utf-8-sig") else [f"decoded as {encoding}"]
    metadata = {"header": header} if header else {}
    return [RawTranscript(path.stem, utterances, str(path), "txt", metadata, warnings)]
