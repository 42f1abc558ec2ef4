"""A tiny encoder built from a config (2 layers, small vocabulary) so model tests run in seconds."""

from __future__ import annotations

import string
from pathlib import Path

WORDS = ("therapist client i you not that this is it the a to and what how feel fine no yes "
         "doing sheet help helping pointless sure whatever think best dunno why here because").split()


def make_tiny_base(folder: Path) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(string.ascii_lowercase) + list(string.punctuation) \
        + [f"##{c}" for c in string.ascii_lowercase] + WORDS
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    # positional: the vocab file is `vocab_file` in transformers 4 and `vocab` in 5 (which ignores `vocab_file=`)
    BertTokenizerFast(str(folder / "vocab.txt")).save_pretrained(str(folder))
    config = BertConfig(vocab_size=len(dict.fromkeys(vocab)), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(str(folder))
    return folder


def toy_records(n_sessions: int = 6) -> list[dict]:
    """Small coded records with learnable signal (words that carry the label)."""
    rows = []
    client = [("i am not doing that sheet", "confrontation", "complaint_activities"),
              ("dunno", "withdrawal", "minimal_response"), ("sure whatever you think is best", "withdrawal", "deferential"),
              ("i feel fine today and it is good", "none", ""), ("this is not helping", "confrontation", "complaint_progress")]
    therapist = [("how do you feel", "none"), ("you have to do the sheet", "antagonizing"),
                 ("what is it like for you here", "exploring_meaning"), ("you are right i think", "affirming")]
    for s in range(n_sessions):
        turn = 0
        for (ct, m, sub), (tt, st) in zip(client, therapist + therapist[:1]):
            rows.append({"session_id": f"s{s}", "source": "authored", "dialect_group": "general_us" if s % 2 else "southern_us",
                         "modality": "cbt", "turn": turn, "role": "therapist", "text": tt, "context": [],
                         "backchannel": False, "marker": "", "subtype": "", "stage": st})
            rows.append({"session_id": f"s{s}", "source": "authored", "dialect_group": "general_us" if s % 2 else "southern_us",
                         "modality": "cbt", "turn": turn + 1, "role": "client", "text": ct, "context": [f"therapist: {tt}"],
                         "backchannel": False, "marker": m, "subtype": sub, "stage": ""})
            turn += 2
    return rows


def train_tiny(root: Path, epochs: int = 1) -> Path:
    """A tiny trained checkpoint under `root` (`epochs` on `toy_records`): for tests that
    need a model folder to code with, not a good model (3 epochs give distinct logits)."""
    from rupture_nlp.train import TrainingArguments, train

    base = make_tiny_base(root / "base")
    out = root / "tiny"
    records = toy_records()
    args = TrainingArguments(epochs=epochs, batch_size=8, learning_rate=5e-3, head_learning_rate=1e-2, max_length=48, threads=1)
    train(records, records[:20], out, base, args, log=lambda *_: None)
    return out


def save_untrained_tiny(base_folder: Path, folder: Path) -> Path:
    """A tiny untrained checkpoint in the shipped layout (fixed seed): fast, for the batch machinery."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from rupture_nlp.model import RuptureNet, TransformerCoder

    base = make_tiny_base(base_folder)
    torch.manual_seed(0)
    TransformerCoder(RuptureNet(AutoModel.from_pretrained(str(base))), AutoTokenizer.from_pretrained(str(base)),
                     {"max_length": 48, "context_turns": 2}).save(folder)
    return folder
