"""Backends that run the coder's network on one padded batch: the part of inference that
costs time, kept apart so `TransformerCoder` stays the same whichever runs it.

- `auto` (the default): `bf16` where the CPU multiplies bf16 in hardware (Intel AMX or
  AVX512-BF16), else `torch`. On the shipped model bf16 leaves test-split macro-F1 unchanged
  (`scripts/backend_accuracy.py`), so it may be the default by the project's rule (a drop of
  at most 0.01); `torch` gives bit-stable fp32 outputs across machines.
- `torch`: the fp32 network as trained (the reference).
- `bf16`: the encoder's weights cast once to bfloat16 and the whole encoder run in bf16
  (oneDNN, AMX tiles where present; layer norms and softmax accumulate in fp32 inside their
  kernels); pooling and the three heads stay fp32. Casting once beats torch's autocast, which
  re-casts every weight and activation on every call (about a fifth of its time): 1.2x the
  autocast speed end to end here (1.5x for the network alone), with the same test-split
  macro-F1. Slow on CPUs without bf16 instructions, hence `auto`.
- `bf16-compiled`: `bf16` compiled by `torch.compile` (inductor, weights frozen as
  constants, shapes dynamic), which fuses attention's scale-mask-softmax, GELU and the
  residual adds that run as separate passes over memory in eager mode. ~1.1x the eager bf16
  speed on a 2-vCPU AMD EPYC (160.8 vs 143.5 and 143.3 vs 127.4 turns/s, alternated in one
  process, ~0.9 ms saved a turn) for 20-40 s more at load (each `--workers` process pays
  it), so it pays off from some 20,000-45,000 turns a process on and is opt-in. Needs a C++
  compiler (gcc) at run time; without one, loading it is a clear error, not a failure
  halfway through a batch.
- `int8`: torch dynamic int8 quantization of the linear layers (no extra needed; the torch
  API is deprecated in favour of torchao but still works, so it is the no-install option).
- `onnx`: the network exported with `torch.onnx.export(..., dynamo=True)` (the legacy
  TorchScript exporter gives wrong outputs for this model) and run by ONNX Runtime.
- `onnx-int8`: that export with int8 weights (`onnxruntime.quantization.quantize_dynamic`).

The ONNX backends need the `fast` extra (`pip install 'rupture-nlp[fast]'`). Their files are
built on first use and cached in `<model>/onnx/`, or — when the model folder is read-only,
e.g. a system-wide install — in `$RUPTURE_CACHE_DIR` (default `~/.cache/rupture-nlp`)
under `onnx-<fingerprint>/`. The fingerprint hashes the weights and config, so a retrained
model never runs on a stale export.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

BACKENDS = ("auto", "torch", "bf16", "bf16-compiled", "int8", "onnx", "onnx-int8")
DEFAULT_BACKEND = "auto"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
Batch = dict[str, np.ndarray]
Heads = tuple[np.ndarray, np.ndarray, np.ndarray]
Runner = Callable[[Batch], Heads]


class BackendError(Exception):
    """A backend cannot run here; the message says what to install or change."""


class TorchRunner:
    """Runs a torch network (fp32 or dynamically quantized) on numpy batches without copying them."""

    def __init__(self, net) -> None:
        self.net = net.eval()
        self.forward = self.net  # what a call runs: the network itself, or a compiled form of it

    def __call__(self, batch: Batch) -> Heads:
        import torch

        with torch.inference_mode():
            heads = self.forward(**{k: torch.from_numpy(v) for k, v in batch.items()})
            return tuple(h.float().numpy() for h in heads)


class Bf16Runner(TorchRunner):
    """Runs the network with its encoder in bfloat16 (cast in place: the fp32 copy is not kept)."""

    def __init__(self, net) -> None:
        import torch

        net.encoder.to(torch.bfloat16)  # RuptureNet pools the encoder's output in fp32
        super().__init__(net)


class CompiledBf16Runner(Bf16Runner):
    """`Bf16Runner` with the network compiled by inductor; compiled (and checked) at load on a
    small batch so a missing compiler shows before any session is coded."""

    def __init__(self, net) -> None:
        import torch

        super().__init__(net)
        self.forward = torch.compile(self.net, dynamic=True, options={"freezing": True})
        warm = np.ones((2, 16), dtype=np.int64)
        mask = warm.copy()
        mask[1, 8:] = 0  # one padded row, as real batches have
        try:
            self(dict(input_ids=warm, attention_mask=mask, token_type_ids=np.zeros_like(warm)))
        except Exception as exc:  # inductor raises many types (no compiler, unsupported op, ...)
            raise BackendError(f"the bf16-compiled backend could not compile the model "
                               f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); it needs a "
                               f"C++ compiler such as gcc. Use --backend bf16 (the same arithmetic, not compiled).") from exc

    def __call__(self, batch: Batch) -> Heads:
        if len(batch["input_ids"]) > 1:
            return super().__call__(batch)
        # dynamic shapes still specialise a size of 1: a one-turn batch would recompile mid-run
        return tuple(head[:1] for head in super().__call__({k: np.repeat(v, 2, axis=0) for k, v in batch.items()}))


def native_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic in hardware (AMX tiles or AVX512-BF16), where
    bf16 matrix products beat fp32 (3.5x measured on a 2-core Sapphire Rapids); elsewhere
    oneDNN emulates them and bf16 is slower than fp32."""
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # private: absent or failing means no
    try:
        return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    except Exception:
        return False


