"""Inference backends with the tiny model: quantized and ONNX outputs agree with fp32, the
ONNX export is cached (and falls back when the model folder cannot be written), batches
keep to their token budget, thread settings respect the caller, `code --backend` works."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from rupture_nlp.model import ModelLoadError, TransformerCoder, token_batches
from rupture_nlp.threads import configure_threads, physical_cores

from tiny_model import toy_records, train_tiny

HAVE_ONNX = all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx", "onnxscript"))
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="ONNX backends need the fast extra: pip install 'rupture-nlp[fast]'")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny model trained on the toy records (distinct logits, so argmax agreement means something)."""
    out = train_tiny(tmp_path_factory.mktemp("model"), epochs=3)
    records = toy_records()
    varied = records + [dict(records[1], context=["therapist: " + "how do you feel " * 12] * 3)]  # one truncated turn
    return out, varied


def agree_with_fp32(folder, records, backend, atol):
    reference = TransformerCoder.load(folder, backend="torch").predict_proba(records)
    probs = TransformerCoder.load(folder, backend=backend).predict_proba(records)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs, reference, atol=atol)
    assert np.mean(probs.argmax(axis=1) == reference.argmax(axis=1)) >= 0.9
    return probs


def test_bf16_agrees_with_fp32(tiny):
    folder, records = tiny
    agree_with_fp32(folder, records, "bf16", atol=0.02)


def test_bf16_casts_the_encoder_once_and_keeps_the_heads_fp32(tiny):
    coder = TransformerCoder.load(tiny[0], backend="bf16")
    assert {p.dtype for p in coder.net.encoder.parameters()} == {torch.bfloat16}
    assert {p.dtype for head in (coder.net.marker, coder.net.subtype, coder.net.stage)
            for p in head.parameters()} == {torch.float32}
    marker, _, _ = coder.logits(tiny[1])
    assert marker.dtype == np.float32 and np.isfinite(marker).all()


@pytest.mark.slow
def test_bf16_compiled_agrees_with_fp32_on_lengths_it_was_not_compiled_for(tiny):
    folder, records = tiny  # compiled at load on a 2 x 16 batch; the records are longer and batched otherwise
    probs = agree_with_fp32(folder, records, "bf16-compiled", atol=0.02)
    np.testing.assert_allclose(probs, TransformerCoder.load(folder, backend="bf16").predict_proba(records), atol=0.02)
    coder = TransformerCoder.load(folder, backend="bf16-compiled")
    with torch._dynamo.config.patch(error_on_recompile=True):  # a one-turn batch must not compile again mid-run
        one = coder.logits(records[-1:])[0]
        assert one.shape == (1, 3) and np.isfinite(one).all()


def test_bf16_compiled_without_a_compiler_is_a_clear_error_at_load(tiny, monkeypatch):
    def no_compiler(net, **_):
        def fail(**__):
            raise RuntimeError("Compiler: cc is not found.")
        return fail

    monkeypatch.setattr(torch, "compile", no_compiler)
    with pytest.raises(ModelLoadError, match="cc is not found.*needs a C\\+\\+ compiler.*--backend bf16"):
        TransformerCoder.load(tiny[0], backend="bf16-compiled")


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "torch")])
def test_auto_runs_bf16_only_where_the_cpu_has_it(tiny, monkeypatch, native, expected):
    import rupture_nlp.backends as backends

    monkeypatch.setattr(backends, "native_bf16", lambda: native)
    coder = TransformerCoder.load(tiny[0])  # the default backend is auto
    assert coder.backend == expected
    assert type(coder.runner) is (backends.Bf16Runner if native else backends.TorchRunner)


def test_torch_int8_agrees_with_fp32(tiny):
    folder, records = tiny
    agree_with_fp32(folder, records, "int8", atol=0.1)


@needs_onnx
def test_onnx_matches_fp32_and_is_cached_beside_the_model(tiny):
    folder, records = tiny
    agree_with_fp32(folder, records, "onnx", atol=1e-4)
    exported = folder / "onnx" / "model.onnx"
    stamp = exported.stat().st_mtime_ns
    coder = TransformerCoder.load(folder, backend="onnx")  # second load reuses the export
    assert exported.stat().st_mtime_ns == stamp and coder.runner.path == exported
    single = coder.logits(records[:1])[0]  # batch of one, other length than the export's example
    np.testing.assert_allclose(single, TransformerCoder.load(folder, backend="torch").logits(records[:1])[0], atol=1e-4)


