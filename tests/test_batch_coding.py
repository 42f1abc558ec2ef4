"""Batch coding that resumes: skips current sessions, redoes changed ones, survives kill -9, runs workers.

The model is an untrained tiny encoder (built from a config in seconds): these tests are
about which sessions get coded and what lands on disk, not about the labels.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rupture_nlp.cli import Batch, app
from rupture_nlp.coding_io import LOCK_NAME, OutputBusyError, lock_output
from rupture_nlp.coding_run import run_coding

from tiny_model import save_untrained_tiny

REPO = Path(__file__).resolve().parents[1]

# Short exchanges written for these tests (not from any corpus).
EXCHANGES = [
    [("Therapist", "How did the week go with the sleep plan?"), ("Client", "I tried it twice. It did not help at all."),
     ("Therapist", "Twice is a start. What happened the other nights?"), ("Client", "Whatever. I dunno.")],
    [("Therapist", "You seem quieter than last time."), ("Client", "I'm fine. Just tired."),
     ("Therapist", "Tired how?"), ("Client", "Work has been a lot, and I keep thinking this is not helping.")],
    [("Therapist", "Last session you said the homework felt pointless."), ("Client", "It does. The sheet is pointless."),
     ("Therapist", "I hear that. I may have pushed it too hard."), ("Client", "Yeah. Maybe we can try something else.")],
]


def write_sessions(folder: Path, n: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        lines = [f"{speaker}: {text}" for speaker, text in EXCHANGES[i % len(EXCHANGES)]]
        path = folder / f"s{i:03d}.txt"
        path.write_text("\n".join(lines) + f"\nTherapist: Thank you, see you next week ({i}).\n")
        paths.append(path)
    return paths


def write_multi_csv(path: Path, sessions: int = 3) -> Path:
    rows = ["session_id,speaker,text"]
    for s in range(sessions):
        rows += [f"group{s},{speaker},\"{text}\"" for speaker, text in EXCHANGES[s % len(EXCHANGES)]]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny (untrained) checkpoint in the shipped layout."""
    return save_untrained_tiny(tmp_path_factory.mktemp("base"), tmp_path_factory.mktemp("tiny") / "model")


class Spy:
    """A coder that records which sessions it codes (and can fail on one)."""

    def __init__(self, model_dir: Path, fail_on: str | None = None) -> None:
        from rupture_nlp.model import TransformerCoder

        self.inner = TransformerCoder.load(model_dir)
        self.fail_on = fail_on
        self.coded: list[str] = []

    def code(self, session):
        if session.session_id == self.fail_on:
            raise RuntimeError("boom")
        self.coded.append(session.session_id)
        return self.inner.code(session)


def batch(*paths: Path, **roles) -> Batch:
    return Batch(list(paths), None, roles.get("therapist"), None, None, None, quiet=True)