def resolve_backend(backend: str) -> str:
    """The backend that `backend` names on this machine (`auto` becomes `bf16` or `torch`)."""
    if backend == "auto":
        return "bf16" if native_bf16() else "torch"
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return backend


class OnnxRunner:
    """Runs an exported model in an ONNX Runtime session using the same thread count as torch."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, batch: Batch) -> Heads:
        return tuple(self.session.run(None, {name: batch[name] for name in self.inputs}))


def make_runner(backend: str, net, folder: Path | None) -> Runner:
    """The runner for `backend`; `folder` is the checkpoint (where ONNX files are cached)."""
    import torch

    backend = resolve_backend(backend)
    if backend == "torch":
        return TorchRunner(net)
    if backend == "bf16":
        return Bf16Runner(net)
    if backend == "bf16-compiled":
        return CompiledBf16Runner(net)
    if backend == "int8":
        return TorchRunner(quantize_torch(net))
    if backend in ("onnx", "onnx-int8"):
        if folder is None:
            raise BackendError(f"the {backend} backend needs a saved model folder to export from")
        return OnnxRunner(onnx_model(net, folder, quantized=backend == "onnx-int8"), torch.get_num_threads())
    raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def quantize_torch(net):
    """int8 weights for every nn.Linear, activations quantized per batch (in place: saves a copy)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecation notice of torch.ao.quantization
        return torch.ao.quantization.quantize_dynamic(net.eval(), {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def cache_dirs(folder: Path, fingerprint: str) -> list[Path]:
    """Where ONNX files may live, in order of preference: beside the model, then the user cache."""
    user = Path(os.environ.get("RUPTURE_CACHE_DIR") or Path.home() / ".cache" / "rupture-nlp")
    return [folder / "onnx", user / f"onnx-{fingerprint}"]


def onnx_model(net, folder: Path, quantized: bool) -> Path:
    """Path of the cached ONNX file for the checkpoint in `folder`, exported on first use."""
    from rupture_nlp.coding_run import model_fingerprint

    import importlib.util

    missing = [m for m in ("onnxruntime", "onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise BackendError(f"the onnx backends need {', '.join(missing)}: pip install 'rupture-nlp[fast]'")
    fingerprint = model_fingerprint(folder)
    name = "model.int8.onnx" if quantized else "model.onnx"
    dirs = cache_dirs(Path(folder), fingerprint)
    for cache in dirs:
        if (cache / name).is_file() and _read(cache / "fingerprint") == fingerprint:
            return cache / name
    problems = []
    for cache in dirs:
        try:
            return _build(net, cache, fingerprint, quantized)
        except OSError as exc:  # read-only model folder: try the next place
            problems.append(f"{cache}: {exc}")
        except Exception as exc:  # an exporter or quantizer failure: say so, don't dump its traceback
            raise BackendError(f"exporting {folder} to ONNX failed ({type(exc).__name__}: {exc}); "
                               "use --backend torch or int8") from None
    raise BackendError("cannot write the ONNX export anywhere (" + "; ".join(problems) + "); set RUPTURE_CACHE_DIR")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _build(net, cache: Path, fingerprint: str, quantized: bool) -> Path:
    """Export (and quantize) into a scratch folder, then move the files in: readers never see half a file."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".build-") as scratch:
        fp32 = cache / "model.onnx"
        if _read(cache / "fingerprint") != fingerprint or not fp32.is_file():
            export_onnx(net, Path(scratch) / "model.onnx")
            os.replace(Path(scratch) / "model.onnx", fp32)
            (Path(scratch) / "fingerprint").write_text(fingerprint)
            os.replace(Path(scratch) / "fingerprint", cache / "fingerprint")
            (cache / "model.int8.onnx").unlink(missing_ok=True)
        if not quantized:
            return fp32
        quantize_onnx(fp32, Path(scratch) / "model.int8.onnx")
        os.replace(Path(scratch) / "model.int8.onnx", cache / "model.int8.onnx")
        return cache / "model.int8.onnx"


def export_onnx(net, path: Path) -> None:
    """Export with dynamic batch and sequence axes; the exporter's progress goes to stderr."""
    import torch

    class Heads(torch.nn.Module):  # fixed positional inputs, so the graph's inputs have our names
        def __init__(self, net) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.net(input_ids, attention_mask, token_type_ids)

    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long),
               torch.zeros((2, 8), dtype=torch.long))
    example[1][1, 5:] = 0  # one padded row, so masking is traced as it is used
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    shapes = {name: {0: batch, 1: seq} for name in INPUTS}
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(Heads(net.eval()), example, dynamo=True, input_names=list(INPUTS),
                                    output_names=["marker", "subtype", "stage"], dynamic_shapes=shapes,
                                    optimize=True, verbose=False)
        program.save(str(path), external_data=False)


def quantize_onnx(source: Path, target: Path) -> None:
    """int8 weights for MatMul/Gemm, activations quantized on the fly (dynamic quantization)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # its 'run pre-processing' hint
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=False)
