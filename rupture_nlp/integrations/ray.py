"""Code a corpus on Ray Data: many actors, each holding the transformer coder once.

Optional extra: `pip install 'rupture-nlp[ray]'`. The pipeline is

    turn rows (turns JSONL from `rupture-nlp segment`, or Parquet with the same columns)
      -> groupby(session_id).map_groups: rebuild each whole session and make every turn's
         model input with `coder.session_records` (target text plus preceding context),
         so no context is ever cut at a block boundary
      -> map_batches(_CoderActor, concurrency=N): an actor pool; each actor loads
         `TransformerCoder` once and codes batches with `code_records`
      -> one row a turn in the format of `coding_io.coded_records` (what `code` writes)
      -> JSONL (lines identical to `code`'s) or Parquet shards in one folder.

The same two helpers the in-process coder uses build the inputs and the output rows, so the
results equal `TransformerCoder.code` on the same sessions. Nested values (`probs`,
`session_meta`) travel as JSON text inside the dataset and in Parquet: sessions with
different metadata then share one Arrow schema and blocks always concatenate; the JSONL
writer turns them back into objects.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray
from ray.data import ActorPoolStrategy, Dataset
from ray.data.block import BlockAccessor
from ray.data.datasource import BlockBasedFileDatasink

from rupture_nlp.coder import session_records
from rupture_nlp.coding_io import coded_records
from rupture_nlp.errors import TranscriptError
from rupture_nlp.exports.coded import read_coded_sessions
from rupture_nlp.io.base import json_lines
from rupture_nlp.types import Coding, Session, Turn, iter_jsonl_sessions

FORMATS = ("jsonl", "parquet")
SESSION_FIELDS = ("session_id", "source", "format", "session_meta")

# One row a turn between the session step and the coder actors.
INPUT_SCHEMA = pa.schema([
    ("session_id", pa.string()), ("turn", pa.int64()), ("role", pa.string()),
    ("model_text", pa.string()), ("context", pa.list_(pa.string())), ("backchannel", pa.bool_()),
    ("record", pa.string()), ("session_meta", pa.string()), ("input_sha256", pa.string()), ("source", pa.string()),
])
# One row a coded turn: the keys of `coding_io.coded_records`, nested values as JSON text.
OUTPUT_SCHEMA = pa.schema([
    ("session_id", pa.string()), ("turn", pa.int64()), ("speaker", pa.string()), ("role", pa.string()),
    ("text", pa.string()), ("marker", pa.string()), ("subtype", pa.string()), ("stage", pa.string()),
    ("probs", pa.string()), ("start", pa.float64()), ("end", pa.float64()), ("cues", pa.list_(pa.string())),
    ("session_meta", pa.string()), ("provenance", pa.string()),
])
JSON_COLUMNS = ("probs", "session_meta", "provenance")
# Writing is I/O: a small CPU share lets it run beside actors that hold every core.
WRITE_ARGS = {"num_cpus": 0.25}
_KINDS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


# --- reading -------------------------------------------------------------------------

def input_format(path: str | Path) -> str:
    """`jsonl` or `parquet`, from the file's extension or the files in a folder."""
    path = Path(path)
    names = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
    if not names:
        raise TranscriptError(path, None, "no such file or folder")
    kinds = {_KINDS[p.suffix.lower()] for p in names if p.suffix.lower() in _KINDS}
    if not kinds:
        raise TranscriptError(path, None, "no .jsonl or .parquet files (write turns with 'rupture-nlp segment -o turns.jsonl')")
    if len(kinds) > 1:
        raise TranscriptError(path, None, "both JSONL and Parquet files; code them as two separate inputs")
    return kinds.pop()


