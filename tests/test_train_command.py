"""`rupture-nlp train --data`: a researcher's own corpus folder, trained end to end with a tiny encoder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rupture_nlp.cli import app
from script_module import load_script
from tiny_model import make_tiny_base, toy_records

runner = CliRunner()


def write_corpus(root: Path, splits: dict[str, str] | None) -> Path:
    """The toy sessions laid out as authored sessions of a corpus folder like the project's data/."""
    data = root / "data"
    for sub in ("authored/sessions", "authored/meta", "labels/authored/coder_a"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    sessions: dict[str, list[dict]] = {}
    for record in toy_records(n_sessions=6):
        sessions.setdefault(record["session_id"], []).append(record)
    for sid, records in sessions.items():
        label = {"therapist": "Therapist", "client": "Client"}
        (data / f"authored/sessions/{sid}.txt").write_text("".join(f"{label[r['role']]}: {r['text']}\n" for r in records))
        (data / f"authored/meta/{sid}.json").write_text(json.dumps({
            "session_id": sid, "modality": "cbt", "channel": "in_person", "setting": "training_clinic",
            "dialect_group": records[0]["dialect_group"], "speakers": {"Therapist": "therapist", "Client": "client"}}))
        with open(data / f"labels/authored/coder_a/{sid}.tsv", "w", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t")
            writer.writerow(["turn", "speaker", "marker", "subtype", "stage"])
            for k, r in enumerate(records):
                writer.writerow([k, label[r["role"]], r["marker"], r["subtype"], r["stage"]])
    if splits is not None:
        (data / "splits.json").write_text(json.dumps(splits))
    return data


def test_train_on_a_corpus_folder_writes_a_model_with_its_card(tmp_path):
    data = write_corpus(tmp_path, {"s0": "dev", "s1": "test", "s2": "train", "s3": "train", "s4": "train", "s5": "test"})
    base = make_tiny_base(tmp_path / "base")
    out = tmp_path / "model"
    result = runner.invoke(app, ["train", "--data", str(data), "--base", str(base), "--epochs", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "turns: train 30, dev 10, test 20" in result.output  # 10 turns a session, split as splits.json says
    config = json.loads((out / "rupture_config.json").read_text())
    assert config["train_turns"] == 30 and config["dev_turns"] == 10
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["transformer"]["all"]["sessions"] == 2
    assert (out / "README.md").exists() and (out / "model.safetensors").exists()


@pytest.mark.parametrize("splits, missing", [(None, "dev"), ({"s0": "test", "s1": "test"}, "dev"),
                                             ({"s0": "dev", "s1": "dev"}, "test")])
def test_a_corpus_without_dev_or_test_sessions_is_refused_before_training(tmp_path, splits, missing):
    data = write_corpus(tmp_path, splits)
    out = tmp_path / "model"
    result = runner.invoke(app, ["train", "--data", str(data), "--base", str(tmp_path / "unused"), "-o", str(out)])
    assert result.exit_code == 2
    assert "splits.json" in result.output and f"the {missing} split has no coded" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_split_deals_a_corpus_folder_so_it_can_be_trained(tmp_path):
    data = write_corpus(tmp_path, None)
    result = runner.invoke(app, ["split", "--data", str(data)])
    assert result.exit_code == 0, result.output
    splits = json.loads((data / "splits.json").read_text())
    assert sorted(splits) == [f"s{k}" for k in range(6)]
    assert {"train", "dev", "test"} <= set(splits.values())
    assert "6 new session(s) assigned" in result.output
    again = runner.invoke(app, ["split", "--data", str(data)])
    assert "0 new session(s)" in again.output and json.loads((data / "splits.json").read_text()) == splits


def test_split_names_training_only_sessions_that_were_dealt_before_they_were_marked(tmp_path):
    data = write_corpus(tmp_path, None)
    runner.invoke(app, ["split", "--data", str(data)])
    splits = json.loads((data / "splits.json").read_text())
    held_out = next(sid for sid, split in splits.items() if split != "train")
    meta = data / f"authored/meta/{held_out}.json"
    meta.write_text(json.dumps(dict(json.loads(meta.read_text()), purpose="training")))
    result = runner.invoke(app, ["split", "--data", str(data)])
    assert result.exit_code == 0 and held_out in result.output and "keep that split" in result.output
    assert json.loads((data / "splits.json").read_text()) == splits  # nothing moved


def test_split_of_a_missing_folder_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["split", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a folder" in result.output


def test_a_missing_corpus_folder_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "nowhere"), "-o", str(tmp_path / "model")])
    assert result.exit_code == 2 and "not a folder" in result.output


@pytest.mark.parametrize("option, value", [("--pooling", "max"), ("--epoch-choice", "stage")])
def test_an_unknown_training_choice_is_refused_before_training(tmp_path, option, value):
    result = runner.invoke(app, ["train", option, value, "-o", str(tmp_path / "model")])
    assert result.exit_code == 2 and f"{option} {value}" in result.output and not (tmp_path / "model").exists()


def test_the_epoch_is_judged_on_both_heads_of_dev():
    """`dev_macro_f1` scores the marker head on client turns and the stage head on therapist turns."""
    import numpy as np

    from rupture_nlp.labels import MARKERS, STAGES
    from rupture_nlp.train import dev_macro_f1

    class ScriptedCoder:  # argmax of its logits is the label written in each record's "says"
        def logits(self, records):
            marker = np.zeros((len(records), len(MARKERS)))
            stage = np.zeros((len(records), len(STAGES)))
            for row, record in enumerate(records):
                (marker if record["role"] == "client" else stage)[row, (MARKERS if record["role"] == "client"
                                                                        else STAGES).index(record["says"])] = 1
            return marker, np.zeros((len(records), 1)), stage

    dev = [{"role": "client", "marker": "none", "says": "none"},
           {"role": "client", "marker": "confrontation", "says": "confrontation"},
           {"role": "client", "marker": "withdrawal", "says": "none"},
           {"role": "therapist", "stage": "none", "says": "none"},
           {"role": "therapist", "stage": "affirming", "says": "none"},
           {"role": "therapist", "stage": "repairing", "says": "repairing"}]
    client, stage = dev_macro_f1(ScriptedCoder(), dev)
    # client: none F1 2/3, confrontation 1, withdrawal 0 -> 5/9;
    # stage: none F1 2/3, repairing 1, affirming and the four never seen 0 -> (5/3)/7
    assert client == pytest.approx(5 / 9) and stage == pytest.approx(5 / 21)
    assert dev_macro_f1(ScriptedCoder(), dev[:3])[1] == 0.0  # no therapist turns: nothing to score


def test_the_epoch_is_kept_by_both_heads_unless_the_client_rule_is_asked_for():
    from rupture_nlp.train import epoch_score

    later = (0.70, 0.65)  # a later epoch: client slightly lower, stage much higher
    earlier = (0.72, 0.55)
    assert epoch_score(*later, "client_and_stage") > epoch_score(*earlier, "client_and_stage")
    assert epoch_score(*later, "client") < epoch_score(*earlier, "client")


def test_an_unknown_epoch_choice_is_refused_by_the_training_function():
    from rupture_nlp.train import TrainingArguments, train

    with pytest.raises(ValueError, match="epoch_choice 'loss'"):
        train([], [], args=TrainingArguments(epoch_choice="loss"))


@pytest.mark.parametrize("content, says", [
    ('{"s0": "validation"}', "session 's0' is assigned to 'validation'"),
    ('["s0", "s1"]', "expected a JSON object, found a list"),
    ('{"s0": "dev",}', "splits.json:1: not valid JSON"),
])
def test_a_hand_edited_splits_file_that_is_wrong_is_named_in_a_clear_error(tmp_path, content, says):
    data = write_corpus(tmp_path, None)
    (data / "splits.json").write_text(content)
    result = runner.invoke(app, ["train", "--data", str(data), "-o", str(tmp_path / "model")])
    assert result.exit_code == 2 and says in result.output, result.output
    assert "Traceback" not in result.output


def test_a_session_meta_file_that_is_not_json_is_named_with_its_line(tmp_path):
    data = write_corpus(tmp_path, None)
    (data / "authored/meta/s3.json").write_text('{\n  "session_id": "s3",\n  "modality": cbt\n}')
    result = runner.invoke(app, ["train", "--data", str(data), "-o", str(tmp_path / "model")])
    assert result.exit_code == 2 and "s3.json:3: not valid JSON" in result.output, result.output


def test_compare_models_never_lets_a_model_replace_itself(tmp_path, monkeypatch, capsys):
    """The replacement rule of docs/model-selection.md: the paired interval must lie above zero."""
    import sys

    from tiny_model import train_tiny

    data = write_corpus(tmp_path, {"s0": "dev", "s1": "dev", "s2": "train", "s3": "train", "s4": "test", "s5": "dev"})
    model = train_tiny(tmp_path)
    compare = load_script("compare_models")
    monkeypatch.setattr(sys, "argv", ["compare_models.py", str(model), str(model), "--data", str(data), "--bootstrap", "50"])
    compare.main()
    out = capsys.readouterr().out
    assert "difference of the mean +0.000, 95 % interval [+0.000, +0.000]" in out
    assert "does not replace the shipped model" in out
