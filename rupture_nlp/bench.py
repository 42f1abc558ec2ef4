"""`rupture-nlp bench`: how fast the coder runs, against the stock `transformers` pipeline.

On one fixed set of turns (by default 2,000 test-split turns with their context — the
records the model reads; authored sessions only when AnnoMI is absent), each configuration
runs in its own subprocess, so its peak RSS is its own:

- `pipeline_b1` / `pipeline_b32`: a `text-classification` pipeline, batch size 1 / 32, over
  the same checkpoint wrapped as a `PreTrainedModel`; its `preprocess` calls our `encode`
  for its one turn, so it sees the same strings, max length and truncation;
- `engine`: `TransformerCoder.logits` with the fp32 torch backend (one tokenizer call,
  length-sorted batches under a token budget, dynamic padding);
- `engine_quantized`: the same engine on a reduced-precision backend: `bf16` (the default
  `auto` backend) where the CPU has bf16 instructions, else int8 (ONNX Runtime when the
  `fast` extra is there, else torch).

The four configurations run in rounds (`--rounds`, default 3): each round runs all four, one
after the other, so the configurations a ratio compares ran minutes apart, not one at the
start and one at the end of the run. A shared or virtual machine drifts by 10-20 % over
minutes (measured: pipeline batch 32 at 57 and 69 turns/s in two runs an hour apart), which
moves a ratio of two single runs across a 2x or 3x threshold. Each configuration's speed is
the median of its rounds; each ratio is the median of its per-round ratios, printed with the
lowest and highest round.

Speed is turns per second, tokenization included; loading the model (and compiling it, for
`bf16-compiled`) is timed apart as `load s`. The CPU's limit is estimated as the
model's FLOPs per turn (from the real token counts) times turns/s over the FLOP/s of a large
`torch.mm` with the same threads, in the engine's own arithmetic (fp32 for `engine`, bf16 for
`bf16`): the fraction says how much of the machine each engine uses. int8 has no matching
`torch.mm`, so an int8 engine is set against fp32 and can pass 1.0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CONFIGS = ("pipeline_b1", "pipeline_b32", "engine", "engine_quantized")
JSON_KEYS = ("turns", "pipeline_b1", "pipeline_b32", "engine", "engine_quantized", "limit_fraction", "peak_rss_mb")


def default_quantized() -> str:
    """The reduced-precision backend to measure: bf16 where the CPU has it in hardware (what
    `auto` runs), else ONNX Runtime int8 when the `fast` extra is there, else torch int8."""
    import importlib.util

    from rupture_nlp.backends import native_bf16

    if native_bf16():
        return "bf16"
    return "onnx-int8" if all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx", "onnxscript")) else "int8"


def bench_records(turns: int, context_turns: int) -> tuple[list[dict], str]:
    """`turns` test-split records (repeated in order if the split is smaller) and where they came from."""
    from rupture_nlp.corpus import annomi_dir
    from rupture_nlp.training_run import split_records

    test = split_records(None, context_turns)["test"]
    if not test:
        raise ValueError("no test-split turns found (data/splits.json and data/authored/ are needed)")
    source = "test split (authored + AnnoMI)" if annomi_dir() else "test split (authored sessions only; AnnoMI absent)"
    records = [test[i % len(test)] for i in range(turns)]
    return [{"role": r["role"], "text": r["text"], "context": r["context"]} for r in records], source


def model_flops(encoder_config, lengths: list[int], head_outputs: int) -> float:
    """Mean FLOPs a turn: 2 × matmul parameters × tokens + attention scores and mixing (4 × L² × hidden a layer)."""
    h, f, layers = encoder_config.hidden_size, encoder_config.intermediate_size, encoder_config.num_hidden_layers
    matmul_params = layers * (4 * h * h + 2 * h * f)
    total = sum(2 * matmul_params * n + layers * 4 * n * n * h + 2 * h * head_outputs for n in lengths)
    return total / max(1, len(lengths))


def matmul_flops(size: int = 2048, seconds: float = 2.0, dtype: str = "float32") -> float:
    """Dense FLOP/s of `torch.mm` on size×size matrices of `dtype` with the current thread count (best of repeats)."""
    import torch

    a, b = (torch.randn(size, size).to(getattr(torch, dtype)) for _ in range(2))
    torch.mm(a, b)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * size ** 3 / (time.perf_counter() - start))
    return best


def rupture_pipeline(coder, batch_size: int):
    """A stock `text-classification` pipeline over the coder's network (same weights and inputs)."""
    import copy

    import torch
    from transformers import PreTrainedModel, TextClassificationPipeline
    from transformers.modeling_outputs import SequenceClassifierOutput

    from rupture_nlp.labels import MARKERS
    from rupture_nlp.model import encode

    config = copy.deepcopy(coder.net.encoder.config)
    config.num_labels = len(MARKERS)
    config.id2label, config.label2id = dict(enumerate(MARKERS)), {m: i for i, m in enumerate(MARKERS)}

    class RuptureForClassification(PreTrainedModel):
        config_class = type(config)
        base_model_prefix = "net"
        _supports_sdpa = True

        def __init__(self, config, net=None) -> None:
            super().__init__(config)
            self.net = net

        def forward(self, input_ids, attention_mask, token_type_ids=None, **_):
            marker, _, _ = self.net(input_ids, attention_mask, token_type_ids)  # all three heads run, as in the engine
            return SequenceClassifierOutput(logits=marker)

    class RupturePipeline(TextClassificationPipeline):
        def preprocess(self, inputs, **_):
            item = encode(self.tokenizer, [inputs], coder.max_length)[0]
            ids = torch.tensor([item["input_ids"]])
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                    "token_type_ids": torch.tensor([item["token_type_ids"]])}

    model = RuptureForClassification(config, coder.net).eval()
    return RupturePipeline(model=model, tokenizer=coder.tokenizer, batch_size=batch_size)


