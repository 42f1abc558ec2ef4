"""Nonverbal cues: take `[laughs]`, `(long pause)` out of what the model reads, keep them.

Square brackets are a transcription convention for what is not speech, so their content
is always a cue (except redaction placeholders like `[NAME]`, which stand for words).
Parentheses also hold ordinary asides, so they count as a cue only when they name a
nonverbal event (laughing, crying, a pause, a click…).
"""

from __future__ import annotations

import re

from rupture_nlp.types import Cue

_CUE_WORDS = re.compile(
    r"\b(laugh\w*|chuckl\w*|giggl\w*|smil\w*|pause\w*|paus\w*|silen\w*|quiet|cr(y|ies|ying)|"
    r"sob\w*|tear\w*|sigh\w*|sniff\w*|cough\w*|clears?\s+throat|inaudible|unintelligible|"
    r"crosstalk|overlap\w*|click\w*|nod\w*|shrug\w*|groan\w*|whisper\w*|shout\w*|yell\w*|"
    r"long\s+beat|beat|gestur\w*|looks?\s+away|gaze\w*|fidget\w*|noise|music|background|"
    r"phone\s+rings|door|frozen|muted?|lag\w*|static|connection)\b",
    re.IGNORECASE,
)
_BRACKET = re.compile(r"\[([^\[\]]{1,80})\]")
_PAREN = re.compile(r"\(([^()]{1,60})\)")
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_ -]*$")
_SPACES = re.compile(r"\s+")
_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?([.,]\d+)?$")


def _is_cue(match: re.Match[str], bracket: str) -> bool:
    inner = match.group(1).strip()
    if not inner or _TIME.match(inner):
        return False
    if bracket == "[":
        return not (_PLACEHOLDER.match(inner) and len(inner) > 1 and not _CUE_WORDS.search(inner))
    return bool(_CUE_WORDS.search(inner)) and len(inner.split()) <= 5


def extract_cues(text: str) -> tuple[str, list[Cue]]:
    """Return the text without cues and the cues with their positions in that text."""
    spans: list[tuple[int, int, str]] = []
    for pattern, bracket in ((_BRACKET, "["), (_PAREN, "(")):
        for match in pattern.finditer(text):
            if _is_cue(match, bracket):
                spans.append((match.start(), match.end(), match.group(1).strip()))
    if not spans:
        return _SPACES.sub(" ", text).strip(), []
    spans.sort()
    pieces: list[str] = []
    cues: list[Cue] = []
    cursor = 0
    for start, end, inner in spans:
        if start < cursor:  # nested or overlapping: the outer one already took it
            continue
        pieces.append(text[cursor:start])
        before = _SPACES.sub(" ", "".join(pieces)).lstrip()
        cues.append(Cue(text=inner, offset=len(before.rstrip())))
        cursor = end
    pieces.append(text[cursor:])
    clean = _SPACES.sub(" ", "".join(pieces)).strip()
    clean = re.sub(r"\s+([,.;:!?])", r"\1", clean)
    for cue in cues:
        cue.offset = min(cue.offset, len(clean))
    return clean, cues
