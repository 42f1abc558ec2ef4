"""The `code` job: stream a batch file by file, code what is not done yet, keep a manifest.

Built to be left running over thousands of files:
- it streams: one file's sessions are in memory at a time (per worker);
- it resumes: each output records its input hash and model fingerprint (`rupture_nlp.resume`),
  so a re-run skips current sessions without loading or running the model (`force` redoes
  them); outputs are renamed into place whole, and temporary files a killed run left are
  removed at the start of the next, under a lock that keeps two runs out of one folder;
- the manifest (inputs, outputs with status coded/skipped, errors, model, counts) is
  rewritten atomically every few seconds and at the end, so after a kill it is a
  consistent snapshot with `state: running`;
- a failing file or session goes to the manifest and the batch goes on;
- `workers > 1` runs that many processes, each loading the model once with the machine's
  cores split between them; results are taken in input order, so files and manifest
  are the same as with one worker;
- with `deid` (`--deidentify`) every output, the manifest and every message are
  de-identified in the job itself (`coding_job`), in whichever process codes the file;
  inputs are then named by content hash, and with `keep_mapping` the workers send each
  session's placeholder table back so `--deid-mapping` is complete with any `workers`.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import multiprocessing
import os
import queue
import sys
import time
import uuid
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from rupture_nlp.coding_io import atomic_write_text, clean_stale_temps, lock_output
from rupture_nlp.coding_job import FatalCodingError, FileResult, JobSettings, code_file
from rupture_nlp.errors import TranscriptError
from rupture_nlp.io import expand_paths
from rupture_nlp.resume import file_digest, model_fingerprint

__all__ = ["FatalCodingError", "file_digest", "model_fingerprint", "run_coding"]

MANIFEST_EVERY = 2.0  # seconds between manifest snapshots


def load_transformer(folder: Path, backend: str = "auto"):
    """The default coder factory (module-level so worker processes can unpickle it)."""
    from rupture_nlp.model import TransformerCoder

    return TransformerCoder.load(folder, backend=backend)


class LazyCoder:
    """Loads the model on first use, so a batch with nothing left to code never loads it."""

    def __init__(self, factory: Callable[[], Any], coder: Any = None) -> None:
        self.factory = factory
        self.coder = coder

    def __call__(self) -> Any:
        if self.coder is None:
            try:
                self.coder = self.factory()
            except Exception as exc:  # no file would code without a model: stop the batch
                raise FatalCodingError(str(exc)) from exc
        return self.coder


class Manifest:
    """The batch record, saved atomically at most every `MANIFEST_EVERY` seconds and at the end."""

    def __init__(self, path: Path, model: dict[str, str], workers: int, force: bool) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            "model": model, "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "finished": None, "state": "running",
            "workers": workers, "force": force, "counts": {"coded": 0, "skipped": 0, "failed": 0},
            "sessions": 0, "inputs": [], "outputs": [], "errors": [],
        }
        self._inputs: dict[str, None] = {}
        self._saved = 0.0

    def add(self, result: FileResult) -> None:
        self._inputs[result.path] = None
        counts = self.data["counts"]
        if result.error is not None:
            self.data["errors"].append({"input": result.path, "line": result.error.line, "message": result.error.message})
            counts["failed"] += 1
        for entry in result.sessions:
            counts[entry["status"]] += 1
            if entry["status"] == "failed":
                self.data["errors"].append({"input": entry["input"], "line": None, "session_id": entry["session_id"],
                                            "message": entry["message"]})
            else:
                self.data["outputs"].append(entry)
        self.data["sessions"] = counts["coded"] + counts["skipped"]

    def save(self, now: bool = False) -> None:
        if now or time.monotonic() - self._saved >= MANIFEST_EVERY:
            import json

            self.data["inputs"] = list(self._inputs)
            atomic_write_text(self.path, json.dumps(self.data, indent=2, ensure_ascii=False))
            self._saved = time.monotonic()

    def finish(self, state: str) -> None:
        self.data["state"] = state
        self.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.save(now=True)


class Progress:
    """A tqdm bar on stderr (files, coded turns/s, ETA) and messages printed above it.

    `enabled=None` shows the bar only when stderr is a terminal (a log file gets no bar
    noise); True forces it, False hides it.
    """

    def __init__(self, total: int, enabled: bool | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True, smoothing=0.05,
                        disable=None if enabled is None else not enabled)
        self.turns = 0
        self.counts = {"coded": 0, "skipped": 0, "failed": 0}
        self.started = time.monotonic()

    def session(self, status: str, turns: int) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        if status == "coded":
            self.turns += turns
        rate = self.turns / max(time.monotonic() - self.started, 1e-6)
        self.bar.set_postfix_str(f"{rate:.0f} turns/s, coded {self.counts['coded']}, skipped {self.counts['skipped']}, "
                                 f"failed {self.counts['failed']}", refresh=False)

    def file_done(self, failed: bool) -> None:
        if failed:
            self.session("failed", 0)
        self.bar.update(1)

    def say(self, message: str) -> None:
        self.bar.write(message, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def run_coding(batch, output: Path, model_dir: Path | None = None, coder=None, *, force: bool = False,
               workers: int = 1, progress: bool | None = None, coder_factory: Callable[[], Any] | None = None,
               fingerprint: str | None = None, backend: str = "auto", deid=None, keep_mapping: bool = False) -> dict:
    """Code every session of `batch` (a cli.Batch) into `output`; returns the manifest.

    `coder` (an already loaded coder) or `coder_factory` (a picklable callable that loads
    one, run once per worker) replace loading `model_dir`; with `coder` given, coding runs
    in this process whatever `workers` says. `backend` is the inference backend of the default
    loader (`rupture_nlp.backends`; `auto` resolves here); a backend other than torch fp32 is part of the model
    fingerprint, so switching backend redoes the sessions. `fingerprint` replaces the model folder's hash
    in the provenance. `deid` (a `rupture_nlp.deid.Deidentifier`) de-identifies every output,
    the manifest and the messages; `keep_mapping` collects its placeholder tables (from the
    workers too) into `deid.mappings()`.
    """
    from rupture_nlp.backends import BackendError, resolve_backend
    from rupture_nlp.model import DEFAULT_MODEL_DIR, ModelLoadError

    try:
        backend = resolve_backend(backend)  # `auto` is recorded as what it chose on this machine
    except BackendError as exc:
        raise ModelLoadError(str(exc)) from None
    output = Path(output)
    folder = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    factory = coder_factory or functools.partial(load_transformer, folder, backend)
    fingerprint = fingerprint or model_fingerprint(folder) + ("" if backend == "torch" else f"+{backend}")
    try:
        files = list(dict.fromkeys(expand_paths(batch.paths, batch.fmt)))
    except TranscriptError as error:  # e.g. an unknown --format
        files = []
        if deid is not None:
            error = TranscriptError(None, None, deid.text(error.message))
        batch.failed.append(error)
        print(f"error: {error}", file=sys.stderr)
    settings = JobSettings(output, fingerprint, batch.fmt, batch.options, batch.segment, force, deid=deid,
                           keep_mapping=keep_mapping and deid is not None, run=uuid.uuid4().hex)
    workers = max(1, min(workers, len(files)))
    with lock_output(output):
        stale = clean_stale_temps(output)
        manifest = Manifest(output / "manifest.json", {"path": str(folder), "fingerprint": fingerprint,
                                                       "backend": getattr(coder, "backend", backend)}, workers, force)
        manifest.data["stale_temp_files_removed"] = stale
        if deid is not None:
            manifest.data["deidentified"] = {"detectors": deid.detectors,
                                             "inputs": "named by sha256 of their bytes, not by path"}
        manifest.save(now=True)
        bar = Progress(len(files), False if batch.quiet else progress)
        if workers > 1 and coder is None:
            results = _in_pool(files, settings, factory, workers, bar.session)
        else:
            get_coder = LazyCoder(factory, coder)
            results = (code_file(p, settings, get_coder, lambda e: bar.session(e["status"], e["turns"])) for p in files)
        try:
            for result in results:
                _record(result, batch, manifest, bar, deid)
        except KeyboardInterrupt:
            manifest.finish("interrupted")
            raise
        except FatalCodingError:
            manifest.finish("failed")
            raise
        finally:
            bar.close()
            if hasattr(results, "close"):
                results.close()  # stops the worker pool now, not at garbage collection
        manifest.finish("complete")
    return manifest.data


def _record(result: FileResult, batch, manifest: Manifest, bar: Progress, deid=None) -> None:
    """Account one finished file: manifest, the Batch's counts (for the exit code), messages."""
    batch.files += 1
    for entry in result.sessions:  # a placeholder table never goes to the manifest
        table = entry.pop("mapping", None)
        if table is not None and deid is not None:
            deid.add_mapping(entry["session_id"], table)
    manifest.add(result)
    if result.error is not None:
        batch.failed.append(result.error)
        bar.say(f"error: {result.error}")
    for entry in result.sessions:
        if entry["status"] == "failed":
            error = TranscriptError(entry["input"], None, f"session {entry['session_id']}: {entry['message']}")
            batch.failed.append(error)
            bar.say(f"error: {error}")
        elif entry["status"] == "coded" and not batch.quiet:
            for warning in entry["warnings"]:
                bar.say(f"warning: {entry['input']}: {entry['session_id']}: {warning}")
    bar.file_done(result.error is not None)
    manifest.save()


