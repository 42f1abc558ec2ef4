"""The lexical companion of the transformer coder: its probabilities are blended with the encoder's.

Why: on this corpus the TF-IDF baseline and the fine-tuned encoder make different
mistakes (the baseline keys on words — "whatever", "I don't know", "you keep saying" —
the encoder on how the turn answers its context), and averaging their probabilities
beats either alone on dev and test (see the model card). The companion is the fitted
`BaselineCoder`'s three pipelines, stored beside the weights as `lexical.skops`:
skops writes scikit-learn objects without pickle's arbitrary code execution, and on load
we accept only scikit-learn, NumPy and SciPy types.

The blend is `w · p_encoder + (1 − w) · p_lexical` per head, with `w` (`lexical_weight`
in `rupture_config.json` is `1 − w`) chosen on dev by `rupture_nlp.train`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LEXICAL_FILE = "lexical.skops"
TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.")


class LexicalLoadError(Exception):
    """The companion file is missing, corrupt or holds types we do not load."""


def save_lexical(baseline, folder: str | Path) -> Path:
    """Write a fitted BaselineCoder's pipelines to `folder/lexical.skops`."""
    import zipfile

    import skops.io as sio

    path = Path(folder) / LEXICAL_FILE
    # deflated: the n-gram vocabularies shrink from ~110 MB to ~17 MB, keeping the model folder under 100 MB
    sio.dump({"marker": baseline.marker_, "subtype": baseline.subtype_, "stage": baseline.stage_}, path,
             compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    return path


def load_lexical(folder: str | Path):
    """A BaselineCoder rebuilt from `folder/lexical.skops`, refusing any type outside scikit-learn/NumPy/SciPy."""
    import skops.io as sio

    from rupture_nlp.baseline import BaselineCoder

    path = Path(folder) / LEXICAL_FILE
    try:
        untrusted = sio.get_untrusted_types(file=path)
        foreign = [t for t in untrusted if not t.startswith(TRUSTED_MODULES)]
        if foreign:
            raise LexicalLoadError(f"{path}: refuses to load types outside scikit-learn/NumPy/SciPy: {foreign[:3]}")
        pipes = sio.load(path, trusted=untrusted)
    except LexicalLoadError:
        raise
    except Exception as exc:
        raise LexicalLoadError(f"{path}: cannot load the lexical companion ({type(exc).__name__}: {exc}); "
                               "re-install or retrain the model") from None
    coder = BaselineCoder()
    coder.marker_, coder.subtype_, coder.stage_ = pipes["marker"], pipes["subtype"], pipes["stage"]
    return coder


def blend(encoder_heads: tuple[np.ndarray, ...], lexical_heads: tuple[np.ndarray, ...],
          lexical_weight: float) -> tuple[np.ndarray, ...]:
    """Per-head convex combination; rows still sum to 1."""
    return tuple((1.0 - lexical_weight) * e + lexical_weight * x for e, x in zip(encoder_heads, lexical_heads))
