"""Regression examples for the reader bugs the fuzzing found (one test a bug).

Each input here once escaped as a generic "could not read/segment: SomeError" (a reader
crash the batch wrapper caught), was rejected although it is a good file, or was
rejected without the line. The fuzz property in `fuzz_inputs.check_read` would fail on
each of them again.
"""

from __future__ import annotations

import json

import pytest

from fuzz_inputs import check_read
from rupture_nlp.errors import TranscriptError
from rupture_nlp.io import read_sessions
from rupture_nlp.segment import MAX_TURN_CHARS


def _read_error(path) -> TranscriptError:
    with pytest.raises(TranscriptError) as info:
        read_sessions(path)
    check_read(path)  # and the error keeps the contract
    return info.value


def test_a_huge_single_line_is_a_clear_error_with_its_line_not_a_spacy_crash(tmp_path):
    path = tmp_path / "lost_line_breaks.txt"
    path.write_text("Therapist: Hello.\nClient: " + "and then " * 1_200_000 + "\n", encoding="utf-8")
    error = _read_error(path)
    assert error.line == 2 and f"{MAX_TURN_CHARS:,}" in error.message and "line breaks" in error.message


def test_a_long_but_plausible_turn_still_reads(tmp_path):
    path = tmp_path / "monologue.txt"
    path.write_text("Therapist: Go on.\nClient: " + "I kept thinking about it. " * 2000 + "\n", encoding="utf-8")
    (session,) = read_sessions(path)
    assert len(session.turns[1].text) > 50_000


def test_one_speaker_merged_past_the_limit_is_an_error_naming_the_turn(tmp_path):
    path = tmp_path / "rows.csv"
    row = "Client," + "word " * 15_000 + "\n"
    path.write_text("speaker,text\nTherapist,Hi\n" + row * 8, encoding="utf-8")
    error = _read_error(path)
    assert error.line == 3 and "without a turn by anyone else" in error.message


def test_turn_file_with_session_meta_that_is_not_an_object(tmp_path):
    path = tmp_path / "turns.jsonl"
    path.write_text(json.dumps({"session_id": "a", "speaker": "T", "text": "hi", "session_meta": "oops"}) + "\n")
    error = _read_error(path)
    assert error.line == 1 and "session_meta" in error.message


@pytest.mark.parametrize("offset", ["x", 1e300, None, True, -5, [1]])
def test_turn_file_cues_with_odd_offsets_keep_the_cue(tmp_path, offset):
    path = tmp_path / "turns.jsonl"
    record = {"session_id": "a", "speaker": "Client", "text": "I don't know.", "cues": [{"text": "sighs", "offset": offset}]}
    path.write_text(json.dumps(record) + "\n")
    (session,) = check_read(path)
    assert [c.text for c in session.turns[0].cues] == ["sighs"] and session.turns[0].text == "I don't know."


def test_whisperx_word_speaker_that_is_not_a_string(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"segments": [{"text": "hi", "words": [{"word": "hi", "speaker": ["SPEAKER_00"]}]}]}))
    error = _read_error(path)
    assert "no speaker" in error.message


def test_whisperx_segment_speaker_of_a_wrong_type_is_named(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"segments": [{"text": "Hi.", "speaker": "SPEAKER_00"}, {"text": "Yo.", "speaker": {"a": 1}}]}))
    error = _read_error(path)
    assert "segment 1" in error.message and "not a name" in error.message


def test_whisperx_numbered_speakers_and_non_finite_times_read(tmp_path):
    path = tmp_path / "w.json"
    path.write_text('{"segments": [{"text": "How are you?", "speaker": 0, "start": NaN, "end": Infinity},'
                    ' {"text": "Fine.", "speaker": 1, "start": true}]}')
    (session,) = check_read(path)
    assert [t.speaker for t in session.turns] == ["0", "1"]
    assert session.turns[0].start is None and session.turns[0].end is None and session.turns[1].start is None


@pytest.mark.parametrize("mark", ["\u200b", "\ufeff", "\u200e", "\u200f", "\u202e", "\u2066", "\u2060"])
def test_invisible_characters_around_labels_do_not_hide_the_speakers(tmp_path, mark):
    path = tmp_path / "marks.txt"
    path.write_text(f"{mark}Therapist{mark}: How was the week?\n{mark}Client: Fine {mark}really.\n", encoding="utf-8")
    (session,) = check_read(path)
    assert [(t.speaker, t.role) for t in session.turns] == [("Therapist", "therapist"), ("Client", "client")]
    assert mark in session.turns[1].text or mark == "\ufeff"  # spoken text is kept as written


def test_invisible_characters_before_subtitle_labels(tmp_path):
    path = tmp_path / "marks.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\n\u200fTherapist: Hi.\n\n"
                    "2\n00:00:03,000 --> 00:00:04,000\n\u200bClient: Hello.\n", encoding="utf-8")
    (session,) = check_read(path)
    assert [t.speaker for t in session.turns] == ["Therapist", "Client"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_reads(tmp_path, encoding):
    path = tmp_path / "u16.txt"
    path.write_bytes("Therapist: How was the week?\nClient: Não sei.\n".encode(encoding))
    (session,) = check_read(path)
    assert session.turns[1].text == "Não sei." and session.warnings[0] == "decoded as utf-16"


def test_a_nul_byte_is_reported_on_its_line(tmp_path):
    path = tmp_path / "nul.txt"
    path.write_bytes(b"Therapist: Hi.\nClient: Hello.\nTherapist: a\x00b\n")
    error = _read_error(path)
    assert error.line == 3 and "NUL" in error.message


def test_jsonl_lines_end_at_newline_only(tmp_path):
    """`segment` writes JSON with raw non-ASCII; a U+2028 or U+0085 inside a string is not a line end."""
    path = tmp_path / "turns.jsonl"
    rows = [{"session_id": "s\u2028x", "speaker": "Therapist", "text": "Hi.", "session_meta": {"note": "a\x85b\x1cc"}},
            {"session_id": "s\u2028x", "speaker": "Client", "text": "Hello."}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in rows), encoding="utf-8")
    (session,) = check_read(path)
    assert session.session_id == "s\u2028x" and session.metadata == {"note": "a\x85b\x1cc"} and len(session.turns) == 2


@pytest.mark.parametrize("suffix", [".srt", ".vtt", ".jsonl"])
def test_old_mac_cr_line_ends_read_like_newlines(tmp_path, suffix):
    from fuzz_inputs import SEEDS

    path = tmp_path / f"cr{suffix}"
    path.write_bytes(SEEDS[suffix].replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    same = tmp_path / f"lf{suffix}"
    same.write_bytes(SEEDS[suffix])
    assert [t.text for t in check_read(path)[0].turns] == [t.text for t in check_read(same)[0].turns]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes are POSIX-only")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_device_named_on_the_command_line_is_an_error_not_a_hang(tmp_path, kind):
    import os
    import threading

    path = tmp_path / "session.txt"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_sessions(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert outcome and isinstance(outcome[0], TranscriptError) and "not a regular file" in outcome[0].message