# --- worker processes -------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _init_worker(factory: Callable[[], Any], threads: int, events) -> None:
    """Per worker, once: its share of the cores, a lazily loaded model, the progress queue."""
    import signal

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    torch.set_num_threads(threads)
    _WORKER.update(coder=LazyCoder(factory), events=events)


def _work(path: Path, settings: JobSettings) -> FileResult:
    events = _WORKER["events"]
    return code_file(path, settings, _WORKER["coder"], lambda e: events.put((e["status"], e["turns"])))


def _in_pool(files: Iterable[Path], settings: JobSettings, factory: Callable[[], Any], workers: int,
             on_session: Callable[[str, int], None]) -> Iterator[FileResult]:
    """Files coded by `workers` processes, yielded in input order (a bounded window in flight).

    If a worker process dies (killed, out of memory), the pool breaks and every file in
    flight is lost. The files that were in flight are then retried one at a time in a fresh
    pool, so a file that kills a worker again, alone, is the one recorded as failed; the
    rest of the batch goes on.
    """
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch threads
    events = context.Queue()
    threads = max(1, _cores() // workers)

    def new_pool() -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                      initargs=(factory, threads, events))

    def drain() -> None:
        while True:
            try:
                on_session(*events.get_nowait())
            except queue.Empty:
                return

    pool, todo = new_pool(), iter(files)
    pending: deque[list] = deque()  # [path, future or None (not submitted)], in input order
    suspects = 0  # the first `suspects` pending files were in flight when a worker died: run them alone
    try:
        while True:
            while not suspects and len(pending) < 4 * workers and (path := next(todo, None)) is not None:
                pending.append([path, None])
            if not pending:
                return
            for item in list(pending)[: 1 if suspects else len(pending)]:
                if item[1] is None:
                    item[1] = pool.submit(_work, item[0], settings)
            path, future = pending[0]
            try:
                result = future.result(timeout=0.1)
            except cf.TimeoutError:
                drain()
                continue
            except BrokenProcessPool:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
                for item in pending:
                    item[1] = None
                if not suspects:  # retry the files in flight one by one to find the one that kills
                    suspects = len(pending)
                    continue
                result = FileResult(settings.input_name(path), error=TranscriptError(
                    settings.input_name(path), None, "a worker process died while coding this file alone (out of memory? killed?); "
                    "the rest of the batch went on"))
            pending.popleft()
            suspects = max(0, suspects - 1)
            drain()
            yield result
    finally:
        pool.shutdown(wait=sys.exc_info()[0] is None, cancel_futures=True)
