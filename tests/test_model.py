"""The transformer coder with a tiny model: trains, saves, reloads and predicts in seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rupture_nlp.baseline import BaselineCoder
from rupture_nlp.coder import CLASSES
from rupture_nlp.labels import check_code
from rupture_nlp.model import ModelLoadError, TransformerCoder
from rupture_nlp.train import TrainingArguments, train

from tiny_model import make_tiny_base, toy_records


@pytest.fixture(scope="module")
def tiny_trained(tmp_path_factory):
    base = make_tiny_base(tmp_path_factory.mktemp("base"))
    out = tmp_path_factory.mktemp("model") / "tiny"
    records = toy_records()
    args = TrainingArguments(epochs=3, batch_size=8, learning_rate=5e-3, head_learning_rate=1e-2, max_length=48, threads=1)
    coder = train(records, records[:20], out, base, args, log=lambda *_: None)
    return coder, out, records


def test_trains_saves_reloads_and_predicts_the_same(tiny_trained):
    coder, out, records = tiny_trained
    again = TransformerCoder.load(out)
    np.testing.assert_allclose(again.predict_proba(records), coder.predict_proba(records), atol=2e-2)
    assert again.predict(records) == coder.predict(records) or np.mean(
        np.array(again.predict(records)) == np.array(coder.predict(records))) > 0.9
    config = json.loads((out / "rupture_config.json").read_text())
    assert config["labels"]["marker"] == ["none", "confrontation", "withdrawal"] and config["train_data_hash"]


@pytest.mark.parametrize("make", ["tiny", "baseline"])
def test_probabilities_sum_to_one_within_the_turn_role(tiny_trained, make):
    coder, _, records = tiny_trained
    if make == "baseline":
        coder = BaselineCoder().fit(records * 2)
    probs = coder.predict_proba(records)
    assert probs.shape == (len(records), len(CLASSES)) and coder.classes_ == CLASSES
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    for record, row in zip(records, probs):
        other = [j for j, c in enumerate(CLASSES) if not c.startswith(record["role"])]
        assert row[other].sum() == 0.0


def test_code_output_validates_against_the_codebook(tiny_trained, conversation_files):
    from rupture_nlp.io import read_sessions

    coder, _, _ = tiny_trained
    (session,) = read_sessions(conversation_files["txt"])
    codings = coder.code(session)
    assert len(codings) == len(session.turns)
    for turn, coding in zip(session.turns, codings):
        assert check_code(turn.role, coding.marker, coding.subtype, coding.stage) is None
        key = "marker" if turn.role == "client" else "stage"
        assert sum(coding.probs[key].values()) == pytest.approx(1.0, abs=1e-3)


def test_baseline_learns_the_toy_signal():
    records = toy_records(8)
    coder = BaselineCoder().fit(records)
    accuracy = np.mean([p.split(":")[1] == (r["marker"] or r["stage"]) for p, r in zip(coder.predict(records), records)])
    assert accuracy > 0.9


def test_missing_or_corrupt_checkpoint_gives_a_clear_error(tmp_path, tiny_trained):
    with pytest.raises(ModelLoadError, match="no rupture_config.json"):
        TransformerCoder.load(tmp_path)
    _, out, _ = tiny_trained
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in out.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(ModelLoadError, match="corrupt"):
        TransformerCoder.load(broken)


def test_code_command_writes_one_file_a_session_and_a_manifest(tiny_trained, conversation_files, tmp_path):
    from typer.testing import CliRunner

    from rupture_nlp.cli import app

    _, model_dir, _ = tiny_trained
    bad = tmp_path / "broken.vtt"
    bad.write_text("not a vtt")
    out = tmp_path / "coded"
    result = CliRunner().invoke(app, ["code", str(conversation_files["srt"]), str(conversation_files["docx"]), str(bad),
                                      "-o", str(out), "--model", str(model_dir)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [o["session_id"] for o in manifest["outputs"]] == ["conversation", "conversation"] or len(manifest["outputs"]) == 2
    assert manifest["errors"][0]["input"] == str(bad) and manifest["model"]["fingerprint"]
    rows = [json.loads(line) for line in (out / "conversation.jsonl").read_text().splitlines()]
    for row in rows:
        assert {"session_id", "turn", "speaker", "role", "text", "marker", "subtype", "stage", "probs"} <= set(row)
        assert check_code(row["role"], row["marker"], row["subtype"], row["stage"]) is None


def test_code_with_a_missing_model_is_a_clear_error(conversation_files, tmp_path):
    from typer.testing import CliRunner

    from rupture_nlp.cli import app

    result = CliRunner().invoke(app, ["code", str(conversation_files["txt"]), "-o", str(tmp_path / "o"), "--model", str(tmp_path)])
    assert result.exit_code == 2 and "no rupture_config.json" in result.output and "Traceback" not in result.output


def test_session_ids_never_write_outside_the_output_folder(tmp_path):
    from rupture_nlp.coding_io import safe_name, write_coded
    from rupture_nlp.types import Coding, Session, Turn

    for hostile in ("../../etc/passwd", "/abs/path", "..", "a/b\\c", ""):
        session = Session(session_id=hostile, turns=[Turn(index=0, speaker="T", role="therapist", text="hi")])
        path = write_coded(session, [Coding(stage="none")], tmp_path / "out")
        assert path.resolve().parent == (tmp_path / "out").resolve(), hostile
        assert "/" not in safe_name(hostile) and not safe_name(hostile).startswith(".")


def test_coding_opens_no_network_socket(tiny_trained, conversation_files, monkeypatch):
    import socket

    from rupture_nlp.io import read_sessions

    def refuse(*args, **kwargs):
        raise AssertionError("a network socket was opened")

    coder, model_dir, _ = tiny_trained
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    again = TransformerCoder.load(model_dir)
    (session,) = read_sessions(conversation_files["txt"])
    assert len(again.code(session)) == len(session.turns)


class _EchoEncoder(torch.nn.Module):
    """Stands in for an encoder: its 'hidden state' of a token is the token id, so pooled values are checkable."""

    class config:  # noqa: N801 - mimics a transformers config
        hidden_size = 1
        type_vocab_size = 2

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        return type("Out", (), {"last_hidden_state": input_ids.unsqueeze(-1).float()})()


def test_turn_and_mean_pooling_puts_the_turns_own_average_beside_the_whole():
    from rupture_nlp.model import RuptureNet

    net = RuptureNet(_EchoEncoder(), dropout=0.0, pooling="turn_and_mean").eval()
    seen = []
    net.marker.register_forward_hook(lambda _m, inputs, _o: seen.append(inputs[0]))
    ids = torch.tensor([[2, 10, 3, 40, 50, 3, 0, 0]])  # [CLS] turn [SEP] | context [SEP] | padding
    types = torch.tensor([[0, 0, 0, 1, 1, 1, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0]])
    net(ids, mask, types)
    turn_mean, whole_mean = seen[0][0].tolist()
    assert turn_mean == pytest.approx((2 + 10 + 3) / 3)  # padding (type 0 too) is left out by the mask
    assert whole_mean == pytest.approx((2 + 10 + 3 + 40 + 50 + 3) / 6)


def test_an_unknown_pooling_is_refused():
    from rupture_nlp.model import RuptureNet

    with pytest.raises(ValueError, match="unknown pooling"):
        RuptureNet(_EchoEncoder(), pooling="max")


def test_a_turn_and_mean_model_reloads_with_its_pooling(tmp_path):
    base = make_tiny_base(tmp_path / "base")
    records = toy_records(2)
    args = TrainingArguments(epochs=1, batch_size=8, max_length=48, threads=1, pooling="turn_and_mean")
    coder = train(records, records[:10], tmp_path / "m", base, args, log=lambda *_: None)
    again = TransformerCoder.load(tmp_path / "m")
    assert again.net.pooling == "turn_and_mean" and again.config["pooling"] == "turn_and_mean"
    np.testing.assert_allclose(again.predict_proba(records), coder.predict_proba(records), atol=2e-2)
