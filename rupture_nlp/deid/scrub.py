"""One session's de-identification: learn its names, then replace every identifier consistently.

Two passes, because consistency needs them: first every name the session reveals anywhere
(speaker labels, metadata name fields, names found in any turn) is learnt, then every text
of the session is rewritten, so a name found by a cue in turn 9 is also replaced where it
stands without a cue in turn 2, and the same real value always gets the same placeholder.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from rupture_nlp.deid.lexicon import NEVER, common_words, fold, name_lexicon
from rupture_nlp.deid.names import PLACEHOLDER, WORD, find_names, lower_words, sentence_initial, speaker_name_tokens
from rupture_nlp.deid.patterns import Finding, find_patterns, resolve
from rupture_nlp.deid.pseudonyms import Pseudonyms

_NAME_KEY = re.compile(r"name|therapist|counsel|client|patient|clinician|provider|speaker|interviewer|participant|"
                       r"author|coder|rater|supervisor|doctor|mother|father|partner|person|family", re.I)
_TYPED_KEYS = [("EMAIL", re.compile(r"e-?mail", re.I)), ("PHONE", re.compile(r"phone|tel\b|mobile|cell", re.I)),
               ("DATE", re.compile(r"date|dob|birth|born", re.I)),
               ("ADDRESS", re.compile(r"address|street|zip|post(?:al)?code|city|town|location", re.I)),
               ("ID", re.compile(r"(?:^|[_\s-])(?:id|mrn|ssn|nhs|number|no)$|mrn|ssn|aadhaar|passport", re.I))]

OffsetMap = Callable[[int], int]


class SessionScrubber:
    """Holds one session's names and pseudonym table; rewrites its texts, speakers and metadata."""

    def __init__(self, texts: list[str], speakers: list[str], metadata: dict[str, Any] | None = None,
                 detectors: list[Callable[[str], list[Finding]]] | None = None) -> None:
        self.pseudonyms = Pseudonyms()
        self.detectors = detectors or []
        self.known: set[str] = set()
        for label in speakers:
            for word in speaker_name_tokens(label):
                self._learn(word)
        for key, value in (metadata or {}).items():
            if isinstance(value, str) and _NAME_KEY.search(str(key)) and not _typed_key(str(key)):
                for word in speaker_name_tokens(value):
                    self._learn(word)
        self.capitalised_only: set[str] = set()
        lower = lower_words(texts)
        for text in texts:
            for finding in find_names(text, lower):
                self._learn(finding.text)
            for finding in self._extra(text, names=True):
                if plausible_model_name(text, finding, lower):
                    self._learn(finding.text)
                    self.capitalised_only.add(fold(finding.text))

    def _learn(self, word: str) -> None:
        key = fold(word)
        if key not in self.known:
            self.known.add(key)
            self.pseudonyms.get("NAME", word)

    def _extra(self, text: str, names: bool) -> list[Finding]:
        found = [f for detect in self.detectors for f in detect(text)]
        return [f for f in found if (f.kind == "NAME") == names]

    def _known_names(self, text: str) -> list[Finding]:
        common = common_words()
        found = []
        for match in WORD.finditer(text):
            word = match.group(0)
            if word.endswith(("'s", "’s")) and fold(word[:-2]) in self.known:
                word = word[:-2]
            key = fold(word)
            if key in self.known and (word[:1].isupper() or key not in common and key not in self.capitalised_only):
                found.append(Finding(match.start(), match.start() + len(word), "NAME", word))
        return found

    def findings(self, text: str) -> list[Finding]:
        """Everything to replace in `text`, overlaps resolved; existing placeholders are left alone."""
        kept = [Finding(m.start(), m.end(), "KEEP", m.group(0)) for m in PLACEHOLDER.finditer(text)]
        candidates = find_patterns(text) + self._known_names(text) + self._extra(text, names=False)
        chosen = resolve(kept + candidates)
        return [f for f in chosen if f.kind != "KEEP"]

    def text_with_offsets(self, text: str) -> tuple[str, OffsetMap]:
        """The rewritten text and a function from old character offsets to new ones (for cue positions)."""
        pieces, shifts, at = [], [], 0
        for f in self.findings(text):
            placeholder = self.pseudonyms.get(f.kind, f.text)
            pieces += [text[at:f.start], placeholder]
            shifts.append((f.start, f.end, len(placeholder) - (f.end - f.start)))
            at = f.end
        pieces.append(text[at:])

        def moved(offset: int) -> int:
            delta = 0
            for start, end, change in shifts:
                if offset >= end:
                    delta += change
                elif offset > start:
                    return start + delta
            return offset + delta

        return "".join(pieces), moved

    def text(self, text: str | None) -> str | None:
        return self.text_with_offsets(text)[0] if text else text

    def speaker(self, label: str) -> str:
        """'Dr. Okafor' → 'Dr. [NAME-2]'; generic labels ('Therapist', 'SPEAKER_00') unchanged."""
        names = set(map(fold, speaker_name_tokens(label)))
        out, at = [], 0
        for match in WORD.finditer(label):
            inside = any(p.start() <= match.start() < p.end() for p in PLACEHOLDER.finditer(label))
            if fold(match.group(0)) in names and not inside:
                out += [label[at:match.start()], self.pseudonyms.get("NAME", match.group(0))]
                at = match.end()
        out.append(label[at:])
        return self.text("".join(out)) or ""

    def metadata(self, meta: Any, key: str = "") -> Any:
        """Metadata with identifying fields replaced: typed fields whole, free text scrubbed."""
        if isinstance(meta, dict):
            return {k: self.metadata(v, str(k)) for k, v in meta.items()}
        if isinstance(meta, list):
            return [self.metadata(v, key) for v in meta]
        kind = _typed_key(key)
        if kind and meta not in (None, ""):
            return self.pseudonyms.get(kind, str(meta))
        if isinstance(meta, str):
            return self.speaker(meta) if _NAME_KEY.search(key) else self.text(meta)
        return meta


def plausible_model_name(text: str, finding: Finding, session_lower: set[str]) -> bool:
    """A statistical model's PERSON word, kept only if the rules would not rule it out.

    The small English spaCy model tags sentence-initial verbs and nouns of conversational
    speech as persons ("Grabbed", "Nah", "Lego"); a model's name must be capitalised, not an
    everyday or never-a-name word, and not sentence-initial unless it is in the name lists.
    """
    key = fold(finding.text)
    if not finding.text[:1].isupper() or finding.text.isupper() or key in NEVER or key in common_words():
        return False
    if key in session_lower:
        return False
    return key in name_lexicon() or not sentence_initial(text, finding.start)


def _typed_key(key: str) -> str | None:
    for kind, pattern in _TYPED_KEYS:
        if pattern.search(key):
            return kind
    return None