def run_config(name: str, records: list[dict], model: str | None, quantized: str) -> dict:
    """Time one configuration in this process: load, warm up on a few turns, then code all turns."""
    from rupture_nlp.model import TransformerCoder

    backend = quantized if name == "engine_quantized" else "torch"
    loading = time.perf_counter()
    coder = TransformerCoder.load(model, backend=backend)  # bf16-compiled compiles here: timed apart as load_seconds
    load_seconds = time.perf_counter() - loading
    if name.startswith("pipeline"):
        pipe = rupture_pipeline(coder, 1 if name == "pipeline_b1" else 32)
        run = lambda recs: pipe(recs, function_to_apply="none")  # noqa: E731
    else:
        run = coder.logits
    run(records[:32])
    start = time.perf_counter()
    run(records)
    seconds = time.perf_counter() - start
    return {"turns_per_s": len(records) / seconds, "seconds": seconds, "backend": backend,
            "load_seconds": load_seconds, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's own peak RSS. VmHWM where Linux has it: `ru_maxrss` of a spawned child
    can carry the peak of the process that forked it (here the benchmark's parent)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(argv: list[str]) -> None:
    """Entry point of one measuring subprocess: writes its result as JSON to --out."""
    parser = argparse.ArgumentParser()
    parser.add_argument("config", choices=CONFIGS + ("limit", "prepare"))
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--quantized", required=True)
    args = parser.parse_args(argv)
    from rupture_nlp.model import TransformerCoder, encode
    from rupture_nlp.threads import configure_threads

    records = json.loads(Path(args.inputs).read_text())
    if args.config == "prepare":  # build any cached export now, so no timed child pays for it
        coder = TransformerCoder.load(args.model, backend=args.quantized)
        lengths = [len(e["input_ids"]) for e in encode(coder.tokenizer, records, coder.max_length)]
        outputs = coder.net.marker.out_features + coder.net.subtype.out_features + coder.net.stage.out_features
        result = {"flops_per_turn": model_flops(coder.net.encoder.config, lengths, outputs),
                  "mean_tokens": sum(lengths) / len(lengths), "threads": configure_threads()}
    elif args.config == "limit":
        from rupture_nlp.backends import native_bf16

        threads = configure_threads()
        result = {"matmul_flops": matmul_flops(), "threads": threads,
                  "matmul_flops_bf16": matmul_flops(dtype="bfloat16") if native_bf16() else None}
    else:
        result = run_config(args.config, records, args.model, args.quantized)
    Path(args.out).write_text(json.dumps(result))


def _spawn(config: str, inputs: Path, model: str | None, quantized: str) -> dict:
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    out = inputs.with_name(f"{config}.json")
    command = [sys.executable, "-m", "rupture_nlp.bench", config, "--inputs", str(inputs), "--out", str(out),
               "--quantized", quantized] + (["--model", str(model)] if model else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"benchmark configuration {config} failed (exit {done.returncode}):\n{tail}")
    return json.loads(out.read_text())


RATIOS = (("engine", "pipeline_b1"), ("engine", "pipeline_b32"), ("engine_quantized", "pipeline_b1"),
          ("engine_quantized", "pipeline_b32"), ("engine_quantized", "engine"))


def combine_rounds(rounds: list[dict[str, dict]]) -> tuple[dict[str, dict], dict[tuple[str, str], list[float]]]:
    """Each configuration's figures over the rounds (median turns/s and seconds, highest peak RSS,
    every round's turns/s under `rounds`), and each ratio of `RATIOS` as
    `[median, lowest, highest]` of its per-round values (ratios paired within a round)."""
    runs = {}
    for config in rounds[0]:
        figures = [r[config] for r in rounds]
        runs[config] = dict(figures[0], turns_per_s=float(np.median([f["turns_per_s"] for f in figures])),
                            seconds=float(np.median([f["seconds"] for f in figures])),
                            load_seconds=float(np.median([f.get("load_seconds", 0.0) for f in figures])),
                            peak_rss_mb=max(f["peak_rss_mb"] for f in figures),
                            rounds=[f["turns_per_s"] for f in figures])
    ratios = {}
    for top, bottom in RATIOS:
        values = [r[top]["turns_per_s"] / r[bottom]["turns_per_s"] for r in rounds]
        ratios[(top, bottom)] = [float(np.median(values)), min(values), max(values)]
    return runs, ratios


def run_bench(turns: int = 2000, model: str | Path | None = None, quantized: str | None = None, log=None,
              rounds: int = 3) -> dict:
    """Run every configuration in its own subprocess on the same records, `rounds` times
    interleaved; returns all figures (see `combine_rounds`)."""
    if rounds < 1:
        raise ValueError(f"--rounds {rounds}: at least one round is needed")
    from rupture_nlp.model import DEFAULT_MODEL_DIR, RUPTURE_CONFIG

    log = log or (lambda message: print(message, file=sys.stderr))
    quantized = quantized or default_quantized()
    folder = Path(model) if model else DEFAULT_MODEL_DIR
    context_turns = int(json.loads((folder / RUPTURE_CONFIG).read_text()).get("context_turns", 4))
    records, source = bench_records(turns, context_turns)
    with tempfile.TemporaryDirectory(prefix="rupture-bench-") as scratch:
        inputs = Path(scratch) / "inputs.json"
        inputs.write_text(json.dumps(records))
        log(f"{turns} turns from the {source}; reduced-precision backend: {quantized}")
        prepared = _spawn("prepare", inputs, model, quantized)
        measured = []
        for round_number in range(1, rounds + 1):
            measured.append({})
            for config in CONFIGS:
                try:
                    run = measured[-1][config] = _spawn(config, inputs, model, quantized)
                except RuntimeError as exc:
                    raise RuntimeError(f"round {round_number}/{rounds}: {exc}") from None
                log(f"round {round_number}/{rounds}  {config:17} {run['turns_per_s']:8.1f} turns/s  "
                    f"peak RSS {run['peak_rss_mb']:6.0f} MB")
        limit = _spawn("limit", inputs, model, quantized)
    runs, ratios = combine_rounds(measured)
    fractions = {config: prepared["flops_per_turn"] * runs[config]["turns_per_s"] / engine_limit(limit, runs[config])
                 for config in ("engine", "engine_quantized")}
    best = max(fractions, key=lambda config: runs[config]["turns_per_s"])
    return {"turns": turns, "source": source, "quantized_backend": quantized, "threads": limit["threads"],
            "mean_tokens": prepared["mean_tokens"], "flops_per_turn": prepared["flops_per_turn"],
            "matmul_flops": limit["matmul_flops"], "matmul_flops_bf16": limit.get("matmul_flops_bf16"), "runs": runs,
            "limit_fractions": fractions, "limit_fraction": fractions[best], "rounds": rounds,
            "ratios": {f"{top}/{bottom}": values for (top, bottom), values in ratios.items()},
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs.values())}


def engine_limit(limit: dict, run: dict) -> float:
    """The matmul FLOP/s an engine run is measured against: bf16's for the bf16 backend, else fp32's."""
    if run["backend"].startswith("bf16") and limit.get("matmul_flops_bf16"):
        return limit["matmul_flops_bf16"]
    return limit["matmul_flops"]


def summary(result: dict) -> dict:
    """The one JSON object `--json` prints (turns/s a configuration)."""
    out = {"turns": result["turns"]}
    out.update({config: round(result["runs"][config]["turns_per_s"], 2) for config in CONFIGS})
    out["limit_fraction"] = round(result["limit_fraction"], 4)
    out["peak_rss_mb"] = round(result["peak_rss_mb"], 1)
    return {key: out[key] for key in JSON_KEYS}


def format_table(result: dict) -> str:
    """The per-configuration table, the speed ratios and the FLOP estimate, as text."""
    import pandas as pd

    runs, quantized = result["runs"], result["quantized_backend"]
    table = pd.DataFrame({config: {"turns/s": round(r["turns_per_s"], 1),
                                   "rounds": " / ".join(f"{x:.1f}" for x in r["rounds"]),
                                   "seconds": round(r["seconds"], 1), "load s": round(r["load_seconds"], 1),
                                   "backend": r["backend"] if config.startswith("engine") else "torch (pipeline)",
                                   "peak RSS MB": round(r["peak_rss_mb"])}
                          for config, r in runs.items()}).T
    names = {"engine": "engine fp32", "engine_quantized": quantized, "pipeline_b1": "pipeline b1",
             "pipeline_b32": "pipeline b32"}
    lines = [
        f"{result['turns']} turns from the {result['source']}, mean {result['mean_tokens']:.1f} tokens a turn, "
        f"{result['threads']} threads; median of {result['rounds']} interleaved round(s)",
        table.to_string(),
        "",
    ]
    for key, (median, low, high) in result["ratios"].items():
        top, bottom = key.split("/")
        spread = f"  (rounds {low:.2f}-{high:.2f})" if result["rounds"] > 1 else ""
        lines.append(f"{names[top] + ' / ' + names[bottom] + ':':31} {median:.2f}x{spread}")
    lines += [
        f"model: {result['flops_per_turn'] / 1e9:.3f} GFLOP a turn; torch.mm fp32: {result['matmul_flops'] / 1e9:.1f} GFLOP/s"
        + (f", bf16: {result['matmul_flops_bf16'] / 1e9:.1f} GFLOP/s" if result.get("matmul_flops_bf16") else ""),
        f"share of the CPU's limit in its own arithmetic: engine fp32 {result['limit_fractions']['engine']:.1%}, "
        f"{quantized} {result['limit_fractions']['engine_quantized']:.1%}",
        f"peak RSS (max over configurations): {result['peak_rss_mb']:.0f} MB",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """`python scripts/bench.py` / `python -m rupture_nlp.bench`: the same options as `rupture-nlp bench`."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in CONFIGS + ("limit", "prepare"):
        return child(argv)
    parser = argparse.ArgumentParser(description="Benchmark the coder against the transformers pipeline.")
    parser.add_argument("--turns", type=int, default=2000, help="turns to code (default 2000)")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--quantized", default=None, help="reduced-precision backend: bf16, bf16-compiled, int8 or onnx-int8 "
                        "(default: bf16 where the CPU has it, else onnx-int8 when the fast extra is installed, else int8)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the four configurations; "
                        "medians are reported (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else on stdout")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: at least one round is needed")
    result = run_bench(args.turns, args.model, args.quantized, rounds=args.rounds)
    print(json.dumps(summary(result)) if args.json else format_table(result))


if __name__ == "__main__":
    main()
