"""Segmenting sessions (by time, by turns) and the 3RS salience sheet."""

from __future__ import annotations

import csv

import pytest

from rupture_nlp.salience import salience, segment_rows, session_rows, turn_weights, write_sheet
from rupture_nlp.segments import DEFAULT_WINDOW_TURNS, segment_all, segment_session


def test_segments_by_time_when_every_turn_has_a_start():
    segments, of_turn = segment_session("s", [(0, 0.0), (1, 100.0), (2, 299.9), (3, 300.0), (4, 650.0)])
    assert of_turn == {0: 0, 1: 0, 2: 0, 3: 1, 4: 2}
    assert [s.label for s in segments] == ["00:00-05:00", "05:00-10:00", "10:00-15:00"]
    assert all(s.unit == "minutes" for s in segments)


def test_empty_five_minute_span_is_kept():
    segments, of_turn = segment_session("s", [(0, 10.0), (1, 700.0)])
    assert len(segments) == 3 and of_turn == {0: 0, 1: 2} and segments[1].first_turn is None


def test_segments_by_turns_without_times_or_when_asked():
    turns = [(i, None) for i in range(5)]
    _, of_turn = segment_session("s", turns, window_turns=2)
    assert of_turn == {0: 0, 1: 0, 2: 1, 3: 1, 4: 2}
    segments, of_turn = segment_session("s", [(i, None) for i in range(DEFAULT_WINDOW_TURNS + 1)])
    assert len(segments) == 2 and segments[1].label == f"turns {DEFAULT_WINDOW_TURNS}-{DEFAULT_WINDOW_TURNS}"
    timed = [(i, i * 100.0) for i in range(5)]
    assert segment_session("s", timed, window_turns=2)[0][0].unit == "turns"  # a window asked for wins over times
    partly = [(0, 0.0), (1, None)]
    assert segment_session("s", partly)[0][0].unit == "turns"


def test_segment_all_numbers_segments_across_sessions():
    segments, where = segment_all({("b", 0): 0.0, ("a", 0): None, ("a", 1): None}, window_turns=1)
    assert [s.session_id for s in segments] == ["a", "a", "b"] and where[("b", 0)] == 2


@pytest.mark.parametrize("expected, score", [(0.0, 1), (0.49, 1), (0.5, 2), (1.49, 2), (1.5, 3), (2.49, 3),
                                             (2.5, 4), (4.49, 4), (4.5, 5), (12.0, 5)])
def test_salience_cut_points(expected, score):
    assert salience(expected) == score


def test_human_counts_map_exactly():
    assert [salience(n) for n in range(7)] == [1, 2, 3, 4, 4, 5, 5]


def test_turn_weights_from_probabilities_and_from_codes():
    model = {"role": "client", "probs": {"marker": {"none": 0.2, "confrontation": 0.2, "withdrawal": 0.6},
                                         "subtype": {"denial": 0.3, "minimal_response": 0.1, "complaint_therapist": 0.5}}}
    w = turn_weights(model)
    assert w["withdrawal"] == pytest.approx(0.6)
    assert w["denial"] == pytest.approx(0.6 * 0.3 / 0.4)  # p(withdrawal) · p(denial | withdrawal subtypes)
    assert w["complaint_therapist"] == pytest.approx(0.2)  # the only confrontation subtype with mass
    human = turn_weights({"role": "client", "marker": "withdrawal", "subtype": "denial"})
    assert human["withdrawal"] == 1.0 and human["denial"] == 1.0 and human["confrontation"] == 0.0
    assert sum(turn_weights({"role": "therapist", "stage": "antagonizing"}).values()) == 0.0


def _client(marker, subtype=None, probs=None):
    return {"role": "client", "marker": marker, "subtype": subtype, "stage": None, "probs": probs}


def _therapist(stage):
    return {"role": "therapist", "marker": None, "subtype": None, "stage": stage, "probs": None}


def test_segment_rows_sum_probabilities_per_segment():
    p = {"marker": {"none": 0.3, "confrontation": 0.0, "withdrawal": 0.7}, "subtype": {"deferential": 1.0}}
    coding = {("s", 0): _therapist("none"), ("s", 1): _client("withdrawal", "deferential", p),
              ("s", 2): _therapist("none"), ("s", 3): _client("withdrawal", "deferential", p),
              ("s", 4): _therapist("none"), ("s", 5): _client("none")}
    segments, where = segment_all({k: None for k in coding}, window_turns=4)
    rows = segment_rows(coding, segments, where)
    assert rows[0]["withdrawal_n"] == pytest.approx(1.4) and rows[0]["withdrawal"] == 2
    assert rows[0]["deferential"] == 2 and rows[0]["confrontation"] == 1 and rows[0]["client_turns"] == 2
    assert rows[1]["withdrawal"] == 1 and rows[1]["span"] == "turns 4-5"


def test_session_ratings_contribution_and_resolution():
    resolved = [_client("withdrawal", "denial"), _therapist("exploring_meaning")] + [_client("none"), _therapist("none")] * 3
    escalating = [_client("withdrawal", "denial"), _therapist("antagonizing"), _client("confrontation", "complaint_therapist"),
                  _therapist("antagonizing")]
    calm = [_client("none"), _therapist("none")]
    coding = {}
    for sid, rows in (("a", resolved), ("b", escalating), ("c", calm)):
        coding.update({(sid, i): r for i, r in enumerate(rows)})
    ratings = {r["session_id"]: r for r in session_rows(coding)}
    assert ratings["a"]["resolution"] == 5 and ratings["a"]["therapist_contribution"] == 1
    assert ratings["b"]["resolution"] == 1 and ratings["b"]["unresolved"] == 1
    assert ratings["b"]["therapist_contribution"] == 3 and ratings["b"]["contribution_turns_in_episodes"] == 2
    assert ratings["c"]["resolution"] is None and ratings["c"]["episodes"] == 0


def test_write_sheet_writes_segments_and_sessions(tmp_path):
    paths = write_sheet(tmp_path / "out" / "sheet.csv", [{"session_id": "s", "segment": 1, "withdrawal": 2}],
                        [{"session_id": "s", "resolution": 3}])
    assert paths[1].name == "sheet_sessions.csv"
    assert list(csv.DictReader(open(paths[0])))[0]["withdrawal"] == "2"
    assert list(csv.DictReader(open(paths[1])))[0]["resolution"] == "3"
    assert not list((tmp_path / "out").glob("*.part"))
