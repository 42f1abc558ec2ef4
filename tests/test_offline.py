"""The offline guarantee, counted: no command opens a network connection or looks up a host.

Transcripts are clinical data; a researcher must be able to promise an ethics board that
`segment`, `code`, `report` and `evaluate` send nothing anywhere. Every way Python reaches
the network (DNS lookup, TCP/UDP connect, send to an address) is recorded and refused
while the commands run, so the test counts attempts rather than waiting for a crash that
a library could swallow. Also here: a missing or corrupt checkpoint is a clear error.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rupture_nlp.cli import app
from rupture_nlp.model import DEFAULT_MODEL_DIR

from tiny_model import train_tiny

runner = CliRunner()


@pytest.fixture
def network_attempts(monkeypatch) -> list[str]:
    """Record and refuse every DNS lookup and every non-local-socket connect or send."""
    attempts: list[str] = []
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):  # prove it without their help
        monkeypatch.delenv(var, raising=False)

    def refuse(name):
        def blocked(*args, **kwargs):
            target = args[1] if len(args) > 1 and isinstance(args[0], socket.socket) else (args[0] if args else kwargs)
            if isinstance(args[0] if args else None, socket.socket) and args[0].family == socket.AF_UNIX:
                return original[name](*args, **kwargs)  # local IPC (e.g. multiprocessing) is not the network
            attempts.append(f"{name}({target!r})")
            raise OSError(f"network disabled in tests ({name})")
        return blocked

    original = {"socket.connect": socket.socket.connect, "socket.connect_ex": socket.socket.connect_ex,
                "socket.sendto": socket.socket.sendto}
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket.socket, "sendto", refuse("socket.sendto"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
    return attempts


def test_the_network_guard_counts_attempts(network_attempts):
    """The guard must be able to fail: a connection attempt is recorded (and refused)."""
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
    with pytest.raises(OSError), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.connect(("127.0.0.1", 9))
    with pytest.raises(OSError):
        socket.getaddrinfo("localhost", 80)
    assert len(network_attempts) == 3


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("model"))


@pytest.mark.parametrize("model", ["tiny", "shipped"])
def test_segment_code_report_and_evaluate_make_no_network_attempt(model, network_attempts, conversation_files,
                                                                  tiny_model_dir, tmp_path):
    if model == "shipped" and not (DEFAULT_MODEL_DIR / "model.safetensors").is_file():
        pytest.skip(f"no shipped model at {DEFAULT_MODEL_DIR}")
    inputs = [str(conversation_files[k]) for k in ("txt", "csv", "vtt", "srt", "whisperx", "convokit", "docx")]
    model_args = ["--model", str(tiny_model_dir)] if model == "tiny" else []  # default: the shipped model

    steps = {
        "segment": ["segment", *inputs, "-o", str(tmp_path / "turns.jsonl")],
        "code": ["code", *inputs, "-o", str(tmp_path / "coded"), *model_args],
        "report": ["report", str(tmp_path / "coded"), "-o", str(tmp_path / "report")],
        "evaluate": ["evaluate", "--gold", str(tmp_path / "coded"), "--pred", str(tmp_path / "coded"),
                     "--bootstrap", "20", "--json", str(tmp_path / "eval.json")],
    }
    for name, args in steps.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (name, result.output)
        assert network_attempts == [], (name, network_attempts)
    assert len(json.loads((tmp_path / "coded" / "manifest.json").read_text())["outputs"]) == len(inputs)
    assert json.loads((tmp_path / "eval.json").read_text())["matched_turns"] > 0
    # the report opens offline too: no page loads a script, style, font or image from elsewhere
    for page in (tmp_path / "report").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import""", html), page


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _swap_in_a_small_tokenizer(folder: Path) -> None:
    from transformers import BertTokenizerFast

    for path in folder.glob("tokenizer*"):
        path.unlink()
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n")
    BertTokenizerFast(str(folder / "vocab.txt")).save_pretrained(str(folder))


CORRUPTIONS = {
    "no model.safetensors": lambda d: (d / "model.safetensors").unlink(),
    "truncated weights": lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:1000]),
    "truncated rupture_config.json": lambda d: (d / "rupture_config.json").write_text('{"labels": {"mark'),
    "rupture_config.json not an object": lambda d: (d / "rupture_config.json").write_text("[1, 2]"),
    "rupture_config.json wrong types": lambda d: (d / "rupture_config.json").write_text('{"max_length": "long"}'),
    "corrupt config.json": lambda d: (d / "config.json").write_text("{"),
    "no tokenizer": lambda d: [p.unlink() for p in d.glob("*") if p.name.startswith(("tokenizer", "vocab", "special"))],
    "empty folder": lambda d: [p.unlink() for p in d.glob("*")],
    "another model's tokenizer": lambda d: _swap_in_a_small_tokenizer(d),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_missing_or_corrupt_checkpoint_is_a_clear_error_and_no_session_is_written(
        corruption, tiny_model_dir, conversation_files, tmp_path, network_attempts):
    broken = _copy(tiny_model_dir, tmp_path / "broken")
    CORRUPTIONS[corruption](broken)
    out = tmp_path / "coded"
    result = runner.invoke(app, ["code", str(conversation_files["txt"]), "-o", str(out), "--model", str(broken)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {broken}") and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    # the batch records its failure in the manifest; no coded session is written
    assert not list(out.glob("*.jsonl"))
    assert network_attempts == []
