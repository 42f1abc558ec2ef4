"""The segment command: batch behaviour, exit codes, no tracebacks."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from rupture_nlp.cli import app
from rupture_nlp.types import read_jsonl

runner = CliRunner()


def test_every_command_has_help():
    for command in ([], ["segment"], ["formats"]):
        result = runner.invoke(app, command + ["--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_segment_a_folder_recursively_and_round_trip(tmp_path, conversation_files):
    folder = tmp_path / "in" / "nested"
    folder.mkdir(parents=True)
    shutil.copy(conversation_files["txt"], folder / "one.txt")
    shutil.copy(conversation_files["srt"], tmp_path / "in" / "two.srt")
    out = tmp_path / "turns.jsonl"
    result = runner.invoke(app, ["segment", str(tmp_path / "in"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    sessions = read_jsonl(out)
    assert sorted(s.session_id for s in sessions) == ["one", "two"]
    assert [t.text for t in sessions[0].turns] == [t.text for t in sessions[1].turns]
    first = json.loads(out.read_text().splitlines()[0])
    assert {"session_id", "index", "speaker", "role", "text", "sentences", "cues", "source_line"} <= set(first)


def test_batch_goes_on_past_a_bad_file_and_exits_zero(tmp_path, conversation_files):
    bad = tmp_path / "bad.txt"
    bad.write_text("")
    out = tmp_path / "turns.jsonl"
    result = runner.invoke(app, ["segment", str(bad), str(conversation_files["csv"]), "-o", str(out)])
    assert result.exit_code == 0
    assert f"error: {bad}: the file is empty" in result.output
    assert "Traceback" not in result.output
    assert len(read_jsonl(out)) == 1


def test_strict_fails_on_any_bad_file(tmp_path, conversation_files):
    bad = tmp_path / "bad.txt"
    bad.write_text("")
    result = runner.invoke(app, ["segment", str(bad), str(conversation_files["csv"]), "-o", str(tmp_path / "o.jsonl"), "--strict"])
    assert result.exit_code == 1


def test_all_files_failing_exits_nonzero(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("")
    result = runner.invoke(app, ["segment", str(bad), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_role_overrides_from_the_command_line(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("Amy: What brings you in?\nBo: My sister.\nAmy: Tell me more?\nBo: No.\n")
    out = tmp_path / "o.jsonl"
    result = runner.invoke(app, ["segment", str(path), "-o", str(out), "--therapist", "Amy", "--client", "Bo"])
    assert result.exit_code == 0
    assert read_jsonl(out)[0].speakers() == {"Amy": "therapist", "Bo": "client"}
    assert "guessed role" not in result.output


def test_guessed_roles_are_warned_about(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("Amy: What brings you in?\nBo: My sister.\nAmy: Tell me more?\nBo: No.\n")
    result = runner.invoke(app, ["segment", str(path), "-o", str(tmp_path / "o.jsonl")])
    assert "warning:" in result.output and "guessed role therapist for speaker 'Amy'" in result.output
