"""What produced a coded session, and whether the output already on disk is still current.

A resumed or repeated batch must redo exactly the sessions whose result would change:
those whose input file bytes, reader or segmentation options (the *input hash*) or model
(the *fingerprint*) differ from what the output records. Everything in `ReadOptions` and
`SegmentOptions` goes into the input hash, so an option added there later is covered
without an edit here.

De-identified runs (`code --deidentify`) cannot match by session id: output names are keyed
pseudonyms, and without $RUPTURE_DEID_KEY the key (so every pseudonym) changes from run to
run. Their outputs record `deidentified: true` and the session's position in its input
(`session_index`), and a re-run finds them by input hash + position (`find_current_deid`),
whatever they were named; the model fingerprint then decides skip or redo in place.

Output names come from session ids. When two inputs yield the same session id, the
first one written keeps `<id>.jsonl` and the other gets `<id>-<hash of its source>.jsonl`;
an output is only ever replaced by a newer coding of the same input and session.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from rupture_nlp.coding_io import ExistingOutput, read_existing, safe_name

# Bump when the coded-row layout changes, so old outputs are redone.
OUTPUT_VERSION = 1


def model_fingerprint(folder: Path) -> str:
    """A hash of the model's weights, rupture config and lexical companion (what decides its predictions)."""
    digest = hashlib.sha256()
    for name in ("rupture_config.json", "model.safetensors", "lexical.skops"):
        path = folder / name
        if path.exists():
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def _plain(value: Any) -> Any:
    """Options as JSON-able data with a stable order (sets sorted, dataclasses as dicts)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def input_hash(path: Path, reader: str, options: Any, segment: Any) -> str:
    """SHA-256 of the file's bytes and every option that changes what is read from it."""
    from rupture_nlp import __version__

    settings = {"output_version": OUTPUT_VERSION, "package": __version__, "reader": reader,
                "read": _plain(options), "segment": _plain(segment)}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode() + b"\0")
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:32]


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


def provenance(source: Path, input_sha: str, model: str) -> dict[str, str]:
    """The record each coded row carries; `source` is absolute so `./a` and `a` agree."""
    return {"input_sha256": input_sha, "model": model, "source": str(Path(source).resolve())}


def deid_provenance(source: Path, input_sha: str, model: str, index: int) -> dict[str, Any]:
    """The provenance of a de-identified output: the input named by its content hash, never its path."""
    return {"input_sha256": input_sha, "model": model, "source": file_digest(source), "deidentified": True,
            "session_index": index}


def candidates(out_dir: Path, session_id: str, source: str) -> tuple[Path, Path]:
    """The session's usual output name and its name when another input took the usual one."""
    base = safe_name(session_id)
    tag = hashlib.sha256(f"{source}\0{session_id}".encode()).hexdigest()[:8]
    return out_dir / f"{base}.jsonl", out_dir / f"{base}-{tag}.jsonl"


def _ours(found: ExistingOutput | None, session_id: str, source: str) -> bool:
    return found is not None and found.session_id == session_id and found.provenance.get("source") == source


def find_current(out_dir: Path, session_id: str, prov: dict[str, str], turns: int) -> Path | None:
    """The existing output of this session if it records this input hash and model and is whole."""
    for path in candidates(out_dir, session_id, prov["source"]):
        found = read_existing(path)
        if _ours(found, session_id, prov["source"]) and found.rows == turns and all(
                found.provenance.get(k) == prov[k] for k in ("input_sha256", "model")):
            return path
    return None


def target_for(out_dir: Path, session_id: str, source: str) -> tuple[Path, bool]:
    """Where to write a new coding, and whether the file there may be replaced.

    The usual name when it is free or holds an older coding of this same session; else the
    source-tagged name (which only this input and session ever use).
    """
    usual, tagged = candidates(out_dir, session_id, source)
    if not usual.exists():
        return usual, False
    found = read_existing(usual)
    if found is not None and found.session_id == session_id and found.provenance.get("source") in (source, None):
        return usual, True  # an older coding of this session (None: written before outputs had provenance)
    return tagged, True


@functools.lru_cache(maxsize=4)
def _deid_outputs(out_dir: str, run: str) -> dict[tuple[str, int], tuple[Path, ExistingOutput]]:
    """(input hash, session index) → the de-identified output on disk, read once per run and process.

    `run` only makes each batch build its own snapshot: outputs written earlier in the same
    run are never "previous" ones (except an identical copy of an input, which is the same session).
    """
    index: dict[tuple[str, int], tuple[Path, ExistingOutput]] = {}
    for path in sorted(Path(out_dir).glob("*.jsonl")):
        found = read_existing(path)
        prov = found.provenance if found is not None else {}
        if prov.get("deidentified") is True and isinstance(prov.get("session_index"), int):
            index.setdefault((str(prov.get("input_sha256")), prov["session_index"]), (path, found))
    return index


def find_current_deid(out_dir: Path, prov: dict[str, Any], run: str) -> tuple[Path | None, ExistingOutput | None]:
    """The earlier de-identified output of this input's session `prov['session_index']`, if any.

    Returns (path, what it records); the caller skips it when the model matches and it is
    whole, else re-codes into the same path (its name is already a pseudonym).
    """
    hit = _deid_outputs(str(out_dir), run).get((prov["input_sha256"], prov["session_index"]))
    if hit is None or not hit[0].exists():
        return None, None
    return hit


def is_current(found: ExistingOutput, prov: dict[str, Any], turns: int) -> bool:
    """Whole (one row a turn) and made from this input hash by this model."""
    return found.rows == turns and all(found.provenance.get(k) == prov[k] for k in ("input_sha256", "model"))
