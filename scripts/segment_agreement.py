"""Check the 3RS salience rule against human segment ratings, and the model against humans.

There are no native human 3RS segment ratings for this corpus, so human ratings are
derived from the double-coded human turn codes with the same rule as the model's
(`rupture_nlp.salience`): human codes are probabilities 0/1. Printed:
  (i)  ICC coder_a vs coder_b (independent codings, before adjudication) on the
       segment salience scores, per marker type, for the authored sessions (no
       timestamps: 20-turn windows) and the AnnoMI sessions (timestamps: 5-minute
       segments);
  (ii) ICC human (coder_a, adjudicated = the gold labels) vs the shipped model
       (`models/rupture-minilm`) on the test-split sessions (`data/splits.json`);
       the model's salience comes from its marker probabilities.
Each with a 95 % session-bootstrap CI, beside published 3RS reliability (session-level
ICC .85-.98, Eubanks et al. 2019). Figures are copied into docs/agreement.md.
Usage: RUPTURE_ANNOMI_DIR=/work/shared/corpora/annomi python scripts/segment_agreement.py [--bootstrap 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rupture_nlp.agree import Coder, segment_agreement  # noqa: E402
from rupture_nlp.codes import coded_only, from_sessions  # noqa: E402
from rupture_nlp.corpus import load_annomi, load_authored, load_splits  # noqa: E402

MEASURES = (("salience", "segment salience 1-5"), ("count", "segment marker-turn count"),
            ("session_count", "session marker-turn count"))


def table(title: str, result: dict | None) -> None:
    print(f"\n{title}")
    if not result:
        print("  (no sessions)")
        return
    unit = "5-minute segments" if result["unit"] == "minutes" else \
        f"{result['window_turns'] or 20}-turn windows" if result["unit"] == "turns" else "segments (time or turns)"
    print(f"  {result['sessions']} sessions, {result['segments']} {unit}, {result['turns']} client turns")
    print(f"  {'marker':14} {'measure':27} {'ICC(2,1)':>8}  {'95% CI':16} {'ICC(3,1)':>8}")
    for marker, measures in result["icc"].items():
        for key, name in MEASURES:
            v = measures[key]
            ci = f"[{v['ci95'][0]:.2f}, {v['ci95'][1]:.2f}]" if v.get("ci95") else ""
            print(f"  {marker:14} {name:27} {v['icc2_1']:8.2f}  {ci:16} {v['icc3_1']:8.2f}")


def human_pair(sessions_a, sessions_b) -> list[Coder]:
    a, b = coded_only(from_sessions(s.session for s in sessions_a)), coded_only(from_sessions(s.session for s in sessions_b))
    return [Coder("coder_a", "data/labels/*/coder_a", a), Coder("coder_b", "data/labels/*/coder_b", b)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: the shipped model)")
    args = parser.parse_args()
    n = args.bootstrap

    print("(i) human vs human: coder_a (independent, before adjudication) vs coder_b, derived segment ratings")
    authored_b = load_authored("coder_b")
    double = {s.session.session_id for s in authored_b}
    authored_a = load_authored("coder_a", adjudicate=False, only=double)
    table("authored (no timestamps)", segment_agreement(human_pair(authored_a, authored_b), n_boot=n))
    annomi_b = load_annomi("coder_b")
    if not annomi_b:
        print("\nAnnoMI: no local copy (set RUPTURE_ANNOMI_DIR); skipped")
    else:
        ids = {s.session.session_id.removeprefix("annomi_") for s in annomi_b}
        annomi_a = load_annomi("coder_a", adjudicate=False, only=ids)
        table("AnnoMI (timestamps)", segment_agreement(human_pair(annomi_a, annomi_b), n_boot=n))
        table("both sources", segment_agreement(human_pair(authored_a + annomi_a, authored_b + annomi_b), n_boot=n))

    print("\n(ii) human (coder_a, adjudicated gold) vs the shipped model, test split")
    from rupture_nlp.model import TransformerCoder

    test = {sid for sid, part in load_splits().items() if part == "test"}
    gold = [s for s in load_authored("coder_a") + load_annomi("coder_a") if s.session.session_id in test]
    model = TransformerCoder.load(args.model)
    predicted = {}
    for item in gold:
        session = item.session
        for turn, coding in zip(session.turns, model.code(session)):
            predicted[(session.session_id, turn.index)] = {
                "role": turn.role, "marker": coding.marker, "subtype": coding.subtype, "stage": coding.stage,
                "probs": coding.probs, "start": turn.start, "end": turn.end}
    human = coded_only(from_sessions(s.session for s in gold))
    coders = [Coder("human", "coder_a adjudicated", human), Coder("model", str(args.model or "shipped"), coded_only(predicted))]
    by_source = {"authored": lambda k: not k[0].startswith("annomi_"), "AnnoMI": lambda k: k[0].startswith("annomi_")}
    for name, keep in by_source.items():
        part = [Coder(c.name, c.path, {k: r for k, r in c.rows.items() if keep(k)}) for c in coders]
        table(f"test split, {name}", segment_agreement(part, n_boot=n))
    table("test split, both sources", segment_agreement(coders, n_boot=n))
    print("\nPublished 3RS reliability (human coders, Eubanks et al. 2019): session-level ICC .85-.98.")


if __name__ == "__main__":
    main()