def stats(out: Path) -> dict[str, tuple[int, int]]:
    """Output name -> (inode, mtime_ns): any rewrite (atomic rename) changes the inode."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(out.glob("*.jsonl"))}


def test_rerun_skips_done_sessions_without_loading_or_running_the_model(tmp_path, model_dir):
    inputs = tmp_path / "in"
    write_sessions(inputs, 4)
    write_multi_csv(inputs / "groups.csv")
    out = tmp_path / "out"
    first = Spy(model_dir)
    manifest = run_coding(batch(inputs), out, model_dir, coder=first)
    assert sorted(first.coded) == ["group0", "group1", "group2", "s000", "s001", "s002", "s003"]
    assert manifest["counts"] == {"coded": 7, "skipped": 0, "failed": 0} and manifest["state"] == "complete"
    before = stats(out)
    assert len(before) == 7

    loads = []
    manifest = run_coding(batch(inputs), out, model_dir, coder_factory=lambda: loads.append(1) or Spy(model_dir))
    assert loads == []  # the model was never even loaded
    assert manifest["counts"] == {"coded": 0, "skipped": 7, "failed": 0}
    assert {o["status"] for o in manifest["outputs"]} == {"skipped"}
    assert stats(out) == before  # no file rewritten

    again = Spy(model_dir)
    manifest = run_coding(batch(inputs), out, model_dir, coder=again, force=True)
    assert len(again.coded) == 7 and manifest["counts"]["coded"] == 7
    assert all(stats(out)[name][0] != before[name][0] for name in before)  # --force rewrote every file


def test_a_changed_input_option_or_model_redoes_exactly_the_affected_sessions(tmp_path, model_dir):
    inputs = tmp_path / "in"
    paths = write_sessions(inputs, 4)
    csv = write_multi_csv(inputs / "groups.csv")
    out = tmp_path / "out"
    run_coding(batch(inputs), out, model_dir, coder=Spy(model_dir))

    paths[1].write_text(paths[1].read_text().replace("quieter", "much quieter"))
    csv.write_text(csv.read_text().replace("pointless.\"", "useless.\""))
    spy = Spy(model_dir)
    run_coding(batch(inputs), out, model_dir, coder=spy)
    assert sorted(spy.coded) == ["group0", "group1", "group2", "s001"]  # the whole changed CSV, one txt

    spy = Spy(model_dir)  # a reader option that changes the result counts as a changed input
    run_coding(batch(paths[2], therapist=["Therapist"]), out, model_dir, coder=spy)
    assert spy.coded == ["s002"]

    spy = Spy(model_dir)  # another model: everything again
    manifest = run_coding(batch(inputs), out, model_dir, coder=spy, fingerprint="another-model")
    assert len(spy.coded) == 7 and manifest["model"]["fingerprint"] == "another-model"
    rows = [json.loads(line) for line in (out / "s000.jsonl").read_text().splitlines()]
    assert {r["provenance"]["model"] for r in rows} == {"another-model"}


def test_a_failing_session_is_recorded_and_only_it_is_redone(tmp_path, model_dir):
    inputs = tmp_path / "in"
    write_sessions(inputs, 3)
    (inputs / "broken.vtt").write_text("not a vtt")
    out = tmp_path / "out"
    b = batch(inputs)
    manifest = run_coding(b, out, model_dir, coder=Spy(model_dir, fail_on="s001"))
    assert manifest["counts"] == {"coded": 2, "skipped": 0, "failed": 2}
    errors = {(e["input"].split("/")[-1], e.get("session_id")) for e in manifest["errors"]}
    assert errors == {("broken.vtt", None), ("s001.txt", "s001")}
    assert b.exit_code(strict=True) == 1 and b.exit_code(strict=False) == 0
    saved = json.loads((out / "manifest.json").read_text())
    assert saved["counts"] == manifest["counts"] and saved["state"] == "complete"

    spy = Spy(model_dir)
    run_coding(batch(inputs), out, model_dir, coder=spy)
    assert spy.coded == ["s001"]


def test_stale_temp_files_are_removed_and_never_read_as_outputs(tmp_path, model_dir):
    inputs = tmp_path / "in"
    write_sessions(inputs, 2)
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".s000.jsonl.k3j2h1.part"
    stale.write_text('{"session_id": "s000", "tur')  # what a kill mid-write leaves
    manifest = run_coding(batch(inputs), out, model_dir, coder=Spy(model_dir))
    assert not stale.exists() and manifest["stale_temp_files_removed"] == 1
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "manifest.json", "s000.jsonl", "s001.jsonl"]
    assert oct((out / "s000.jsonl").stat().st_mode & 0o777) != oct(0o600)  # not left private like a temp file


def test_one_output_folder_takes_one_run_at_a_time(tmp_path):
    with lock_output(tmp_path):
        with pytest.raises(OutputBusyError, match="another 'rupture-nlp code' run"):
            with lock_output(tmp_path):
                pass
    with lock_output(tmp_path):  # released again
        pass


def test_two_inputs_with_one_session_id_keep_both_outputs_and_resume(tmp_path, model_dir):
    a, b = tmp_path / "a", tmp_path / "b"
    write_sessions(a, 1)
    write_sessions(b, 1, start=1)
    (b / "s001.txt").rename(b / "s000.txt")  # same session id, different conversation
    out = tmp_path / "out"
    manifest = run_coding(batch(a, b), out, model_dir, coder=Spy(model_dir))
    names = [Path(o["output"]).name for o in manifest["outputs"]]
    assert names[0] == "s000.jsonl" and names[1].startswith("s000-") and len(set(names)) == 2
    spy = Spy(model_dir)
    manifest = run_coding(batch(a, b), out, model_dir, coder=spy)
    assert spy.coded == [] and [Path(o["output"]).name for o in manifest["outputs"]] == names


def test_progress_bar_on_request_and_quiet(tmp_path, model_dir):
    inputs = tmp_path / "in"
    write_sessions(inputs, 2)
    runner = CliRunner()
    shown = runner.invoke(app, ["code", str(inputs), "-o", str(tmp_path / "o1"), "--model", str(model_dir), "--progress"])
    assert shown.exit_code == 0, shown.output
    assert "2/2" in shown.output and "file/s" in shown.output and "turns/s" in shown.output
    quiet = runner.invoke(app, ["code", str(inputs), "-o", str(tmp_path / "o2"), "--model", str(model_dir), "--quiet",
                                "--progress"])
    assert quiet.exit_code == 0 and "turns/s" not in quiet.output and "2 sessions coded" in quiet.output
    plain = runner.invoke(app, ["code", str(inputs), "-o", str(tmp_path / "o1"), "--model", str(model_dir)])
    assert "turns/s" not in plain.output  # not a terminal: no bar by default
    assert "0 sessions coded, 2 already done (skipped)" in plain.output


@pytest.mark.slow  # starts worker processes (each imports torch)
def test_workers_give_the_same_files_and_a_bad_file_does_not_stop_them(tmp_path, model_dir):
    inputs = tmp_path / "in"
    write_sessions(inputs, 5)
    write_multi_csv(inputs / "groups.csv")
    (inputs / "s002.txt").write_bytes(b"\x00\x01binary")
    runner = CliRunner()
    outs = {}
    for n in (1, 2):
        outs[n] = tmp_path / f"out{n}"
        result = runner.invoke(app, ["code", str(inputs), "-o", str(outs[n]), "--model", str(model_dir), "--workers", str(n)])
        assert result.exit_code == 0, result.output
        assert "s002.txt:1: " in result.output and "binary file" in result.output
    files = {n: {p.name: p.read_bytes() for p in outs[n].glob("*.jsonl")} for n in outs}
    assert len(files[1]) == 7 and files[1] == files[2]
    manifests = {n: json.loads((outs[n] / "manifest.json").read_text()) for n in outs}
    assert manifests[2]["workers"] == 2 and manifests[2]["counts"] == {"coded": 7, "skipped": 0, "failed": 1}
    assert [Path(e["input"]).name for e in manifests[2]["errors"]] == ["s002.txt"]
    strip = [{k: v for k, v in o.items() if k != "output"} for o in manifests[1]["outputs"]]
    assert strip == [{k: v for k, v in o.items() if k != "output"} for o in manifests[2]["outputs"]]


SLOW_WRITES = """
import os, time
_link, _replace = os.link, os.replace

