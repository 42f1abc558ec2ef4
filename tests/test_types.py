"""Session/Turn JSONL round trip and the pandas view."""

from __future__ import annotations

from rupture_nlp.io import read_sessions
from rupture_nlp.types import Coding, read_jsonl, write_jsonl


def test_jsonl_round_trip_is_lossless(tmp_path, conversation_files):
    (session,) = read_sessions(conversation_files["csv"])
    session.turns[1].coding = Coding(marker="withdrawal", subtype="minimal_response", probs={"marker": {"none": 0.2, "confrontation": 0.1, "withdrawal": 0.7}})
    out = tmp_path / "s.jsonl"
    assert write_jsonl([session], out) == len(session.turns)
    (back,) = read_jsonl(out)
    assert back == session


def test_to_pandas_has_one_row_a_turn(conversation_files):
    (session,) = read_sessions(conversation_files["txt"])
    frame = session.to_pandas()
    assert len(frame) == len(session.turns)
    assert list(frame["role"][:2]) == ["therapist", "client"]
    assert frame.loc[1, "cues"] == ["sighs"]


def test_segment_output_reads_back_as_input(tmp_path, conversation_files):
    (session,) = read_sessions(conversation_files["txt"])
    out = tmp_path / "turns.jsonl"
    write_jsonl([session], out)
    (again,) = read_sessions(out)
    assert [(t.role, t.text, [c.text for c in t.cues]) for t in again.turns] == [
        (t.role, t.text, [c.text for c in t.cues]) for t in session.turns
    ]
