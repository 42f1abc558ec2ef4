"""The one interface every turn coder shares (scikit-learn style), so evaluation, the
report and the benchmarks take any of them.

A coder sees *turn records*: dicts with `role`, `text` (words plus a cue channel) and
`context` (preceding turns as `role: text`, oldest first). Its label space is joint:
`client:none|confrontation|withdrawal` and `therapist:<stage>`; `predict_proba` gives
zero to the classes of the other role. Subclasses implement `_heads`, returning the
marker, subtype and stage probabilities of every record.
"""

from __future__ import annotations

import numpy as np

from rupture_nlp.corpus import context_of, render_text
from rupture_nlp.labels import MARKERS, STAGES, SUBTYPE_TO_MARKER, SUBTYPES
from rupture_nlp.types import Coding, Session

CLASSES: list[str] = [f"client:{m}" for m in MARKERS] + [f"therapist:{s}" for s in STAGES]


def joint_label(record: dict) -> str:
    return f"client:{record['marker']}" if record["role"] == "client" else f"therapist:{record['stage']}"


def session_records(session: Session, context_turns: int = 4) -> list[dict]:
    """Records for every client and therapist turn of an uncoded session."""
    return [
        {"turn": t.index, "role": t.role, "text": render_text(t), "context": context_of(session, t.index, context_turns),
         "backchannel": t.backchannel}
        for t in session.turns if t.role in ("client", "therapist")
    ]


class TurnCoder:
    """Base class: fit / predict / predict_proba / classes_ / code(session)."""

    classes_: list[str] = CLASSES
    context_turns: int = 4
    marker_bias: np.ndarray | None = None  # log-space offsets tuned on dev
    stage_bias: np.ndarray | None = None

    def fit(self, records: list[dict], labels: list[str] | None = None, subtypes: list[str] | None = None) -> "TurnCoder":
        raise NotImplementedError

    def _heads(self, records: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(marker probs n×3, subtype probs n×14, stage probs n×7) for every record."""
        raise NotImplementedError

    def _biased(self, probs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        if bias is None:
            return probs
        logits = np.log(np.clip(probs, 1e-9, 1.0)) + bias
        logits -= logits.max(axis=1, keepdims=True)
        out = np.exp(logits)
        return out / out.sum(axis=1, keepdims=True)

    def predict_proba(self, records: list[dict]) -> np.ndarray:
        marker, _, stage = self._heads(records)
        out = np.zeros((len(records), len(CLASSES)))
        client = np.array([r["role"] == "client" for r in records], dtype=bool)
        out[client, : len(MARKERS)] = self._biased(marker, self.marker_bias)[client]
        out[~client, len(MARKERS):] = self._biased(stage, self.stage_bias)[~client]
        return out

    def predict(self, records: list[dict]) -> list[str]:
        return [CLASSES[i] for i in self.predict_proba(records).argmax(axis=1)]

    def code_records(self, records: list[dict]) -> list[Coding]:
        """Codings (codebook §4 fields plus probabilities) for records."""
        if not records:
            return []
        marker, subtype, stage = self._heads(records)
        marker_b, stage_b = self._biased(marker, self.marker_bias), self._biased(stage, self.stage_bias)
        codings = []
        for i, record in enumerate(records):
            if record["role"] == "client":
                m = MARKERS[int(marker_b[i].argmax())]
                sub = None
                if m != "none":
                    allowed = [j for j, s in enumerate(SUBTYPES) if SUBTYPE_TO_MARKER[s] == m]
                    sub = SUBTYPES[max(allowed, key=lambda j: subtype[i, j])]
                probs = {"marker": _round(MARKERS, marker_b[i]), "subtype": _round(SUBTYPES, subtype[i])}
                codings.append(Coding(marker=m, subtype=sub, stage=None, probs=probs))
            else:
                probs = {"stage": _round(STAGES, stage_b[i])}
                codings.append(Coding(marker=None, subtype=None, stage=STAGES[int(stage_b[i].argmax())], probs=probs))
        return codings

    def code(self, session: Session) -> list[Coding]:
        """One Coding a turn of the session (empty Coding for turns by others)."""
        records = session_records(session, self.context_turns)
        by_turn = dict(zip((r["turn"] for r in records), self.code_records(records)))
        return [by_turn.get(t.index, Coding()) for t in session.turns]


def _round(names, values) -> dict[str, float]:
    return {n: round(float(v), 4) for n, v in zip(names, values)}
