"""Every reader yields the same turns for the same conversation."""

from __future__ import annotations

import pytest

from rupture_nlp.io import read_sessions

EXPECTED = [
    ("therapist", "Thanks for coming back. How has the week been since we last met?"),
    ("client", "Honestly? Pretty rough. Work has been a lot."),
    ("therapist", "A lot at work. Tell me more about that."),
    ("client", "I don't know. It's fine."),
    ("therapist", "It sounds like it might not be entirely fine. When your manager called you in on Friday, what happened for you?"),
    ("client", "She said my numbers were down and I just sat there. I didn't say anything."),
    ("therapist", "You sat there and said nothing. That sounds like a lonely place to be. Can I say what I noticed"),
    ("client", "Mm-hm."),
    ("therapist", "just now, when you told me? Your voice got very quiet."),
    ("client", "Yeah. Well. I guess that's just how I am."),
]

FORMATS = ["txt", "csv", "tsv", "vtt", "vtt_prefix", "srt", "whisperx", "convokit", "docx", "docx_table"]


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_yields_identical_turns(conversation_files, name):
    (session,) = read_sessions(conversation_files[name])
    assert [(t.role, t.text) for t in session.turns] == EXPECTED
    assert [t.index for t in session.turns] == list(range(len(EXPECTED)))


@pytest.mark.parametrize("name", ["txt", "csv", "vtt", "srt", "docx"])
def test_cues_leave_the_text_and_stay_on_the_turn(conversation_files, name):
    (session,) = read_sessions(conversation_files[name])
    assert [c.text for c in session.turns[1].cues] == ["sighs"]
    assert [c.text for c in session.turns[5].cues if c.kind == "transcribed"] == ["long pause"]
    assert session.turns[1].cues[0].offset == len("Honestly? Pretty rough.")


@pytest.mark.parametrize("name", ["csv", "vtt", "srt", "whisperx"])
def test_merged_turn_keeps_original_boundaries_and_times(conversation_files, name):
    (session,) = read_sessions(conversation_files[name])
    turn = session.turns[2]
    assert len(turn.spans) == 2
    assert (turn.start, turn.end) == (8.4, 11.0)
    assert [s.start for s in turn.spans] == [8.4, 9.6]


def test_silence_from_timestamp_gap_is_a_cue(conversation_files):
    (session,) = read_sessions(conversation_files["csv"])
    gaps = [c for c in session.turns[3].cues if c.kind == "gap"]
    assert len(gaps) == 1 and gaps[0].seconds == pytest.approx(4.2)


def test_backchannel_inside_the_other_turn_is_kept_and_flagged(conversation_files):
    (session,) = read_sessions(conversation_files["txt"])
    assert session.turns[7].backchannel is True
    assert [t.index for t in session.turns if t.backchannel] == [7]


def test_sentences_come_from_the_sentencizer(conversation_files):
    (session,) = read_sessions(conversation_files["txt"])
    assert session.turns[9].sentences == ["Yeah.", "Well.", "I guess that's just how I am."]


def test_header_lines_before_the_first_turn_are_metadata(conversation_files):
    (session,) = read_sessions(conversation_files["txt"])
    assert session.metadata["header"] == ["Intake follow-up, session 2", "Coder: fixture for rupture-nlp tests"]
    assert session.turns[0].source_line == 4


def test_whisperx_speakers_are_guessed_with_a_warning(conversation_files):
    (session,) = read_sessions(conversation_files["whisperx"])
    assert session.speakers() == {"SPEAKER_00": "therapist", "SPEAKER_01": "client"}
    assert any("SPEAKER_00" in w and "therapist" in w for w in session.warnings)


def test_txt_timestamps_and_labels(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(
        "[00:01:23] THERAPIST (Dr. Lee): How are you feeling today?\n"
        "00:01:30 Ms. D: Tired.\n"
        "Therapist (Dr. Lee) [00:01:41]: Tired how?\n"
        "[00:02:05]\n"
        "Ms. D: Just tired. So: that's all.\n"
    )
    (session,) = read_sessions(path)
    assert [t.start for t in session.turns] == [83.0, 90.0, 101.0, 125.0]
    assert session.turns[3].text == "Just tired. So: that's all."
    assert session.turns[0].role == "therapist" and session.turns[1].role == "client"


def test_csv_with_session_column_yields_many_sessions(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text(
        "case,who,said,clinic\n"
        "A,Counsellor,Hello there.,north\nA,Patient,Hi.,north\n"
        "B,Counsellor,Welcome back.,south\nB,Patient,Thanks.,south\nA,Patient,Sorry I'm late.,north\n"
    )
    sessions = read_sessions(path)
    assert [s.session_id for s in sessions] == ["A", "B"]
    assert [t.text for t in sessions[0].turns] == ["Hello there.", "Hi. Sorry I'm late."]
    assert sessions[1].metadata == {"clinic": "south"}


def test_columns_override(tmp_path):
    from rupture_nlp.io import ReadOptions

    path = tmp_path / "odd.csv"
    path.write_text("Wer,Gesagt\nTherapist,Hallo.\nClient,Hi.\n")
    (session,) = read_sessions(path, options=ReadOptions(columns={"speaker": "Wer", "text": "Gesagt"}))
    assert [t.role for t in session.turns] == ["therapist", "client"]


def test_convokit_meta_role_is_used(tmp_path):
    path = tmp_path / "utterances.jsonl"
    path.write_text(
        '{"id":"1","conversation_id":"c1","speaker":"amy","text":"What brings you in?","meta":{"role":"therapist"}}\n'
        '{"id":"2","conversation_id":"c1","speaker":"bo","text":"My sister made me.","meta":{"role":"client"}}\n'
    )
    (session,) = read_sessions(path)
    assert session.speakers() == {"amy": "therapist", "bo": "client"}
    assert session.warnings == []
