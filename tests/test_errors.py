"""Every bad input gives one TranscriptError naming the file, the line and what to do."""

from __future__ import annotations

import pytest

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io import read_sessions


def error_for(path, **kwargs) -> TranscriptError:
    with pytest.raises(TranscriptError) as info:
        read_sessions(path, **kwargs)
    assert info.value.path == str(path)
    return info.value


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".vtt", ".srt", ".json", ".jsonl"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_text("  \n\n")
    assert "empty" in error_for(path).message


def test_no_speaker_labels(tmp_path):
    path = tmp_path / "prose.txt"
    path.write_text("\nthe client came in and sat down. we talked about work.\nit went fine\n")
    error = error_for(path)
    assert "no speaker labels" in error.message and error.line == 2


def test_binary_input(tmp_path):
    path = tmp_path / "audio.txt"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt \x00\x01")
    assert "binary" in error_for(path).message


def test_undecodable_bytes_name_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"Therapist: hello\nClient: caf\x81\x8d\n")
    error = error_for(path)
    assert error.line == 2 and "utf-8, utf-8-sig, cp1252" in error.message


def test_cp1252_decodes_and_says_so(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"Therapist: How was the caf\xe9?\nClient: Fine.\n")
    (session,) = read_sessions(path)
    assert session.turns[0].text == "How was the café?"
    assert "decoded as cp1252" in session.warnings


def test_bom_is_ignored(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffspeaker,text\r\nTherapist,Hi.\r\nClient,Hello.\r\n".encode("utf-8"))
    (session,) = read_sessions(path)
    assert [t.role for t in session.turns] == ["therapist", "client"]


def test_malformed_vtt(tmp_path):
    path = tmp_path / "bad.vtt"
    path.write_text("Therapist: this is not a vtt file\n")
    error = error_for(path)
    assert "WEBVTT" in error.message and error.line == 1


def test_malformed_srt_names_the_line(tmp_path):
    path = tmp_path / "bad.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nTherapist: Hi.\n\n2\n00:00:03,000 -> 00:00:04,000\nClient: x\n")
    error = error_for(path)
    assert "malformed SRT" in error.message and error.line == 5


def test_malformed_json_names_the_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"segments": [\n  {"text": "hi", "speaker": "SPEAKER_00"},\n  {"text": , "speaker": "SPEAKER_01"}\n]}\n')
    error = error_for(path)
    assert "malformed JSON" in error.message and error.line == 3


def test_plain_whisper_without_speakers_says_to_diarize(tmp_path):
    path = tmp_path / "whisper.json"
    path.write_text('{"text": "hi there", "segments": [{"id": 0, "start": 0, "end": 1, "text": " hi there"}]}')
    assert "diarization" in error_for(path).message


def test_malformed_docx(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_text("Therapist: I am really a text file\n")
    assert "not a valid .docx" in error_for(path).message


def test_csv_row_without_speaker_names_its_line(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("speaker,text\nTherapist,Hi.\n,who said this?\n")
    error = error_for(path)
    assert error.line == 3 and "no speaker" in error.message


def test_csv_without_text_column(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("speaker,words\nTherapist,Hi.\n")
    error = error_for(path)
    assert "--columns text=" in error.message and error.line == 1


def test_unknown_extension_and_format(tmp_path):
    path = tmp_path / "session.xyz"
    path.write_text("Therapist: hi\n")
    assert "--format" in error_for(path).message
    assert "unknown format" in error_for(path, format="pdf").message


def test_directory_named_like_a_file(tmp_path):
    path = tmp_path / "session.txt"
    path.mkdir()
    assert "directory" in error_for(path).message