def _jsonl_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn rows of one JSONL file, checked line by line so a bad line names itself."""
    path = row["path"]
    rows = []
    for number, raw in json_lines(row["bytes"].decode("utf-8")):
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TranscriptError(path, number, f"not valid JSON ({exc.msg}); is this a turns file from 'rupture-nlp segment'?") from None
        missing = [k for k in ("session_id", "index", "speaker", "role", "text") if not isinstance(record, dict) or k not in record]
        if missing:
            raise TranscriptError(path, number, f"a turn needs {', '.join(missing)}; is this a turns file from 'rupture-nlp segment'?")
        rows.append({"session_id": str(record["session_id"]), "record": raw, "path": path, "line": number})
    return rows


def _parquet_rows(batch: pa.Table) -> pa.Table:
    """Parquet turn rows as the same (session_id, record JSON) rows a JSONL file gives."""
    records = batch.to_pylist()
    for record in records:
        missing = [k for k in ("session_id", "index", "speaker", "role", "text") if record.get(k) is None]
        if missing:
            raise TranscriptError(record.get("path"), None, f"a turn of session {record.get('session_id')!r} has no {', '.join(missing)}")
    return pa.table({
        "session_id": [str(r["session_id"]) for r in records],
        "record": [json.dumps({k: v for k, v in r.items() if k != "path"}, ensure_ascii=False) for r in records],
        "path": [r.get("path") for r in records],
        "line": pa.array([None] * len(records), pa.int64()),
    })


def read_turns(path: str | Path) -> Dataset:
    """Turn rows (`session_id`, `record` = the turn's JSON, `path`, `line`) from JSONL or Parquet."""
    path = Path(path)
    if input_format(path) == "parquet":
        files = ray.data.read_parquet(str(path), include_paths=True)
    else:
        files = ray.data.read_binary_files(str(path), include_paths=True, file_extensions=["jsonl", "json"])
    # Raise a UDF's own exception (a TranscriptError naming file and line), not Ray's wrapper of it.
    files.context.raise_original_map_exception = True
    if input_format(path) == "parquet":
        return files.map_batches(_parquet_rows, batch_format="pyarrow")
    return files.flat_map(_jsonl_rows)


# --- the session step: whole sessions in, one model input a turn out -----------------

@functools.lru_cache(maxsize=64)
def _input_digest(path: str) -> str:
    """An input file's content hash, read once per worker (a file holds many sessions)."""
    from rupture_nlp.resume import file_digest

    return file_digest(path)


def _session_inputs(group: pa.Table, context_turns: int, deid=None) -> pa.Table:
    """map_groups UDF: rebuild one whole session and make each turn's model input.

    With `deid` (a `rupture_nlp.deid.Deidentifier`) the rows that reach the output carry the
    de-identified session (text, speakers, id, metadata; the input file by content hash),
    while the model reads the real text, as `rupture-nlp code --deidentify` does: the codes
    do not depend on the flag. The whole session is scrubbed at once, so placeholders are
    consistent across its turns."""
    rows = sorted(group.to_pylist(), key=lambda r: json.loads(r["record"])["index"])
    (session,) = iter_jsonl_sessions(r["record"] for r in rows)
    indices = [t.index for t in session.turns]
    if indices != list(range(len(indices))):
        first = next((k for k, i in enumerate(indices) if i != k), 0)
        raise TranscriptError(rows[first]["path"], rows[first]["line"],
                              f"session {session.session_id!r} has turns {indices[:8]}…; a session's turns must be "
                              "numbered 0, 1, 2… and appear once (two inputs with the same session id?)")
    inputs = {r["turn"]: r for r in session_records(session, context_turns)}
    meta = json.dumps(session.metadata, ensure_ascii=False)
    digest = "sha256:" + hashlib.sha256("\n".join(r["record"] for r in rows).encode("utf-8")).hexdigest()[:16]
    path = rows[0].get("path")
    source = str(Path(path).resolve()) if path else None
    shown = session
    if deid is not None:
        shown = deid.session(session)
        meta, source = json.dumps(shown.metadata, ensure_ascii=False), _input_digest(path) if path else None
    out = []
    for turn, clean, row in zip(session.turns, shown.turns, rows):
        record = json.loads(row["record"]) if deid is None else clean.to_dict()
        for key in SESSION_FIELDS:
            record.pop(key, None)
        model = inputs.get(turn.index)
        out.append({"session_id": shown.session_id, "turn": turn.index, "role": turn.role,
                    "model_text": model["text"] if model else None, "context": model["context"] if model else [],
                    "backchannel": turn.backchannel, "record": json.dumps(record, ensure_ascii=False),
                    "session_meta": meta, "input_sha256": digest, "source": source})
    return pa.Table.from_pylist(out, schema=INPUT_SCHEMA)


# --- the coder step: an actor pool, one model per actor -------------------------------

class _CoderActor:
    """map_batches UDF run on an actor: loads the coder once, codes every batch it is given."""

    def __init__(self, model_dir: str | None, threads: int) -> None:
        import torch

        from rupture_nlp.model import TransformerCoder

        from rupture_nlp.model import DEFAULT_MODEL_DIR
        from rupture_nlp.resume import model_fingerprint

        torch.set_num_threads(max(1, threads))
        self.coder = TransformerCoder.load(model_dir)
        backend = self.coder.backend
        self.model = model_fingerprint(Path(model_dir) if model_dir else DEFAULT_MODEL_DIR) + (
            "" if backend == "torch" else f"+{backend}")  # as `rupture-nlp code` records it

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        coded = [i for i, r in enumerate(rows) if r["model_text"] is not None]
        records = [{"turn": rows[i]["turn"], "role": rows[i]["role"], "text": rows[i]["model_text"],
                    "context": rows[i]["context"], "backchannel": rows[i]["backchannel"]} for i in coded]
        codings = [Coding() for _ in rows]
        for i, coding in zip(coded, self.coder.code_records(records)):
            codings[i] = coding
        out = []
        for row, coding in zip(rows, codings):
            session = Session(session_id=row["session_id"], turns=[Turn.from_dict(json.loads(row["record"]))],
                              metadata=json.loads(row["session_meta"]))
            prov = {"input_sha256": row["input_sha256"], "model": self.model, "source": row["source"]}
            (record,) = coded_records(session, [coding], prov)
            out.append({**record, **{k: json.dumps(record[k], ensure_ascii=False) for k in JSON_COLUMNS}})
        return pa.Table.from_pylist(out, schema=OUTPUT_SCHEMA)


def context_turns_of(model_dir: str | Path | None) -> int:
    """The context window the checkpoint was trained with (checked on the driver, before any actor starts)."""
    from rupture_nlp.model import DEFAULT_MODEL_DIR, RUPTURE_CONFIG, ModelLoadError

    folder = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    config = folder / RUPTURE_CONFIG
    if not config.is_file():
        raise ModelLoadError(f"{folder}: no {RUPTURE_CONFIG}; is this a rupture-nlp model folder? (pass --model DIR)")
    return int(json.loads(config.read_text()).get("context_turns", 4))


def code_dataset(ds: Dataset, model_dir: str | Path | None = None, *, concurrency: int | tuple[int, int] = 2,
                 batch_size: int = 64, num_cpus: float = 1, memory: float | None = None,
                 partitions: int | None = None, deid=None) -> Dataset:
    """Code a dataset of turn rows (from `read_turns`) on an actor pool; returns the coded rows.

    The session step runs at once and its output is materialized: the groupby needs every
    turn anyway, a bad input fails before any model is loaded, and the actors (which hold
    their CPUs for as long as they live) never starve the read and shuffle tasks. The coding
    is lazy: it runs when the result is written or iterated.

    `concurrency` actors (a fixed number, or a (min, max) autoscaling range) each load the model
    once and run torch on `num_cpus` cores; `batch_size` turns go to an actor at a time;
    `memory` (bytes) reserves room per actor on a cluster (the shipped MiniLM needs about
    0.5 GB); `partitions` is the number of session groups (default: 4 a actor). `model_dir`
    goes to the actors as given: an absolute path every node sees, or a path relative to the
    job's `runtime_env` working_dir (it is also read on the driver, for the context window).
    `deid`: a `rupture_nlp.deid.Deidentifier` (it pickles without its tables): outputs are
    de-identified in the session step (see `_session_inputs`).
    """
    actors = max(concurrency) if isinstance(concurrency, tuple) else concurrency
    inputs = ds.groupby("session_id", num_partitions=partitions or 4 * max(1, actors)).map_groups(
        _session_inputs, fn_kwargs={"context_turns": context_turns_of(model_dir), "deid": deid},
        batch_format="pyarrow").materialize()
    folder = str(model_dir) if model_dir else None
    extra = {"memory": memory} if memory else {}
    pool = (ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1]) if isinstance(concurrency, tuple)
            else ActorPoolStrategy(size=concurrency))
    return inputs.map_batches(_CoderActor, fn_constructor_kwargs={"model_dir": folder, "threads": int(max(1, num_cpus))},
                              batch_size=batch_size, batch_format="pyarrow", compute=pool, num_cpus=num_cpus, **extra)