@needs_onnx
def test_onnx_int8_agrees_with_fp32(tiny):
    folder, records = tiny
    agree_with_fp32(folder, records, "onnx-int8", atol=0.1)
    assert (folder / "onnx" / "model.int8.onnx").is_file()


@needs_onnx
def test_unwritable_model_folder_falls_back_to_the_user_cache(tiny, tmp_path, monkeypatch):
    folder, records = tiny
    locked = tmp_path / "locked"
    shutil.copytree(folder, locked, ignore=shutil.ignore_patterns("onnx"))
    (locked / "onnx").write_text("a file where the cache folder would go: mkdir fails as on a read-only install")
    monkeypatch.setenv("RUPTURE_CACHE_DIR", str(tmp_path / "cache"))
    coder = TransformerCoder.load(locked, backend="onnx")
    assert coder.runner.path.parent.parent == tmp_path / "cache" and coder.runner.path.parent.name.startswith("onnx-")
    assert coder.predict(records) == TransformerCoder.load(locked).predict(records)


def test_unknown_backend_is_a_clear_load_error(tiny):
    with pytest.raises(ModelLoadError, match="unknown backend 'fp8'.*auto, torch, bf16, bf16-compiled, int8, onnx, onnx-int8"):
        TransformerCoder.load(tiny[0], backend="fp8")


def test_token_batches_keep_the_budget_and_every_turn_once():
    lengths = [5, 90, 12, 12, 40, 7, 96, 3, 64, 33] * 7
    batches = token_batches(lengths, budget=256)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or max(lengths[i] for i in batch) * len(batch) <= 256
    widths = [max(lengths[i] for i in batch) for batch in batches]
    assert widths == sorted(widths)  # length-sorted, so padding stays small


def test_padding_rounds_up_to_a_block_width_and_masks_only_the_padding():
    from rupture_nlp.model import pad_batch

    items = [{"input_ids": [5] * n, "token_type_ids": [1] * n} for n in (3, 9)]
    batch = pad_batch(items, pad_id=0, multiple=8)
    assert batch["input_ids"].shape == (2, 16)
    assert batch["attention_mask"].sum(axis=1).tolist() == [3, 9]
    assert (batch["input_ids"][1, 9:] == 0).all() and (batch["token_type_ids"][0, 3:] == 0).all()
    assert pad_batch(items, pad_id=0, multiple=1)["input_ids"].shape == (2, 9)


def test_threads_follow_the_caller(monkeypatch):
    before = torch.get_num_threads()
    try:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("RUPTURE_THREADS", "1")
        assert configure_threads() == 1
        monkeypatch.delenv("RUPTURE_THREADS")
        torch.set_num_threads(1)  # a caller who chose fewer threads keeps them
        assert configure_threads() == 1
        torch.set_num_threads(physical_cores() + 3)  # more threads than cores: capped
        assert configure_threads() == physical_cores()
    finally:
        torch.set_num_threads(before)


def test_code_command_takes_a_backend(tiny, conversation_files, tmp_path):
    from typer.testing import CliRunner

    from rupture_nlp.cli import app

    folder, _ = tiny
    runner = CliRunner()
    out = tmp_path / "coded"
    result = runner.invoke(app, ["code", str(conversation_files["txt"]), "-o", str(out), "--model", str(folder),
                                 "--backend", "int8"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["backend"] == "int8" and manifest["sessions"] == 1
    assert len(Path(manifest["outputs"][0]["output"]).read_text().splitlines()) > 3
    bad = runner.invoke(app, ["code", str(conversation_files["txt"]), "-o", str(tmp_path / "x"), "--model", str(folder),
                              "--backend", "gpu"])
    assert bad.exit_code == 2 and "unknown backend 'gpu'" in bad.output and "Traceback" not in bad.output


def test_missing_fast_extra_names_the_install_command(tiny, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(ModelLoadError, match=r"need onnxscript: pip install 'rupture-nlp\[fast\]'"):
        TransformerCoder.load(tiny[0], backend="onnx-int8")
