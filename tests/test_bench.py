"""The benchmark: its pipeline baseline computes exactly what the engine computes, the FLOP
count is right, and `bench --json` prints one JSON object with the agreed keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rupture_nlp.bench import JSON_KEYS, combine_rounds, default_quantized, model_flops, run_bench, rupture_pipeline, summary
from rupture_nlp.model import RuptureNet, TransformerCoder

from tiny_model import make_tiny_base, toy_records

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_untrained(tmp_path_factory) -> Path:
    """A tiny checkpoint saved straight from its config (speed and equality need no training)."""
    from transformers import AutoModel, AutoTokenizer

    base = make_tiny_base(tmp_path_factory.mktemp("base"))
    net = RuptureNet(AutoModel.from_pretrained(str(base)))
    folder = tmp_path_factory.mktemp("model") / "tiny"
    TransformerCoder(net, AutoTokenizer.from_pretrained(str(base)), {"max_length": 48, "context_turns": 3}).save(folder)
    return folder


def test_pipeline_baseline_computes_the_engines_logits(tiny_untrained):
    coder = TransformerCoder.load(tiny_untrained, backend="torch")  # the pipeline runs fp32
    records = toy_records(2) + [dict(toy_records(1)[1], context=["client: " + "i feel fine " * 30])]
    expected = coder.logits(records)[0]
    for batch_size in (1, 32):
        out = rupture_pipeline(coder, batch_size)(records, function_to_apply="none", top_k=None)
        got = np.array([[{d["label"]: d["score"] for d in row}[m] for m in ("none", "confrontation", "withdrawal")]
                        for row in out])
        np.testing.assert_allclose(got, expected, atol=1e-4)


def test_model_flops_counts_matmuls_and_attention():
    class Config:
        hidden_size, intermediate_size, num_hidden_layers = 4, 8, 2

    # per layer: 4·16 + 2·32 = 128 matmul parameters; 2 layers → 256; tokens 3: 2·256·3 + 2·4·9·4 + 2·4·5
    assert model_flops(Config, [3], head_outputs=5) == 2 * 256 * 3 + 2 * 4 * 9 * 4 + 2 * 4 * 5
    assert model_flops(Config, [3, 3], head_outputs=5) == model_flops(Config, [3], head_outputs=5)


def test_summary_has_exactly_the_agreed_keys():
    runs = {c: {"turns_per_s": 10.0 + i} for i, c in enumerate(("pipeline_b1", "pipeline_b32", "engine", "engine_quantized"))}
    out = summary({"turns": 5, "runs": runs, "limit_fraction": 0.3, "peak_rss_mb": 500.0})
    assert tuple(out) == JSON_KEYS and out["engine"] == 12.0


@pytest.mark.slow
def test_bench_json_prints_one_object(tiny_untrained):
    env = dict(os.environ, PYTHONPATH=str(ROOT), RUPTURE_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "rupture_nlp", "bench", "--json", "--turns", "20", "--rounds", "2",
                           "--model", str(tiny_untrained)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)  # the whole stdout is one JSON object
    assert tuple(result) == JSON_KEYS and result["turns"] == 20
    assert all(result[k] > 0 for k in JSON_KEYS)
    assert 0 < result["peak_rss_mb"] < 4000
    assert f"reduced-precision backend: {default_quantized()}" in done.stderr  # named in the log



def test_rounds_report_medians_and_ratios_paired_within_a_round():
    def run(speed, rss=100.0):
        return {"turns_per_s": speed, "seconds": 100 / speed, "peak_rss_mb": rss, "backend": "torch"}

    # The machine slows down in round 2 for every configuration: the per-round ratios stay 3x and 2x,
    # while ratios of medians taken apart would mix a fast round with a slow one.
    rounds = [{"pipeline_b1": run(40), "pipeline_b32": run(60), "engine": run(80), "engine_quantized": run(120)},
              {"pipeline_b1": run(20), "pipeline_b32": run(30), "engine": run(40), "engine_quantized": run(60, 900.0)},
              {"pipeline_b1": run(50), "pipeline_b32": run(50), "engine": run(100), "engine_quantized": run(150)}]
    runs, ratios = combine_rounds(rounds)
    assert runs["engine_quantized"]["turns_per_s"] == 120 and runs["engine_quantized"]["rounds"] == [120, 60, 150]
    assert runs["engine_quantized"]["peak_rss_mb"] == 900.0  # the highest round, not the median
    assert ratios[("engine_quantized", "pipeline_b1")] == [3.0, 3.0, 3.0]
    assert ratios[("engine_quantized", "pipeline_b32")] == [2.0, 2.0, 3.0]
    assert ratios[("engine", "pipeline_b1")] == [2.0, 2.0, 2.0]


def test_the_benchmark_refuses_zero_rounds():
    with pytest.raises(ValueError, match="--rounds 0"):
        run_bench(turns=10, rounds=0)
