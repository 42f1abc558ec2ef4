"""Transformer coder: load a saved checkpoint and code turns. Inference only.

The network is one pretrained encoder (mean-pooled, or the turn's own tokens and all tokens
mean-pooled side by side: `pooling` in its config) with three heads: client marker
(3-way), client subtype (14-way, read only when a marker is predicted) and therapist
stage (7-way). Its input is the target turn first (`role: text [cues: …]`), then the
preceding turns as a second segment truncated from the left, so the turn itself is never
cut and the nearest context survives. Training lives in `rupture_nlp.train`.

A checkpoint folder holds `config.json` (the encoder's), `tokenizer*`, `model.safetensors`
(fp16 weights of encoder and heads), `rupture_config.json` (labels, max length, context
window, temperatures, decision offsets, data hash, metrics) and a model card `README.md`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rupture_nlp.backends import DEFAULT_BACKEND, BackendError, Runner, TorchRunner, make_runner, resolve_backend
from rupture_nlp.coder import TurnCoder
from rupture_nlp.labels import MARKERS, STAGES, SUBTYPES
from rupture_nlp.threads import configure_threads

import os

# The shipped model lives in the repository's models/ folder (an editable install finds it);
# RUPTURE_MODEL_DIR points elsewhere, e.g. for a wheel install or a retrained model.
DEFAULT_MODEL_DIR = Path(os.environ.get("RUPTURE_MODEL_DIR", Path(__file__).resolve().parents[1] / "models" / "rupture-minilm"))
RUPTURE_CONFIG = "rupture_config.json"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.model", "spiece.model")


class ModelLoadError(Exception):
    """A checkpoint is missing or unreadable; the message says which file and what to do."""


POOLINGS = ("mean", "turn_and_mean")


class RuptureNet(nn.Module):
    """Encoder + three linear heads over a pooled last hidden state.

    `pooling="mean"` averages every token, turn and context alike. `"turn_and_mean"` puts
    the average over the target turn's own tokens (segment 0: [CLS] turn [SEP]) beside it:
    a short turn after a long context is otherwise a small share of the average, though the
    code is a property of the turn (its tokens still read the context through attention).
    """

    def __init__(self, encoder: nn.Module, dropout: float = 0.1, pooling: str = "mean") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")
        self.encoder = encoder
        self.pooling = pooling
        width = encoder.config.hidden_size * (2 if pooling == "turn_and_mean" else 1)
        self.dropout = nn.Dropout(dropout)
        self.marker = nn.Linear(width, len(MARKERS))
        self.subtype = nn.Linear(width, len(SUBTYPES))
        self.stage = nn.Linear(width, len(STAGES))

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None and getattr(self.encoder.config, "type_vocab_size", 0) > 1:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state.float()  # a bf16 encoder still feeds fp32 heads
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = _masked_mean(hidden, mask)
        if self.pooling == "turn_and_mean":
            turn = mask if token_type_ids is None else mask * (token_type_ids == 0).unsqueeze(-1).to(hidden.dtype)
            pooled = torch.cat([_masked_mean(hidden, turn), pooled], dim=-1)
        pooled = self.dropout(pooled)
        return self.marker(pooled), self.subtype(pooled), self.stage(pooled)


def _masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def encode(tokenizer, records: list[dict], max_length: int) -> list[dict[str, list[int]]]:
    """Token ids per record: [CLS] target [SEP] context (left-truncated) [SEP].

    Targets and contexts go to the fast tokenizer in one batched call (it tokenizes in
    parallel in Rust); truncation is ours, after tokenizing, so it cannot cut the target.
    """
    texts = [f"{r['role']}: {r['text']}" for r in records] + [" | ".join(r["context"]) for r in records]
    ids = tokenizer(texts, add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False,
                    verbose=False)["input_ids"]
    targets, contexts = ids[: len(records)], ids[len(records):]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    out = []
    for target, context in zip(targets, contexts):
        target = target[: max_length - 3 - min(len(context), max_length // 4)]
        room = max_length - 3 - len(target)
        context = context[-room:] if room > 0 else []
        ids = [cls] + target + [sep] + context + [sep]
        types = [0] * (len(target) + 2) + [1] * (len(context) + 1)
        out.append({"input_ids": ids, "token_type_ids": types})
    return out


PAD_MULTIPLE = 8


def pad_batch(items: list[dict[str, list[int]]], pad_id: int, multiple: int = PAD_MULTIPLE) -> dict[str, np.ndarray]:
    """Pad a batch to its own longest item rounded up to `multiple` (dynamic padding), as int64 numpy arrays.

    Numpy rather than torch so one batch feeds any backend (torch wraps it without a copy).
    The rounding costs ~2 % more tokens and buys ~5 % speed with the bf16 backend: oneDNN's
    attention and matrix kernels work in blocks and take slow paths on ragged widths.
    """
    longest = max(len(i["input_ids"]) for i in items)
    width = -(-longest // multiple) * multiple
    ids = np.full((len(items), width), pad_id, dtype=np.int64)
    types = np.zeros((len(items), width), dtype=np.int64)
    mask = np.zeros((len(items), width), dtype=np.int64)
    for k, item in enumerate(items):
        n = len(item["input_ids"])
        ids[k, :n] = item["input_ids"]
        types[k, :n] = item["token_type_ids"]
        mask[k, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def collate(items: list[dict[str, list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """`pad_batch` as torch tensors (for training)."""
    return {k: torch.from_numpy(v) for k, v in pad_batch(items, pad_id).items()}


def token_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """Indices grouped into batches of similar length whose padded size stays within `budget` tokens.

    Sorting by length first means padding is small, so the budget buys real tokens.
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    for i in order:  # ascending lengths: the newest item is the widest of its batch
        if batches and lengths[i] * (len(batches[-1]) + 1) <= budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class TransformerCoder(TurnCoder):
    """A fine-tuned encoder with marker, subtype and stage heads (see module doc)."""

    def __init__(self, net: RuptureNet, tokenizer, config: dict, runner: Runner | None = None,
                 backend: str = "torch") -> None:
        self.net = net.eval()
        self.runner = runner or TorchRunner(self.net)
        self.backend = backend
        self.tokenizer = tokenizer
        self.config = config
        self.max_length = int(config.get("max_length", 128))
        self.context_turns = int(config.get("context_turns", 4))
        self.temperatures = config.get("temperatures", {"marker": 1.0, "subtype": 1.0, "stage": 1.0})
        self.marker_bias = np.array(config["marker_bias"]) if config.get("marker_bias") else None
        self.stage_bias = np.array(config["stage_bias"]) if config.get("stage_bias") else None
        self.batch_tokens = int(config.get("batch_tokens", 4096))
        # Optional TF-IDF companion blended into the probabilities (see rupture_nlp.lexical).
        self.lexical = None
        self.lexical_weight = float(config.get("lexical_weight") or 0.0)

    def fit(self, records, labels=None, subtypes=None):
        raise NotImplementedError("train with rupture_nlp.train.train (pip install 'rupture-nlp[train]')")

    def logits(self, records: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw head outputs, computed by the backend in length-sorted batches under a token budget."""
        encoded = encode(self.tokenizer, records, self.max_length)
        outs = [np.empty((len(records), n), dtype=np.float32) for n in (len(MARKERS), len(SUBTYPES), len(STAGES))]
        for rows in token_batches([len(e["input_ids"]) for e in encoded], self.batch_tokens):
            heads = self.runner(pad_batch([encoded[i] for i in rows], self.tokenizer.pad_token_id))
            for out, head in zip(outs, heads):
                out[rows] = head
        return tuple(outs)

    def _heads(self, records):
        m, s, t = self.logits(records)
        temp = self.temperatures
        heads = _softmax(m / temp["marker"]), _softmax(s / temp["subtype"]), _softmax(t / temp["stage"])
        if self.lexical is not None and self.lexical_weight > 0:
            from rupture_nlp.lexical import blend

            heads = blend(heads, self.lexical._heads(records), self.lexical_weight)
        return heads

    @classmethod
    def load(cls, path: str | Path | None = None, backend: str = DEFAULT_BACKEND) -> "TransformerCoder":
        """Load a checkpoint folder (default: the model shipped in `models/`) to run on `backend`
        (one of `rupture_nlp.backends.BACKENDS`; `coder.backend` names the one `auto` chose)."""
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        folder = Path(path) if path else DEFAULT_MODEL_DIR
        for name in (RUPTURE_CONFIG, "config.json", "model.safetensors"):
            if not (folder / name).is_file():
                raise ModelLoadError(f"{folder}: no {name}; is this a rupture-nlp model folder? "
                                     f"(train one with 'rupture-nlp train' or pass --model DIR)")
        # Without its files transformers quietly builds an empty tokenizer (every word [UNK])
        # and the model codes nonsense, so a missing tokenizer is an error here.
        if not any((folder / name).is_file() for name in TOKENIZER_FILES):
            raise ModelLoadError(f"{folder}: no tokenizer (none of {', '.join(TOKENIZER_FILES)}); "
                                 "the checkpoint is incomplete: re-install or retrain it")
        try:
            config = json.loads((folder / RUPTURE_CONFIG).read_text())
            if not isinstance(config, dict):
                raise ModelLoadError(f"{folder}/{RUPTURE_CONFIG} is not a JSON object; the checkpoint may be corrupt: "
                                     "re-install or retrain it")
            encoder = AutoModel.from_config(AutoConfig.from_pretrained(str(folder), local_files_only=True))
            net = RuptureNet(encoder, pooling=config.get("pooling", "mean"))
            state = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
            missing, unexpected = net.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.endswith("position_ids")]
            if missing or unexpected:
                raise ModelLoadError(f"{folder}/model.safetensors does not match its config "
                                     f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            if len(tokenizer) < 0.9 * encoder.config.vocab_size:
                raise ModelLoadError(f"{folder}: the tokenizer has {len(tokenizer)} tokens but the model "
                                     f"{encoder.config.vocab_size}; the tokenizer files do not belong to this model")
            coder = cls(net, tokenizer, config)  # inside the try: it reads numbers from the config
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(f"{folder}: cannot load the model ({type(exc).__name__}: {exc}); "
                                 "the checkpoint may be corrupt: re-install or retrain it") from None
        configure_threads()
        try:
            backend = resolve_backend(backend)
            runner = make_runner(backend, net, folder)
        except BackendError as exc:
            raise ModelLoadError(str(exc)) from None
        coder.runner, coder.backend = runner, backend
        if coder.lexical_weight > 0:
            from rupture_nlp.lexical import LexicalLoadError, load_lexical

            try:
                coder.lexical = load_lexical(folder)
            except LexicalLoadError as exc:
                raise ModelLoadError(str(exc)) from None
        return coder

    def saved_config(self) -> dict:
        """`rupture_config.json` as `save` writes it: the config plus calibration and blend settings."""
        blended = self.lexical is not None and self.lexical_weight > 0
        return dict(self.config, temperatures=self.temperatures,
                    marker_bias=None if self.marker_bias is None else [float(x) for x in self.marker_bias],
                    stage_bias=None if self.stage_bias is None else [float(x) for x in self.stage_bias],
                    lexical_weight=self.lexical_weight if blended else 0.0)

    def save(self, path: str | Path, card: str | None = None) -> None:
        from safetensors.torch import save_file

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().half().contiguous() if v.is_floating_point() else v.contiguous()
                 for k, v in self.net.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        self.net.encoder.config.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))
        if self.lexical is not None and self.lexical_weight > 0:
            from rupture_nlp.lexical import save_lexical

            save_lexical(self.lexical, folder)
        (folder / RUPTURE_CONFIG).write_text(json.dumps(self.saved_config(), indent=2))
        if card:
            (folder / "README.md").write_text(card)


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)