# --- writing ---------------------------------------------------------------------------

class JsonlSink(BlockBasedFileDatasink):
    """Writes coded rows as JSONL with the exact lines `rupture-nlp code` writes (nested values as objects)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, file_format="jsonl")

    def write_block_to_file(self, block: BlockAccessor, file: pa.NativeFile) -> None:
        lines = []
        for row in block.to_arrow().to_pylist():
            row.update({k: json.loads(row[k]) for k in JSON_COLUMNS})
            lines.append(json.dumps(row, ensure_ascii=False) + "\n")
        file.write("".join(lines).encode("utf-8"))


def write_coded_dataset(ds: Dataset, output: str | Path, format: str = "jsonl") -> None:
    """Write coded rows as JSONL or Parquet shards into the folder `output` (runs the pipeline)."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    if format == "parquet":
        ds.write_parquet(str(output), ray_remote_args=WRITE_ARGS)
    else:
        ds.write_datasink(JsonlSink(str(output)), ray_remote_args=WRITE_ARGS)


def read_coded(folder: str | Path) -> list[dict[str, Any]]:
    """All coded rows of an output folder (JSONL or Parquet shards), sorted by session and turn."""
    folder = Path(folder)
    rows: list[dict[str, Any]] = []
    for session in read_coded_sessions(sorted(folder.glob("*.jsonl"))):  # file and line in errors
        rows += session.records
    for path in sorted(folder.glob("*.parquet")):
        import pyarrow.parquet as pq

        for row in pq.read_table(path).to_pylist():
            rows.append({**row, **{k: json.loads(row[k]) for k in JSON_COLUMNS}})
    return sorted(rows, key=lambda r: (r["session_id"], r["turn"]))


