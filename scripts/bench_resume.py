"""Kill a long `rupture-nlp code` batch with SIGKILL a few times and resume it until done.

Writes N short sessions (default 1,000) built from a handful of distinct exchanges written
for this script -- a load test of the batch machinery, not training or evaluation data; the
labels the model gives them mean nothing. Then runs `python -m rupture_nlp code` on them,
unattended, kills it with SIGKILL at random points (after a random number of outputs has
appeared), and re-runs the same command until it finishes. Prints:

- sessions coded (outputs present and whole at the end);
- files lost: outputs seen after a kill that are missing, changed or not whole at the end,
  plus sessions without a whole output (expected 0);
- sessions redone: outputs that existed after a kill and were rewritten later, measured by
  inode and mtime (every write is a rename, so a rewrite changes the inode) (expected 0);
- temporary files left by the kills and whether the next run removed them;
- total wall time, and the time of a final re-run with nothing left to do.

By default it uses the tiny test model (built from a config in seconds) so the run is
quick; `--model models/rupture-minilm` uses the shipped one.

    python scripts/bench_resume.py [--sessions 1000] [--kills 3] [--workers 1] [--model DIR] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Written for this benchmark; each generated session is one of these plus a numbered closing line.
EXCHANGES = [
    [("Therapist", "How did the week go with the sleep plan we made?"),
     ("Client", "I tried it twice. Honestly it didn't do anything."),
     ("Therapist", "Twice is something. What got in the way the other nights?"),
     ("Client", "I don't know. Stuff. Can we talk about something else?"),
     ("Therapist", "We can. I notice you'd rather not stay on this one.")],
    [("Therapist", "You seem quieter than last time."),
     ("Client", "I'm fine. Just tired."),
     ("Therapist", "Tired in your body, or tired of coming here?"),
     ("Client", "Maybe both. It feels like we go over the same thing every week and nothing changes."),
     ("Therapist", "That's important to hear. Tell me more about the nothing changes part.")],
    [("Therapist", "Last time you said the thought record felt pointless."),
     ("Client", "It is pointless. Writing down what I think doesn't make me think it less."),
     ("Therapist", "I may have pushed that worksheet harder than it deserved."),
     ("Client", "Yeah. You kind of did."),
     ("Therapist", "Then let's set it aside and look at what you'd want from these sessions instead.")],
    [("Client", "My sister called again about Mom's house."),
     ("Therapist", "How was that for you?"),
     ("Client", "Whatever you think I should do, I'll do it. I don't really care anymore."),
     ("Therapist", "You said that quickly. I'm not sure I believe you don't care."),
     ("Client", "[long pause] I care. I'm just tired of being the one who decides.")],
    [("Therapist", "Before we start, how was getting here today?"),
     ("Client", "Traffic. And I almost didn't come, to be honest."),
     ("Therapist", "I'm glad you told me. What made you almost not come?"),
     ("Client", "Last week you said I was avoiding things. That stung."),
     ("Therapist", "I can see how it landed as criticism. That wasn't what I meant, and I'm sorry it hurt.")],
    [("Therapist", "Where would you like to start today?"),
     ("Client", "Mm. I don't know. You pick."),
     ("Therapist", "We could look at the argument with your manager."),
     ("Client", "Sure."),
     ("Therapist", "Sure sounds a bit flat. Is that the right place, or just an easy answer?")],
]


def write_sessions(folder: Path, n: int) -> dict[str, int]:
    """N transcripts; returns session id -> number of turns (as the reader segments them)."""
    from rupture_nlp.io import read_sessions

    folder.mkdir(parents=True, exist_ok=True)
    turns, by_exchange = {}, {}
    for i in range(n):
        k = i % len(EXCHANGES)
        closing = f"Therapist: Let's stop there for today. Same time next week, session {i + 1}."
        path = folder / f"load_{i:05d}.txt"
        path.write_text("\n".join(f"{s}: {t}" for s, t in EXCHANGES[k]) + "\n" + closing + "\n")
        if k not in by_exchange:
            by_exchange[k] = len(read_sessions(path)[0].turns)
        turns[path.stem] = by_exchange[k]
    return turns


def tiny_model(folder: Path) -> Path:
    """The test suite's tiny encoder with untrained heads, saved like the shipped model."""
    sys.path.insert(0, str(REPO / "tests"))
    import torch
    from tiny_model import make_tiny_base
    from transformers import AutoModel, AutoTokenizer

    from rupture_nlp.model import RuptureNet, TransformerCoder

    base = make_tiny_base(folder / "base")
    torch.manual_seed(0)
    coder = TransformerCoder(RuptureNet(AutoModel.from_pretrained(str(base))), AutoTokenizer.from_pretrained(str(base)),
                             {"max_length": 64, "context_turns": 3})
    coder.save(folder / "model")
    return folder / "model"


