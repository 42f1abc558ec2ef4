"""The `code` job: read a batch, code each session, write it atomically, keep a manifest.

A failing file is recorded in the manifest and the batch goes on; the manifest lists
inputs, outputs, the model (folder and config hash) and errors, so a researcher can
tell exactly what produced each file.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from rupture_nlp.coding_io import atomic_write_text, write_coded


def model_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in ("rupture_config.json", "model.safetensors"):
        path = folder / name
        if path.exists():
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def file_digest(path: str | Path | None) -> str:
    """`sha256:` + 16 hex digits of a file's bytes: names an input without its (maybe identifying) path."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:  # type: ignore[arg-type]
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (OSError, TypeError):
        return "sha256:unreadable"
    return "sha256:" + digest.hexdigest()[:16]


def run_coding(batch, output: Path, model_dir: Path | None = None, coder=None, deid=None) -> dict:
    """Code every session of `batch` (a cli.Batch) into `output`; returns the manifest.

    With `deid` (a `rupture_nlp.deid.Deidentifier`) each session is coded on its real text,
    then de-identified before anything is written; the manifest then names inputs by content
    hash instead of path and scrubs error messages and warnings.
    """
    from rupture_nlp.model import DEFAULT_MODEL_DIR, TransformerCoder

    folder = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    coder = coder or TransformerCoder.load(folder)
    output.mkdir(parents=True, exist_ok=True)
    manifest = {"model": {"path": str(folder), "fingerprint": model_fingerprint(folder)},
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "outputs": [], "errors": []}
    sessions = 0
    for session in batch.sessions():
        codings = coder.code(session)
        source = session.source
        if deid is not None:
            session, source = deid.session(session), file_digest(source)
        path = write_coded(session, codings, output)
        manifest["outputs"].append({"session_id": session.session_id, "input": source, "output": str(path),
                                    "turns": len(session.turns), "warnings": session.warnings})
        sessions += 1
    if deid is None:
        manifest["errors"] = [{"input": e.path, "line": e.line, "message": e.message} for e in batch.failed]
    else:
        manifest["errors"] = [{"input": file_digest(e.path), "line": e.line, "message": deid.text(e.message)}
                              for e in batch.failed]
        manifest["deidentified"] = {"detectors": deid.detectors,
                                    "inputs": "named by sha256 of their bytes, not by path"}
    manifest["inputs"] = sorted({o["input"] for o in manifest["outputs"]} | {e["input"] for e in manifest["errors"]})
    manifest["sessions"] = sessions
    atomic_write_text(output / "manifest.json", json.dumps(manifest, indent=2))
    return manifest