# --- the whole job ---------------------------------------------------------------------

def same_package_env() -> dict[str, Any]:
    """A runtime_env whose workers import this very rupture_nlp (a source tree as well as an install)."""
    import os

    import rupture_nlp

    root = str(Path(rupture_nlp.__file__).resolve().parents[1])
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}}


def _user_error(exc: BaseException) -> BaseException | None:
    """The TranscriptError or ModelLoadError a Ray task raised, unwrapped from Ray's exception."""
    from rupture_nlp.model import ModelLoadError

    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        error = stack.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        cause = getattr(error, "cause", None)  # RayTaskError keeps the task's own exception here
        if isinstance(cause, BaseException):
            stack.append(cause)
        elif isinstance(error, (TranscriptError, ModelLoadError)):
            return error
        stack += [error.__cause__, error.__context__]
    return None


def _count_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    lines = sum(sum(1 for line in p.open(encoding="utf-8") if line.strip()) for p in folder.glob("*.jsonl"))
    return lines + sum(pq.ParquetFile(p).metadata.num_rows for p in folder.glob("*.parquet"))


def code_corpus(input_path: str | Path, output_path: str | Path, model_dir: str | Path | None = None,
                num_actors: int = 2, batch_size: int = 64, format: str = "jsonl", num_cpus: float = 1,
                memory: float | None = None, address: str | None = None, deid=None) -> dict[str, Any]:
    """Code a turns file or folder into the folder `output_path`; returns (and writes) a manifest.

    Starts a local Ray instance unless one is running (or joins `address`, e.g. "auto").
    The shards are written to `<output>.part` and renamed into place only when every turn is
    coded, so a failed run never leaves a partial result that looks complete; `deid` (a
    `rupture_nlp.deid.Deidentifier`) de-identifies every output row and names the input by
    content hash in the manifest; a bad input line
    raises `TranscriptError` naming the file and line before any coding starts.
    """
    from rupture_nlp.coding_io import atomic_write_text
    from rupture_nlp.coding_run import model_fingerprint
    from rupture_nlp.model import DEFAULT_MODEL_DIR

    output = Path(output_path)
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    if output.exists() and any(output.iterdir()):
        raise FileExistsError(f"{output} exists and is not empty; choose a new output folder")
    input_format(input_path)
    context_turns_of(model_dir)
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 runtime_env=None if address else same_package_env())
    part = output.with_name(output.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    started = time.perf_counter()
    try:
        folder = Path(model_dir).resolve() if model_dir else None
        coded = code_dataset(read_turns(input_path), folder, concurrency=num_actors, batch_size=batch_size,
                             num_cpus=num_cpus, memory=memory, deid=deid)
        write_coded_dataset(coded, part, format)
    except Exception as exc:
        shutil.rmtree(part, ignore_errors=True)
        error = _user_error(exc)
        if error is not None:
            raise error from None
        raise
    seconds = time.perf_counter() - started
    if output.exists():
        output.rmdir()
    part.rename(output)
    turns = _count_rows(output)
    folder = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    from rupture_nlp.resume import file_digest

    shown_input = str(input_path) if deid is None else file_digest(input_path) if Path(input_path).is_file() else None
    manifest = {"model": {"path": str(folder), "fingerprint": model_fingerprint(folder)}, "input": shown_input,
                "format": format, "turns": turns, "seconds": round(seconds, 2),
                "turns_per_second": round(turns / seconds, 1) if seconds else None,
                "actors": num_actors, "batch_size": batch_size, "num_cpus": num_cpus,
                "shards": sorted(p.name for p in output.iterdir() if p.suffix in (".jsonl", ".parquet"))}
    if deid is not None:
        manifest["deidentified"] = {"detectors": deid.detectors, "input": "named by sha256 of its bytes, not by path"}
    atomic_write_text(output / "manifest.json", json.dumps(manifest, indent=2))
    return manifest

