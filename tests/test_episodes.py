"""Episode and resolution logic on hand-made coded sessions."""

from __future__ import annotations

from rupture_nlp.episodes import EpisodeOptions, find_episodes


def session(codes: list[str]) -> list[dict]:
    """Rows from short codes: 'C:none', 'C:withdrawal/denial', 'T:repairing'…"""
    rows = []
    for i, code in enumerate(codes):
        role, value = code.split(":")
        if role == "C":
            marker, _, subtype = value.partition("/")
            rows.append({"session_id": "s", "turn": i, "role": "client", "marker": marker, "subtype": subtype or None, "stage": None})
        else:
            rows.append({"session_id": "s", "turn": i, "role": "therapist", "marker": None, "subtype": None, "stage": value})
    return rows


QUIET = ["T:none", "C:none"] * 6


def test_acceptance_exchange_is_one_unresolved_episode_with_the_contribution_flagged():
    rows = session(["T:none", "C:none", "T:none", "C:withdrawal/topic_shift", "T:antagonizing",
                    "C:confrontation/control_pressure"])
    (episode,) = find_episodes(rows)
    assert episode.type == "mixed" and episode.resolution == "unresolved"
    assert "escalate" in episode.reason
    assert episode.contribution_turns == [4]
    assert episode.stage_2 == "not observable from a transcript (internal to the therapist)"
    assert episode.missed_opportunities[0]["reason"] == "antagonizing right after a withdrawal marker"


def test_nonlinear_stages_are_kept_in_order_and_resolve():
    rows = session(["T:none", "C:confrontation/complaint_activities", "T:affirming", "C:confrontation/complaint_progress",
                    "T:exploring_meaning", "C:none", "T:repairing", "C:none", "T:affirming", "C:none", "T:none", "C:none"]
                   + QUIET)
    (episode,) = find_episodes(rows)
    assert [(e.stage, e.number) for e in episode.stages] == [("affirming", 5), ("exploring_meaning", 3), ("repairing", 6), ("affirming", 5)]
    assert episode.stages_observed == {"affirming": [2, 8], "exploring_meaning": [4], "repairing": [6]}
    assert episode.resolution == "resolved" and "stage 3" in episode.reason
    assert episode.type == "confrontation"


def test_two_episodes_split_by_a_gap_longer_than_three_turns():
    rows = session(["C:withdrawal/minimal_response", "T:attending", "C:none"] + QUIET
                   + ["C:withdrawal/denial", "T:none", "C:none"] + QUIET)
    first, second = find_episodes(rows)
    assert (first.first_turn, second.first_turn) == (0, 15)
    assert first.resolution == "unclear" and "no stage 3" in first.reason
    assert first.last_turn < second.first_turn


def test_markers_within_the_gap_join_one_episode():
    rows = session(["C:withdrawal/minimal_response", "T:none", "C:none", "T:none", "C:withdrawal/denial"] + QUIET)
    (episode,) = find_episodes(rows)
    assert [m["turn"] for m in episode.markers] == [0, 4]


def test_session_ending_inside_an_episode_is_unresolved():
    rows = session(["T:none", "C:none", "T:none", "C:withdrawal/self_critical", "T:exploring_meaning", "C:none"])
    (episode,) = find_episodes(rows)
    assert episode.resolution == "unresolved" and episode.reason == "the session ends inside the episode"
    assert episode.ends_session and episode.last_turn == 5


def test_missed_opportunity_when_no_attending_or_exploring_follows():
    rows = session(["C:confrontation/complaint_therapist", "T:none", "C:none", "T:none"] + QUIET)
    (episode,) = find_episodes(rows, EpisodeOptions(answer_window=2))
    assert episode.missed_opportunities == [
        {"turn": 0, "answer_turn": 1, "reason": "no attending or exploring in the next 2 therapist turn(s)"}]


def test_no_markers_no_episodes():
    assert find_episodes(session(QUIET)) == []
