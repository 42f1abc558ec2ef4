"""`evaluate` on a hand-made gold file gives the numbers worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from rupture_nlp.cli import app

GOLD = ["none", "none", "confrontation", "withdrawal", "none", "confrontation"]
PRED = ["none", "confrontation", "confrontation", "none", "none", "confrontation"]


def write(path, markers, stages=()):
    rows = [{"session_id": f"s{i % 2}", "turn": i, "role": "client", "marker": m, "subtype": None, "stage": None}
            for i, m in enumerate(markers)]
    rows += [{"session_id": "s0", "turn": 100 + i, "role": "therapist", "marker": None, "subtype": None, "stage": s}
             for i, s in enumerate(stages)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_hand_worked_metrics(tmp_path):
    gold = write(tmp_path / "gold.jsonl", GOLD, ["none", "affirming", "antagonizing"])
    pred = write(tmp_path / "pred.jsonl", PRED, ["none", "affirming", "none"])
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(gold), "--pred", str(pred),
                                      "--json", str(tmp_path / "r.json"), "--bootstrap", "200"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    marker = report["marker"]
    # confrontation: TP 2, FP 1, FN 0; withdrawal: TP 0, FN 1; none: TP 2, FP 1, FN 1
    assert marker["per_class"]["confrontation"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert marker["per_class"]["withdrawal"]["f1"] == 0.0
    assert marker["per_class"]["none"]["f1"] == pytest.approx(2 / 3)
    assert marker["macro_f1"] == pytest.approx((0.8 + 0 + 2 / 3) / 3)
    # p_o = 4/6; p_e = .5*.5 + (2/6)(3/6) = 5/12; kappa = (2/3 - 5/12) / (7/12) = 3/7
    assert marker["kappa"] == pytest.approx(3 / 7)
    assert marker["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    lo, hi = marker["ci95"]["macro_f1"]
    assert 0.0 <= lo <= hi <= 1.0
    stage = report["stage"]
    assert stage["per_class"]["antagonizing"]["recall"] == 0.0 and stage["per_class"]["affirming"]["f1"] == 1.0
    assert "macro-F1 0.489" in result.output and "kappa 0.429" in result.output


def test_unreadable_input_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(tmp_path / "missing.jsonl"), "--pred", str(tmp_path / "p.jsonl")])
    assert result.exit_code == 2 and "cannot read" in result.output


def test_random_session_sets_band_spans_what_chance_alone_gives():
    from rupture_nlp.evaluate import random_sets_band

    gold = ["withdrawal", "none", "confrontation", "none"] * 10
    right = gold[:20]  # sessions s0–s4 coded right, s5–s9 all `none`
    pred = right + ["none"] * 20
    sessions = [f"s{k // 4}" for k in range(40)]
    labels = ["none", "confrontation", "withdrawal"]
    whole = f1_score(gold, pred, labels=labels, average="macro")
    low, high = random_sets_band(gold, pred, labels, sessions, size=10)
    assert low == pytest.approx(whole) and high == pytest.approx(whole)  # every set is the whole test split
    low, high = random_sets_band(gold, pred, labels, sessions, size=1)
    assert high == pytest.approx(1.0) and low < 0.5  # one session alone is either perfect or poor


def test_model_card_names_only_groups_outside_their_random_band():
    from rupture_nlp.model_card import outside_band

    groups = {"a": {"marker": {"macro_f1": 0.55}, "random_band": [0.60, 0.80]},
              "b": {"marker": {"macro_f1": 0.65}, "random_band": [0.60, 0.80]},
              "annomi": {"marker": {"macro_f1": 0.40}}}
    assert outside_band(groups) == ["a"]


def test_model_card_gives_a_runnable_command_for_its_own_recipe():
    import copy
    import re
    import shlex

    from rupture_nlp.model_card import render_card

    folder = Path(__file__).resolve().parents[1] / "models/rupture-minilm"
    config = json.loads((folder / "rupture_config.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    newer = copy.deepcopy(config)
    newer["training_args"].update(pooling="turn_and_mean", epoch_choice="client_and_stage", seed=7)
    options = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output
    for cfg, expected in ((config, {"--pooling": "mean", "--epoch-choice": "client", "--seed": "13"}),
                          (newer, {"--pooling": "turn_and_mean", "--epoch-choice": "client_and_stage", "--seed": "7"})):
        card = render_card(cfg, metrics, metrics["split_sizes"])
        words = shlex.split(re.search(r"`(rupture-nlp train [^`]*)`", card).group(1))[2:]
        flags = dict(zip(words[::2], words[1::2]))
        assert {k: flags[k] for k in expected} == expected  # a model without epoch_choice predates it: "client"
        assert flags["--epochs"] == str(cfg["training_args"]["epochs"])
        assert all(flag in options for flag in flags)  # every option the card names exists
