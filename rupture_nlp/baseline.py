"""Baseline coder: TF-IDF (word and character n-grams) + class-weighted logistic regression.

The target turn and the preceding turn are vectorised separately (so "I'm not doing
that" after a suggestion differs from the same words after a question), one model per
head. It trains in seconds and is the floor the transformer must beat by 0.05 macro-F1.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from rupture_nlp.coder import TurnCoder
from rupture_nlp.labels import MARKERS, STAGES, SUBTYPES


def _frame(records: list[dict]):
    import pandas as pd

    return pd.DataFrame({
        "text": [r["text"] for r in records],
        "previous": [r["context"][-1] if r["context"] else "session start" for r in records],
    })


def _pipeline(seed: int) -> Pipeline:
    text = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True, max_features=60000)),
    ])
    features = ColumnTransformer([
        ("text", text, "text"),
        ("previous", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=20000), "previous"),
    ])
    model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=seed)
    return Pipeline([("features", features), ("model", model)])


class BaselineCoder(TurnCoder):
    """TF-IDF + logistic regression; `fit` takes turn records with their gold codes."""

    def __init__(self, seed: int = 13, context_turns: int = 4) -> None:
        self.seed = seed
        self.context_turns = context_turns

    def fit(self, records: list[dict], labels=None, subtypes=None) -> "BaselineCoder":
        client = [r for r in records if r["role"] == "client"]
        therapist = [r for r in records if r["role"] == "therapist"]
        marked = [r for r in client if r["marker"] != "none"]
        self.marker_ = _pipeline(self.seed).fit(_frame(client), [r["marker"] for r in client])
        self.subtype_ = _pipeline(self.seed).fit(_frame(marked), [r["subtype"] for r in marked])
        self.stage_ = _pipeline(self.seed).fit(_frame(therapist), [r["stage"] for r in therapist])
        return self

    @staticmethod
    def _aligned(pipe: Pipeline, frame, names: tuple[str, ...]) -> np.ndarray:
        probs = pipe.predict_proba(frame)
        out = np.zeros((len(frame), len(names)))
        for j, cls in enumerate(pipe.classes_):
            out[:, names.index(cls)] = probs[:, j]
        return out

    def _heads(self, records):
        frame = _frame(records)
        return (self._aligned(self.marker_, frame, MARKERS), self._aligned(self.subtype_, frame, SUBTYPES),
                self._aligned(self.stage_, frame, STAGES))

    def save(self, path: str | Path) -> None:
        with open(path, "wb") as handle:
            pickle.dump(self, handle)

    @staticmethod
    def load(path: str | Path) -> "BaselineCoder":
        with open(path, "rb") as handle:
            return pickle.load(handle)
