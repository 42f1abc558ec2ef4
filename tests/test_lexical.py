"""The lexical companion blended into the transformer coder, and the guarded decision offsets."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rupture_nlp.baseline import BaselineCoder
from rupture_nlp.lexical import LEXICAL_FILE, blend
from rupture_nlp.model import ModelLoadError, TransformerCoder
from rupture_nlp.train import TrainingArguments, choose_lexical_weight, raise_recall, train, tune_bias_guarded

from tiny_model import make_tiny_base, toy_records


@pytest.fixture(scope="module")
def blended(tmp_path_factory):
    """A tiny encoder trained for one step (so it is near chance) with a baseline that learns the toy signal."""
    base = make_tiny_base(tmp_path_factory.mktemp("base"))
    out = tmp_path_factory.mktemp("model") / "tiny"
    records = toy_records()
    lexical = BaselineCoder().fit(records * 2)
    args = TrainingArguments(epochs=1, batch_size=8, learning_rate=1e-6, head_learning_rate=1e-6, max_length=48, threads=1)
    coder = train(records, records, out, base, args, log=lambda *_: None, lexical=lexical)
    return coder, out, records, lexical


def test_dev_chooses_the_companion_when_the_encoder_is_near_chance(blended):
    coder, out, records, _ = blended
    assert coder.lexical_weight > 0 and (out / LEXICAL_FILE).is_file()
    assert json.loads((out / "rupture_config.json").read_text())["lexical_weight"] == coder.lexical_weight


def test_blended_model_reloads_with_its_companion_and_predicts_the_same(blended):
    coder, out, records, _ = blended
    again = TransformerCoder.load(out)
    assert again.lexical is not None
    np.testing.assert_allclose(again.predict_proba(records), coder.predict_proba(records), atol=2e-2)
    np.testing.assert_allclose(again.predict_proba(records).sum(axis=1), 1.0, atol=1e-6)


def test_blend_is_the_weighted_mean_of_the_two_coders(blended):
    coder, _, records, lexical = blended
    w = coder.lexical_weight
    coder.lexical_weight = 0.0
    encoder = coder._heads(records)
    coder.lexical_weight = w
    mixed = coder._heads(records)
    expected = blend(encoder, lexical._heads(records), w)
    for got, want in zip(mixed, expected):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_a_corrupt_companion_is_a_clear_load_error(blended, tmp_path):
    _, out, _, _ = blended
    broken = shutil.copytree(out, tmp_path / "broken")
    (broken / LEXICAL_FILE).write_bytes(b"not a skops archive")
    with pytest.raises(ModelLoadError, match="lexical companion"):
        TransformerCoder.load(broken)


def test_weight_grid_prefers_the_better_coder_and_zero_on_ties():
    gold = np.array([0, 1, 2, 0, 1, 2])
    perfect = np.eye(3)[gold]
    useless = np.full((6, 3), 1 / 3) + np.array([0.01, 0, 0])  # always predicts class 0
    assert choose_lexical_weight((useless, useless), (perfect, perfect), (gold, gold)) > 0
    assert choose_lexical_weight((perfect, perfect), (useless, useless), (gold, gold)) == 0.0


def test_offsets_are_dropped_when_they_only_fit_noise():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 400)
    probs = rng.dirichlet(np.ones(3), 400)  # unrelated to gold: any offset gain is noise
    sessions = [f"s{i // 10}" for i in range(400)]
    assert not tune_bias_guarded(probs, gold, sessions).any()


def test_offsets_are_kept_when_they_help_held_out_sessions():
    rng = np.random.default_rng(1)
    gold = rng.choice(3, 600, p=[0.8, 0.1, 0.1])
    probs = np.full((600, 3), 0.05)
    probs[np.arange(600), gold] = 0.3  # informative but the rare classes lose to a prior on class 0
    probs[:, 0] += 0.4
    probs /= probs.sum(axis=1, keepdims=True)
    sessions = [f"s{i // 20}" for i in range(600)]
    bias = tune_bias_guarded(probs, gold, sessions)
    assert bias[1:].min() > 0


def test_offsets_need_at_least_two_dev_sessions_to_be_checked():
    probs = np.array([[0.6, 0.3, 0.1], [0.6, 0.35, 0.05], [0.2, 0.2, 0.6]])
    assert not tune_bias_guarded(probs, np.array([1, 1, 2]), ["only", "only", "only"]).any()


def test_recall_floor_raises_only_that_class_and_only_as_far_as_needed():
    # class 1 gold on four rows; its probability trails class 0 by log-ratios ln2, ln4, 0 (already won) and ln8
    probs = np.array([[2 / 3, 1 / 3], [0.8, 0.2], [0.4, 0.6], [8 / 9, 1 / 9], [0.9, 0.1]])
    gold = np.array([1, 1, 1, 1, 0])
    bias = raise_recall(probs, gold, np.zeros(2), cls=1, floor=0.5)  # needs one more row: the ln2 one
    assert bias[0] == 0 and np.log(2) <= bias[1] < np.log(2) + 0.05
    bias = raise_recall(probs, gold, np.zeros(2), cls=1, floor=1.0, limit=1.0)  # ln4, ln8 are past the limit
    assert np.log(2) <= bias[1] < np.log(2) + 0.05  # the smallest offset with the best recall reachable
    assert raise_recall(probs, gold, np.array([0.0, 0.3]), cls=1, floor=0.25)[1] == 0.3  # met already: unchanged


def test_recall_floor_stops_before_precision_falls_below_the_guard():
    # two class-1 rows need offsets ln3 and ln9; three class-0 rows flip at ln2, ln4 and ln5
    probs = np.array([[0.75, 0.25], [0.9, 0.1], [2 / 3, 1 / 3], [0.8, 0.2], [5 / 6, 1 / 6]])
    gold = np.array([1, 1, 0, 0, 0])
    bias = raise_recall(probs, gold, np.zeros(2), cls=1, floor=1.0, min_precision=0.5)
    # past ln2 precision is 0 (not allowed), at ln3 recall 1/2 at precision 1/2 (allowed); full recall at ln9
    # comes with all three false flags, precision 2/5: so it stops at ln3, the best recall the guard allows
    assert np.log(3) <= bias[1] < np.log(3) + 0.05
    unguarded = raise_recall(probs, gold, np.zeros(2), cls=1, floor=1.0, min_precision=0.0)
    assert unguarded[1] >= np.log(9)


def test_a_non_finite_dev_logit_does_not_poison_the_temperature():
    from rupture_nlp.train import fit_temperature

    gold = np.array([0, 1, 2] * 20)
    logits = np.eye(3)[gold] * 3.0
    logits[0, 0] = np.inf  # an overflowed logit: the NLL and its gradient become NaN
    t = fit_temperature(logits, gold)
    assert np.isfinite(t) and 0.25 <= t <= 8.0


def test_saved_config_is_what_save_writes(blended, tmp_path):
    """The model card is rendered from `saved_config()` before saving; it must match the file."""
    coder, _, _, _ = blended
    coder.save(tmp_path / "again")
    written = json.loads((tmp_path / "again" / "rupture_config.json").read_text())
    assert written == json.loads(json.dumps(coder.saved_config()))
    assert written["lexical_weight"] == coder.lexical_weight > 0


class NotScikitLearn:
    """A type outside scikit-learn/NumPy/SciPy, as a tampered companion file could name."""


def test_a_companion_naming_foreign_types_is_refused(blended, tmp_path):
    import skops.io as sio

    _, out, _, _ = blended
    tampered = shutil.copytree(out, tmp_path / "tampered")
    sio.dump({"marker": NotScikitLearn(), "subtype": None, "stage": None}, tampered / LEXICAL_FILE)
    with pytest.raises(ModelLoadError, match="refuses to load types"):
        TransformerCoder.load(tampered)
