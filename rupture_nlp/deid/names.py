"""Person names in running text: name lists plus the cues people use around names.

A capitalised word is a name when it is in the name lists (`lexicon.name_lexicon`) and is
not an everyday word; an everyday word that is also a name ("Will", "Grace") or a word in
no list ("Oluwaseun") needs a cue: a title ("Dr. Okafor", "Mrs. Adeyemi"), an introduction
("my name is", "I'm", "call me"), address position ("Hi Priya,", "…, Grace.") or a full
name next to a known name ("Grace Okafor"). Speaker labels and metadata name fields are
names by definition and come in through `speaker_name_tokens`.
"""

from __future__ import annotations

import re

from rupture_nlp.deid.lexicon import AMBIGUOUS, MIDSENTENCE_NAMES, NEVER, common_words, fold, name_lexicon, stop_words
from rupture_nlp.deid.patterns import Finding

PLACEHOLDER = re.compile(r"\[(?:[A-Z]+-)+[A-Z0-9]+\]")
WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*")
_TITLE = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|Mx|Prof|Professor|Doctor|Miss|Mister|Sister|Brother|Father|Pastor|Nurse|"
                    r"Auntie|Aunty|Aunt|Uncle|Rev|Sr|Sra|Srta|Don|Doña|Señor|Señora|Chief|Alhaji|Madam|Mama|Baba)"
                    r"\.?\s+)$")
_INTRO = re.compile(r"(?i:\b(?:my name is|my name's|name's|i'm|i am|call me|this is|it's|named|called|"
                    r"his name is|her name is|their name is|known as|ask for)\s+)$")
_GREETING = re.compile(r"(?i:\b(?:hi|hello|hey|morning|good morning|good afternoon|good evening|evening|thanks|"
                       r"thank you|bye|goodbye|welcome|dear|sorry|okay|ok|yes|no|well|listen|look|congrats|afternoon|night)\s*,?\s+)$")
_ROLE_WORDS = {"therapist", "client", "counselor", "counsellor", "patient", "interviewer", "interviewee", "speaker",
               "participant", "clinician", "doctor", "dr", "mr", "mrs", "ms", "mx", "miss", "prof", "interpreter",
               "observer", "partner", "mother", "father", "mom", "mum", "dad", "son", "daughter", "wife", "husband",
               "parent", "child", "family", "member", "unknown", "other", "moderator", "facilitator", "coach", "nurse",
               "sister", "brother", "spouse", "caller", "caregiver", "carer", "guardian", "teen", "adolescent"}


def is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def speaker_name_tokens(label: str) -> list[str]:
    """The name words of a speaker label: 'Dr. Okafor' → ['Okafor'], 'Therapist' and 'SPEAKER_00' → []."""
    tokens = []
    for match in WORD.finditer(PLACEHOLDER.sub(" ", label)):
        word = match.group(0)
        if len(word) < 2 or fold(word) in _ROLE_WORDS or word.isupper() and "_" in label:
            continue
        tokens.append(word)
    return tokens


def sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“‘([")
    return not before or before[-1] in ".!?…:;\n" or before.endswith(("--", "—"))


def _strip_possessive(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "’s")) and len(word) > 3 else word


def find_names(text: str, session_lower: set[str] | None = None) -> list[Finding]:
    """Name words in `text`; `session_lower` holds words seen in lower case elsewhere in the session."""
    lexicon, common, stops = name_lexicon(), common_words(), stop_words()
    text = PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), text)  # "[NAME-1]" is not the name "Name"
    session_lower = session_lower or set()
    words = [(m.start(), _strip_possessive(m.group(0))) for m in WORD.finditer(text)]
    accepted: dict[int, str] = {}

    def everyday(key: str, start: int) -> bool:
        # Lower-case use elsewhere in the session only counts against a sentence-initial word
        # ("Come on in" when "come" occurs), so one lower-cased "priya" cannot hide "Priya".
        return key in common or key in session_lower and sentence_initial(text, start)

    for i, (start, word) in enumerate(words):
        if not is_capitalised(word) or len(word) < 2 or word.isupper():
            continue  # all-capitals words are acronyms unless the session names them elsewhere
        key = fold(word)
        if key in stops or key in NEVER:
            continue
        before = text[max(0, start - 40):start]
        after = text[start + len(word):start + len(word) + 2]
        in_lexicon = key in lexicon
        if _TITLE.search(before):
            accepted[i] = word
        elif _INTRO.search(before) and in_lexicon:
            accepted[i] = word
        elif _GREETING.search(before) and (in_lexicon or key in AMBIGUOUS or not everyday(key, start)) and re.match(r"\s*[,.!?]", after or "."):
            accepted[i] = word
        elif in_lexicon and not everyday(key, start):
            accepted[i] = word
        elif key in MIDSENTENCE_NAMES and not sentence_initial(text, start):
            accepted[i] = word
        elif in_lexicon and re.match(r"[.!?]", after or "") and re.search(r",\s*$", before):
            accepted[i] = word  # end-of-sentence address: "Thank you, Grace."
    # Full names: a capitalised neighbour of an accepted name ("Grace Okafor", "Priya Sharma").
    for _ in range(2):
        for i in sorted(accepted):
            for j in (i - 1, i + 1):
                if j in accepted or not 0 <= j < len(words):
                    continue
                start, word = words[j]
                a, b = sorted((i, j))
                gap = text[words[a][0] + len(words[a][1]):words[b][0]]
                key = fold(word)
                initial = sentence_initial(text, start)
                if (gap == " " and is_capitalised(word) and len(word) >= 2 and key not in stops and key not in NEVER
                        and (key in lexicon if initial else (key in lexicon or key not in common))):
                    accepted[j] = word
    return [Finding(words[i][0], words[i][0] + len(w), "NAME", w) for i, w in sorted(accepted.items())]


def lower_words(texts: list[str]) -> set[str]:
    """Words a session uses in lower case: evidence that a capitalised one is an everyday word."""
    return {fold(m.group(0)) for text in texts for m in WORD.finditer(text) if m.group(0).islower()}