def _slow(real):
    def wrapper(src, dst, *args, **kwargs):
        if str(dst).endswith(".jsonl"):
            time.sleep(float(os.environ.get("SLOW_WRITE_SECONDS", "0")))  # the temp file is written, not yet renamed
        return real(src, dst, *args, **kwargs)
    return wrapper

os.link, os.replace = _slow(_link), _slow(_replace)
"""


@pytest.mark.slow  # two `python -m rupture_nlp` processes
def test_kill_9_mid_batch_leaves_no_partial_file_and_a_rerun_finishes_the_rest(tmp_path, model_dir):
    inputs, out = tmp_path / "in", tmp_path / "out"
    write_sessions(inputs, 24)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_WRITES)  # test hook: each output rename waits 0.15 s
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])), SLOW_WRITE_SECONDS="0.15", OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "rupture_nlp", "code", str(inputs), "-o", str(out), "--model", str(model_dir), "-q"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:  # kill while an output is mid-write
        if len(list(out.glob("*.jsonl"))) >= 4 and list(out.glob(".*.part")):
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    assert process.wait(timeout=30) == -signal.SIGKILL, process.stderr.read().decode()

    assert list(out.glob(".s*.jsonl.*.part"))  # the kill did land mid-write
    done = stats(out)
    assert 4 <= len(done) < 24
    for path in out.glob("*.jsonl"):  # every output present is whole
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(rows) == 5 and rows[0]["provenance"]["model"]
    assert json.loads((out / "manifest.json").read_text())["state"] == "running"  # a consistent snapshot

    rerun = subprocess.run(command, cwd=REPO, env=dict(env, SLOW_WRITE_SECONDS="0"), capture_output=True, text=True,
                           timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"coded": 24 - len(done), "skipped": len(done), "failed": 0}
    assert manifest["stale_temp_files_removed"] >= 1 and not list(out.glob(".*.part"))
    after = stats(out)
    assert len(after) == 24 and {name: after[name] for name in done} == done  # nothing finished was redone

    clean = tmp_path / "clean"  # and the result is what an uninterrupted run gives
    run_coding(batch(inputs), clean, model_dir)
    assert {p.name: p.read_bytes() for p in out.glob("*.jsonl")} == {p.name: p.read_bytes() for p in clean.glob("*.jsonl")}


WORKER_DIES = """
import multiprocessing, os, pathlib
_read_bytes = pathlib.Path.read_bytes

def read_bytes(self):
    if "dies" in self.name and multiprocessing.parent_process() is not None:
        os._exit(9)  # a worker process dies outright (as when the OOM killer takes it)
    return _read_bytes(self)

pathlib.Path.read_bytes = read_bytes
"""


@pytest.mark.slow  # starts worker processes (twice: the pool is replaced after the death)
def test_a_worker_that_dies_fails_only_its_file(tmp_path, model_dir, monkeypatch):
    inputs = tmp_path / "in"
    write_sessions(inputs, 5)
    (inputs / "s001.txt").rename(inputs / "s001_dies.txt")
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(WORKER_DIES)  # test hook, loaded by the spawned workers only
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])))
    b = batch(inputs)
    manifest = run_coding(b, tmp_path / "out", model_dir, workers=2)
    assert [Path(e["input"]).name for e in manifest["errors"]] == ["s001_dies.txt"]
    assert "worker process died" in manifest["errors"][0]["message"]
    assert [o["session_id"] for o in manifest["outputs"]] == ["s000", "s002", "s003", "s004"]
    assert b.exit_code(strict=False) == 0