def whole(path: Path, turns: int) -> bool:
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, ValueError):
        return False
    return len(rows) == turns and all(r.get("provenance", {}).get("model") for r in rows)


def snapshot(out: Path) -> dict[str, tuple[int, int]]:
    return {p.stem: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*.jsonl")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--model", type=Path, help="model folder (default: the tiny test model)")
    parser.add_argument("--workdir", type=Path, help="where inputs and outputs go (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, help="torch threads of the coding process (OMP_NUM_THREADS); "
                        "1 is much faster on a machine that is busy with other work")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_resume_"))
    inputs, out = work / "in", work / "out"
    turns = write_sessions(inputs, args.sessions)
    model = args.model or tiny_model(work)
    command = [sys.executable, "-m", "rupture_nlp", "code", str(inputs), "-o", str(out), "--model", str(model),
               "--quiet", "--workers", str(args.workers)]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(args.threads)} if args.threads else {}))
    print(f"{args.sessions} sessions in {inputs}; model {model}; workers {args.workers}; {args.kills} kills")

    # Kill after a random number of new outputs, spread over the batch.
    targets = sorted(rng.sample(range(args.sessions // 20, args.sessions * 19 // 20), args.kills))
    seen: dict[str, tuple[int, int]] = {}  # output -> (inode, mtime) when first seen after a kill
    temps_after_kills = 0
    started = time.monotonic()
    runs = 0
    while True:
        runs += 1
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        killed = False
        if targets:
            target = targets.pop(0)
            while process.poll() is None:
                if len(list(out.glob("*.jsonl"))) >= target:
                    os.kill(process.pid, signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.01)
        code = process.wait()
        if killed:
            for name, stat in snapshot(out).items():
                seen.setdefault(name, stat)
            temps = len(list(out.glob(".*.part")))
            temps_after_kills += temps
            print(f"run {runs}: SIGKILL after {len(list(out.glob('*.jsonl')))} outputs "
                  f"({temps} temporary file(s) left mid-write), {time.monotonic() - started:.1f} s")
            continue
        if code != 0:
            sys.exit(f"run {runs} failed with exit code {code}:\n{process.stderr.read()}")
        break
    total = time.monotonic() - started
    manifest = json.loads((out / "manifest.json").read_text())
    print(f"run {runs}: finished, {manifest['counts']['coded']} coded, {manifest['counts']['skipped']} skipped "
          f"(already done), {manifest['stale_temp_files_removed']} stale temporary file(s) removed")

    again = time.monotonic()
    subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rerun = time.monotonic() - again

    final = snapshot(out)
    coded = sum(1 for sid, n in turns.items() if sid in final and whole(out / f"{sid}.jsonl", n))
    lost = sum(1 for sid in seen if sid not in final or not whole(out / f"{sid}.jsonl", turns[sid])) \
        + (args.sessions - coded)
    redone = sum(1 for sid, stat in seen.items() if final.get(sid) != stat)
    print(f"sessions coded:        {coded} of {args.sessions}")
    print(f"files lost:            {lost}")
    print(f"sessions redone:       {redone} (of {len(seen)} finished before a kill)")
    print(f"temporary files:       {temps_after_kills} left by kills, {len(list(out.glob('.*.part')))} at the end")
    print(f"total time:            {total:.1f} s over {runs} runs ({args.kills} killed)")
    print(f"re-run with all done:  {rerun:.1f} s (model not loaded)")


if __name__ == "__main__":
    main()
