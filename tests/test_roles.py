"""Roles from aliases, overrides and evidence."""

from __future__ import annotations

import pytest

from rupture_nlp.io import read_sessions
from rupture_nlp.roles import RoleOverrides, alias_role, assign_roles
from rupture_nlp.segment import SegmentOptions


@pytest.mark.parametrize(
    "label,role",
    [("Therapist", "therapist"), ("COUNSELLOR", "therapist"), ("counselor", "therapist"), ("Clinician", "therapist"),
     ("Interviewer", "therapist"), ("Doctor", "therapist"), ("Dr. Lee", "therapist"), ("T", "therapist"),
     ("TH", "therapist"), ("THERAPIST (Dr. Lee)", "therapist"), ("client", "client"), ("Patient", "client"),
     ("Participant", "client"), ("C", "client"), ("CL", "client"), ("P", "client"), ("PT", "client"),
     ("Client 2", "client"), ("Interpreter", "other"), ("Ms. D", None), ("SPEAKER_00", None), ("Rosa", None),
     ("Pa", None)],
)
def test_alias_table(label, role):
    assert alias_role(label) == role


def test_t_and_ms_d_exchange(tmp_path):
    path = tmp_path / "exchange.txt"
    path.write_text(
        "T: What would you like to focus on today?\n"
        "Ms. D: I don't know. You tell me.\n"
        "T: It sounds like coming here wasn't your idea.\n"
        "Ms. D: It wasn't.\n"
    )
    (session,) = read_sessions(path)
    assert session.speakers() == {"T": "therapist", "Ms. D": "client"}
    assert any("Ms. D" in w and "client" in w for w in session.warnings)


def test_evidence_picks_the_questioner_even_when_the_client_opens():
    utterances = [("B", "I need to talk about my son."), ("A", "What happened with him?"),
                  ("B", "He left."), ("A", "How did that feel?"), ("B", "Bad.")]
    roles, warnings = assign_roles(utterances)
    assert roles == {"A": "therapist", "B": "client"}
    assert len(warnings) == 2


def test_overrides_win_over_aliases_and_evidence(tmp_path):
    path = tmp_path / "couple.txt"
    path.write_text(
        "Rosa: Why are we here again?\nLuis: Because you said so.\nDr. Mensah: Let's start with what brought you both.\n"
        "Rosa: He never listens.\nLuis: I listen.\n"
    )
    (session,) = read_sessions(path, segment=SegmentOptions(overrides=RoleOverrides(client=["rosa", "Luis"])))
    assert session.speakers() == {"Rosa": "client", "Luis": "client", "Dr. Mensah": "therapist"}
    assert session.warnings == []


def test_couple_without_overrides_puts_both_partners_as_clients(tmp_path):
    path = tmp_path / "couple.txt"
    path.write_text(
        "Therapist: What brings you both in?\nRosa: He never listens.\nLuis: I listen.\n"
        "Therapist: It sounds like you see it differently.\nRosa: Very.\n"
    )
    (session,) = read_sessions(path)
    assert session.speakers() == {"Therapist": "therapist", "Rosa": "client", "Luis": "client"}
