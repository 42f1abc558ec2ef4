"""Speaker turns from raw utterances: roles, merging, backchannels, cues, sentences.

This is the one place a transcript becomes turns, whatever format it came in, so every
reader yields identical turns for the same conversation. Choices made here:
- consecutive utterances of one speaker merge into one turn; the original pieces stay
  in `Turn.spans` with their lines and times;
- a short backchannel ("mm-hm", "yeah") between two stretches of the other speaker's talk
  (not an answer to a question) stays its own turn and is flagged `backchannel`, so neither the model nor the report
  mistakes it for an answer;
- nonverbal cues leave `text` (what the model reads as words) for `cues` (kept for the
  model's cue channel and the report); silences measured from timestamps become cues;
- sentences come from spaCy's rule-based sentencizer (`spacy.blank("en")`), no download.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rupture_nlp.cues import extract_cues
from rupture_nlp.errors import TranscriptError
from rupture_nlp.io.base import RawTranscript
from rupture_nlp.roles import RoleOverrides, alias_role, assign_roles
from rupture_nlp.types import Cue, Session, Span, Turn

BACKCHANNEL_WORDS = frozenset(
    {"mm", "mmm", "hm", "hmm", "mhm", "mm-hm", "mm-hmm", "mmhm", "mmhmm", "uh-huh", "uh", "huh",
     "yeah", "yes", "yep", "yup", "right", "okay", "ok", "sure", "i", "see", "oh", "ah", "wow",
     "true", "got", "it", "uh-hum", "um-hum", "aha", "ahh"}
)
_WORDS = re.compile(r"[a-z]+(?:-[a-z]+)*")

# A speaker turn longer than this is not a turn: 100,000 characters is ~17,000 words, two
# hours of one person talking without a break, more than a whole session's transcript.
# Such a "turn" is a file whose line breaks were lost (or not a transcript); reading it
# would hand the model one meaningless turn, so it is an error naming the line instead.
MAX_TURN_CHARS = 100_000


@dataclass
class SegmentOptions:
    """How turns are built; the defaults suit spoken-session transcripts."""

    overrides: RoleOverrides | None = None
    silence_gap: float = 3.0  # seconds of silence between utterances recorded as a cue
    sentences: bool = True


@lru_cache(maxsize=1)
def _sentencizer():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def split_sentences(texts: list[str]) -> list[list[str]]:
    """Sentences of each text, with spaCy's rule-based sentencizer."""
    nlp = _sentencizer()
    return [[s.text.strip() for s in doc.sents if s.text.strip()] for doc in nlp.pipe(texts, batch_size=256)]


def is_backchannel_text(text: str) -> bool:
    words = _WORDS.findall(text.lower())
    return 0 < len(words) <= 4 and all(w in BACKCHANNEL_WORDS for w in words)


def build_session(raw: RawTranscript, options: SegmentOptions | None = None) -> Session:
    """Turn a reader's utterances into a `Session` of speaker turns."""
    options = options or SegmentOptions()
    pieces = []
    for utt in raw.utterances:
        speaker = (utt.speaker or "").strip()
        if not speaker:
            raise TranscriptError(raw.source, utt.line, "an utterance has no speaker label; label every turn")
        if len(utt.text or "") > MAX_TURN_CHARS:
            raise TranscriptError(
                raw.source, utt.line,
                f"a turn of {len(utt.text):,} characters (the limit is {MAX_TURN_CHARS:,}, about two hours of "
                "speech): the line breaks between turns were probably lost; re-export the transcript",
            )
        clean, cues = extract_cues(utt.text or "")
        if not clean and not cues:
            continue
        pieces.append((speaker, clean, cues, utt))
    if not pieces:
        raise TranscriptError(raw.source, None, "no speech found: every utterance is empty")

    stated = {}
    for speaker, _, _, utt in pieces:
        if utt.role:
            role = utt.role.strip().lower()
            stated.setdefault(speaker, role if role in ("therapist", "client", "other") else alias_role(role))
    stated = {k: v for k, v in stated.items() if v}
    roles, warnings = assign_roles([(p[0], p[1]) for p in pieces], stated, options.overrides)

    turns: list[Turn] = []
    previous_end: float | None = None
    for speaker, clean, cues, utt in pieces:
        gap = None
        if previous_end is not None and utt.start is not None and utt.start - previous_end >= options.silence_gap:
            gap = utt.start - previous_end
        previous_end = utt.end if utt.end is not None else previous_end
        span = Span(line=utt.line, start=utt.start, end=utt.end, id=utt.id)
        if turns and turns[-1].speaker == speaker:
            turn = turns[-1]
            joiner = " " if turn.text and clean else ""
            base = len(turn.text) + len(joiner)
            if gap is not None:
                turn.cues.append(Cue(text=f"silence {gap:.1f}s", offset=len(turn.text), kind="gap", seconds=round(gap, 2)))
            turn.cues.extend(Cue(c.text, c.offset + base, c.kind, c.seconds) for c in cues)
            turn.text = turn.text + joiner + clean
            if len(turn.text) > MAX_TURN_CHARS:
                raise TranscriptError(
                    raw.source, turn.source_line,
                    f"one speaker talks for over {MAX_TURN_CHARS:,} characters without a turn by anyone else; "
                    "check the speaker labels",
                )
            turn.spans.append(span)
            turn.end = utt.end if utt.end is not None else turn.end
            continue
        gap_cues = [Cue(text=f"silence {gap:.1f}s", offset=0, kind="gap", seconds=round(gap, 2))] if gap else []
        turns.append(
            Turn(
                index=len(turns),
                speaker=speaker,
                role=roles[speaker],
                text=clean,
                start=utt.start,
                end=utt.end,
                cues=gap_cues + cues,
                source_line=utt.line,
                spans=[span],
            )
        )

    for i in range(1, len(turns) - 1):
        before, here, after = turns[i - 1], turns[i], turns[i + 1]
        mid_speech = not before.text.rstrip().endswith("?")  # an answer to a question is not a backchannel
        if before.speaker == after.speaker != here.speaker and mid_speech and is_backchannel_text(here.text):
            here.backchannel = True

    if options.sentences:
        for turn, sentences in zip(turns, split_sentences([t.text for t in turns])):
            turn.sentences = sentences

    return Session(
        session_id=raw.session_id,
        turns=turns,
        source=raw.source,
        format=raw.format,
        metadata=dict(raw.metadata),
        warnings=list(raw.warnings) + warnings,
    )
