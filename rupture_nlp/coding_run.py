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

from rupture_nlp.coding_io import atomic_write_text, unique_id, write_coded


def model_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in ("rupture_config.json", "model.safetensors"):
        path = folder / name
        if path.exists():
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def run_coding(batch, output: Path, model_dir: Path | None = None, coder=None) -> dict:
    """Code every session of `batch` (a cli.Batch) into `output`; returns the manifest."""
    from rupture_nlp.model import DEFAULT_MODEL_DIR, TransformerCoder

    folder = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    coder = coder or TransformerCoder.load(folder)
    output.mkdir(parents=True, exist_ok=True)
    manifest = {"model": {"path": str(folder), "fingerprint": model_fingerprint(folder)},
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "outputs": [], "errors": []}
    sessions = 0
    taken: set[str] = set()
    for session in batch.sessions():
        original = session.session_id
        session.session_id = unique_id(original, taken)
        if session.session_id != original:
            session.warnings.append(f"another session of this run has the id {original!r}; "
                                    f"coded as {session.session_id!r}")
        path = write_coded(session, coder.code(session), output)
        manifest["outputs"].append({"session_id": session.session_id, "input": session.source, "output": str(path),
                                    "turns": len(session.turns), "warnings": session.warnings})
        if session.session_id != original:
            manifest["outputs"][-1]["renamed_from"] = original
        sessions += 1
    manifest["errors"] = [{"input": e.path, "line": e.line, "message": e.message} for e in batch.failed]
    manifest["inputs"] = sorted({o["input"] for o in manifest["outputs"]} | {e["input"] for e in manifest["errors"]})
    manifest["sessions"] = sessions
    atomic_write_text(output / "manifest.json", json.dumps(manifest, indent=2))
    return manifest
