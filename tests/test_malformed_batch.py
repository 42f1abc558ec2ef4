"""A folder of good and broken transcripts through `segment` and `code`.

The batch contract (README, `cli.Batch.exit_code`): every bad file is reported once as
`error: PATH[:LINE]: message` and skipped, every good file is read or coded, the exit
status is 0 unless every file failed or `--strict` is given, and no traceback is printed.
Which inputs count as bad is a decision recorded here and in docs/i8-fuzz.md: an
encoding (BOM, CRLF/CR, cp1252, UTF-16), invisible characters, emoji and a directory
named like a file are *good*; a truncated file, a NUL byte, a 10 MB "turn" (line breaks
lost), a row or line without a speaker and a broken Word file are *bad*.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES
from rupture_nlp.cli import app
from rupture_nlp.types import read_jsonl

from tiny_model import train_tiny

runner = CliRunner()
TXT = (FIXTURES / "conversation.txt").read_text(encoding="utf-8")
SRT = (FIXTURES / "conversation.srt").read_text(encoding="utf-8")
CSV = (FIXTURES / "conversation.csv").read_text(encoding="utf-8")
WHISPERX = (FIXTURES / "conversation_whisperx.json").read_text(encoding="utf-8")
JSONL = (FIXTURES / "conversation_utterances.jsonl").read_text(encoding="utf-8")
TEN_MB = 10 * 1024 * 1024


def make_folder(root: Path) -> tuple[dict[str, int], dict[str, int | None]]:
    """Write the batch; return {good file: sessions expected} and {bad file: line expected}."""
    root.mkdir(parents=True, exist_ok=True)
    good = {
        "plain.txt": 1,
        "spreadsheet.csv": 1,
        "bom_crlf.txt": 1,
        "old_mac_cr.srt": 1,
        "windows_cp1252.txt": 1,
        "utf16.srt": 1,
        "marks_and_emoji.txt": 1,
        "session.txt/inside.vtt": 1,  # a folder named like a file is searched like any folder
        "whisperx.json": 1,
    }
    (root / "plain.txt").write_text(TXT, encoding="utf-8")
    (root / "spreadsheet.csv").write_text(CSV, encoding="utf-8")
    (root / "bom_crlf.txt").write_bytes(b"\xef\xbb\xbf" + TXT.replace("\n", "\r\n").encode("utf-8"))
    (root / "old_mac_cr.srt").write_bytes(SRT.replace("\n", "\r").encode("utf-8"))
    (root / "windows_cp1252.txt").write_bytes(
        "Therapist: Café first \u2013 how was the week?\nClient: Na\u00efve of me, I know \u201cfine\u201d isn\u2019t an answer.\n"
        .encode("cp1252"))
    (root / "utf16.srt").write_bytes(SRT.encode("utf-16"))
    (root / "marks_and_emoji.txt").write_text(
        "\u200bTherapist\u200e: How are you doing today? \U0001F642\n"
        "\u202bClient\u202c: \u05e9\u05dc\u05d5\u05dd, fine \U0001F469\u200d\U0001F467 [laughs]\n"
        "Therapist: Tell me more.\n: (a line with an empty label continues the turn)\n"
        "Client: I don't know.\n", encoding="utf-8")
    (root / "session.txt").mkdir()
    (root / "session.txt" / "inside.vtt").write_text(
        "WEBVTT\n\n00:00.000 --> 00:02.000\n<v Therapist>How was it?\n\n00:02.500 --> 00:04.000\n<v Client>Hard.\n",
        encoding="utf-8")
    (root / "whisperx.json").write_text(WHISPERX, encoding="utf-8")

    bad: dict[str, int | None] = {
        "truncated.json": 6,  # cut mid-object: malformed JSON at the line where it ends
        "truncated.jsonl": 3,  # last line cut in half
        "nul_byte.txt": 3,
        "ten_mb_line.txt": 2,
        "empty_speaker.csv": 3,
        "empty_speaker.jsonl": 2,
        "not_really.docx": None,  # no line in a binary file
        "empty.srt": None,
    }
    (root / "truncated.json").write_text("\n".join(WHISPERX.splitlines()[:6]), encoding="utf-8")
    (root / "truncated.jsonl").write_text("\n".join(JSONL.splitlines()[:2]) + "\n" + JSONL.splitlines()[2][:40],
                                          encoding="utf-8")
    (root / "nul_byte.txt").write_bytes(b"Therapist: Hi.\nClient: Hello.\nTherapist: \x00\x00\x00\n")
    with open(root / "ten_mb_line.txt", "w", encoding="utf-8") as handle:
        handle.write("Therapist: Go on.\nClient: ")
        handle.write("and " * (TEN_MB // 4))
        handle.write("\n")
    (root / "empty_speaker.csv").write_text("speaker,text\nTherapist,How are you?\n,I am fine.\n", encoding="utf-8")
    lines = JSONL.splitlines()
    second = json.loads(lines[1])
    second["speaker"] = ""
    (root / "empty_speaker.jsonl").write_text("\n".join([lines[0], json.dumps(second)] + lines[2:]) + "\n")
    (root / "not_really.docx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    (root / "empty.srt").write_bytes(b"\r\n\r\n")
    return good, bad


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("malformed") / "in"
    good, bad = make_folder(root)
    return root, good, bad


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("model"))


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def assert_one_error_per_bad_file(output: str, root: Path, bad: dict[str, int | None]) -> None:
    errors = error_lines(output)
    assert len(errors) == len(bad), "\n".join(errors)
    for name, line in bad.items():
        where = f"error: {root / name}:{line}: " if line else f"error: {root / name}: "
        assert sum(e.startswith(where) for e in errors) == 1, (name, errors)
    assert "Traceback" not in output


def test_segment_reads_every_good_file_and_reports_each_bad_one_once(batch, tmp_path):
    root, good, bad = batch
    out = tmp_path / "turns.jsonl"
    result = runner.invoke(app, ["segment", str(root), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert_one_error_per_bad_file(result.output, root, bad)
    files = len(good) + len(bad)
    assert f"{len(good)} of {files} files read" in result.output
    sessions = read_jsonl(out)
    assert len(sessions) == sum(good.values())
    by_id = {s.session_id: s for s in sessions}
    for name in ("plain", "bom_crlf", "old_mac_cr", "utf16"):  # the same conversation in other bytes
        assert [t.text for t in by_id[name].turns] == [t.text for t in by_id["plain"].turns], name
    assert by_id["windows_cp1252"].turns[1].text.startswith("Na\u00efve of me")
    marks = by_id["marks_and_emoji"]
    assert [(t.speaker, t.role) for t in marks.turns] == [
        ("Therapist", "therapist"), ("Client", "client"), ("Therapist", "therapist"), ("Client", "client")]
    assert "\U0001F469\u200d\U0001F467" in marks.turns[1].text and [c.text for c in marks.turns[1].cues] == ["laughs"]


def test_strict_makes_any_bad_file_fail_the_run(batch, tmp_path):
    root, _, bad = batch
    result = runner.invoke(app, ["segment", str(root), "-o", str(tmp_path / "t.jsonl"), "--strict"])
    assert result.exit_code == 1 and len(error_lines(result.output)) == len(bad) and "Traceback" not in result.output


def test_a_folder_of_only_bad_files_fails_and_still_reports_each(tmp_path):
    root = tmp_path / "bad_only"
    _, bad = make_folder(root)
    for path in sorted(root.rglob("*"), reverse=True):
        if path.relative_to(root).as_posix() not in bad:
            path.rmdir() if path.is_dir() else path.unlink()
    result = runner.invoke(app, ["segment", str(root), "-o", str(tmp_path / "t.jsonl")])
    assert result.exit_code == 1
    assert_one_error_per_bad_file(result.output, root, bad)


def test_code_codes_the_good_files_and_lists_the_bad_ones_in_the_manifest(batch, tiny_model_dir, tmp_path):
    root, good, bad = batch
    out = tmp_path / "coded"
    result = runner.invoke(app, ["code", str(root), "-o", str(out), "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert_one_error_per_bad_file(result.output, root, bad)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["outputs"]) == sum(good.values()) == manifest["sessions"]
    assert {Path(o["input"]).relative_to(root).as_posix() for o in manifest["outputs"]} == set(good)
    assert {(Path(e["input"]).name, e["line"]) for e in manifest["errors"]} == {(Path(n).name, l) for n, l in bad.items()}
    written = sorted(p.name for p in out.iterdir() if p.suffix == ".jsonl")
    assert written == sorted(Path(o["output"]).name for o in manifest["outputs"])
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_the_real_command_prints_no_traceback_and_stays_small(batch, tmp_path):
    """Out of process, as a user runs it: stderr has the errors and no traceback; the 10 MB
    line neither hangs nor takes much memory (peak RSS under 1 GB, CPU under a minute)."""
    root, good, bad = batch
    code = ("import resource, runpy, sys; sys.argv = ['rupture-nlp'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('rupture_nlp', run_name='__main__')\n"
            "finally:\n    use = resource.getrusage(resource.RUSAGE_SELF)\n"
            # VmHWM is this process's own peak; ru_maxrss can carry the forking parent's (pytest's) peak
            "    status = open('/proc/self/status').read() if sys.platform == 'linux' else ''\n"
            "    hwm = [int(l.split()[1]) for l in status.splitlines() if l.startswith('VmHWM:')]\n"
            "    peak = hwm[0] if hwm else use.ru_maxrss\n"
            "    print('peak_rss_kb', peak, 'cpu_s', use.ru_utime + use.ru_stime, file=sys.stderr)\n")
    # CPU time, not wall time, is the hang check: a busy CI machine may run it slowly
    proc = subprocess.run([sys.executable, "-c", code, "segment", str(root), "-o", str(tmp_path / "t.jsonl")],
                          capture_output=True, text=True, timeout=900, cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr
    assert_one_error_per_bad_file(proc.stderr, root, bad)
    peak_kb, cpu = re.search(r"peak_rss_kb (\d+) cpu_s ([\d.]+)", proc.stderr).groups()
    assert int(peak_kb) < 1_000_000 and float(cpu) < 60, (peak_kb, cpu)
