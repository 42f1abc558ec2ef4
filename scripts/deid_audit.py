"""Audit de-identification on a folder of transcripts: what was replaced, and what capitalised words were not.

Prints replacements per kind and per 1,000 words, every distinct replaced string with its
count (to judge false replacements by eye) and every capitalised word not at a sentence
start that was left alone (to judge missed names). Nothing is written to disk.

    python scripts/deid_audit.py data/authored/sessions            # rules + name lists only
    python scripts/deid_audit.py --ner data/authored/sessions/au_a*.txt   # plus spaCy NER if installed
"""

from __future__ import annotations

import re
import sys
from collections import Counter

from rupture_nlp.deid import Deidentifier
from rupture_nlp.deid.names import WORD, sentence_initial
from rupture_nlp.deid.scrub import SessionScrubber
from rupture_nlp.io import expand_paths, read_sessions


def main(paths: list[str], ner: bool = False) -> None:
    deid = Deidentifier(key="audit", use_ner=ner)
    replaced, kept, kinds = Counter(), Counter(), Counter()
    words = sessions = 0
    for path in expand_paths(paths):
        for session in read_sessions(path):
            sessions += 1
            texts = [t.text for t in session.turns]
            scrub = SessionScrubber(texts, [t.speaker for t in session.turns], session.metadata, deid._detectors)
            for text in texts:
                words += len(text.split())
                found = scrub.findings(text)
                for f in found:
                    kinds[f.kind] += 1
                    replaced[(f.kind, f.text)] += 1
                covered = [(f.start, f.end) for f in found]
                for m in WORD.finditer(text):
                    if m.group(0)[:1].isupper() and not sentence_initial(text, m.start()) \
                            and not any(a <= m.start() < b for a, b in covered) and m.group(0) not in ("I", "I'm"):
                        kept[m.group(0)] += 1
    print(f"{sessions} sessions, {words} words; detectors: {', '.join(deid.detectors)}")
    total = sum(kinds.values())
    print(f"{total} replacements = {1000 * total / max(words, 1):.2f} per 1,000 words")
    for kind, n in kinds.most_common():
        print(f"  {kind:8} {n:5}  {1000 * n / max(words, 1):.2f}/1k words")
    print("\nreplaced (kind, text, count):")
    for (kind, text), n in sorted(replaced.items()):
        print(f"  {kind:8} {text!r} x{n}")
    print("\ncapitalised mid-sentence words left alone (count):")
    print("  " + ", ".join(f"{w} x{n}" for w, n in sorted(kept.items())))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--ner"]
    main(args or ["data/authored/sessions"], ner="--ner" in sys.argv)
