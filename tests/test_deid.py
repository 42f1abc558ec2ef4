"""De-identification rules: what is replaced, what is kept, and that pseudonyms are consistent."""

from __future__ import annotations

import hashlib

import pytest

pytest.importorskip("faker", reason="de-identification needs the 'deid' extra (Faker)")
pytest.importorskip("phonenumbers", reason="de-identification needs the 'deid' extra (phonenumbers)")

from rupture_nlp.deid import Deidentifier, deidentify_records, deidentify_session  # noqa: E402
from rupture_nlp.deid.ner import spacy_model_name  # noqa: E402
from rupture_nlp.types import Cue, Session, Turn  # noqa: E402

ORDINARY = [
    "I will try.", "May was hard.", "I hope so.", "Grace under pressure.", "I'm 45.", "I'm 89 and still here.",
    "Will you be here next week?", "Hope is a funny thing.", "Come on in, have a seat.", "Mark my words, it works.",
    "It took three weeks.", "Last Tuesday was rough.", "We met in March.", "Back in 2019 things were different.",
    "The session is 50 minutes.", "I was 95 percent sure.", "I walked 5 miles down the road.",
    "About 3/4 of the time I feel fine.", "Frank conversations are hard.", "I'm Irish, so we don't talk about it.",
    "Okay. Sure. Whatever you think is best.", "My mum says I should pray to God about it.",
    "The rent went up by 1,250,000 naira.", "I was born in 1987.", "Between 2019-2020 I barely slept.",
]


def one(text: str) -> str:
    session = Session("s", [Turn(0, "Client", "client", text)])
    return Deidentifier(key="k", use_ner=False).session(session).turns[0].text


@pytest.mark.parametrize("sentence", ORDINARY)
def test_ordinary_therapy_sentences_are_left_alone(sentence):
    assert one(sentence) == sentence


@pytest.mark.parametrize("text, gone", [
    ("Hi Priya, come in.", ["Priya"]),
    ("Dr. Okonkwo said so.", ["Okonkwo"]),
    ("My name is Hope and I am tired.", ["Hope"]),
    ("Thank you, Grace.", ["Grace"]),
    ("Siobhan O'Brien and Juan Carlos García came.", ["Siobhan", "O'Brien", "Juan", "Carlos", "García"]),
    ("Mei Ling Chen and Chinedu were there.", ["Mei", "Ling", "Chen", "Chinedu"]),
    ("Call me on (555) 201-7788.", ["555", "201-7788"]),
    ("My mobile is +44 20 7946 0958.", ["7946"]),
    ("Text 0803 555 0142 after six.", ["0142"]),
    ("Write to priya.sharma@example.com today.", ["priya.sharma@example.com"]),
    ("It's priya dot sharma at gmail dot com.", ["priya dot sharma"]),
    ("The appointment is March 3rd.", ["March 3rd"]),
    ("The letter from 3/14/2025 says so.", ["3/14/2025"]),
    ("On the 3rd of March 2025 I left.", ["3rd of March"]),
    ("Born 2025-03-14 in the morning.", ["2025-03-14"]),
    ("I live at 42 Maple Street, Apt 3B, Springfield, IL 62704.", ["42 Maple", "62704", "3B"]),
    ("We're at Flat 7, 19 Harcourt Road, Dublin D02 X285.", ["Harcourt", "D02 X285"]),
    ("My gran is 92.", ["92"]),
    ("He is ninety-three years old.", ["ninety-three"]),
    ("She's 104 now.", ["104"]),
    ("SSN 123-45-6789.", ["6789"]),
    ("My NHS number is 485 777 3456.", ["3456"]),
    ("Aadhaar 2345 6789 0123.", ["0123"]),
    ("MRN A7654321 on the wristband.", ["7654321"]),
    ("The number 8873221009 was on it.", ["8873221009"]),
])
def test_identifiers_are_replaced(text, gone):
    out = one(text)
    for item in gone:
        assert item.lower() not in out.lower(), out
    assert "[" in out


def test_ages_up_to_89_are_kept_and_over_89_replaced():
    assert one("I'm 89 years old.") == "I'm 89 years old."
    assert one("I'm 90 years old.") == "I'm [AGE-OVER-89] years old."


def test_same_name_same_pseudonym_across_turns_speakers_and_metadata():
    session = Session("priya_2025-03-14", [
        Turn(0, "Dr. Okafor", "therapist", "Hi Priya, how are you?"),
        Turn(1, "Priya", "client", "Fine. Dr. Okafor, my sister Ngozi says hi."),
        Turn(2, "Dr. Okafor", "therapist", "Tell Ngozi thanks. And PRIYA, what about priya's week?"),
    ], metadata={"therapist": "Dr. Okafor", "client_name": "Priya"})
    out = Deidentifier(key="k", use_ner=False).session(session)
    okafor, priya = out.turns[0].speaker, out.turns[1].speaker
    assert okafor.startswith("Dr. [NAME-") and priya.startswith("[NAME-") and okafor != "Dr. " + priya
    name_of = {"Okafor": okafor.removeprefix("Dr. "), "Priya": priya}
    assert out.turns[2].speaker == okafor
    assert out.turns[0].text == f"Hi {name_of['Priya']}, how are you?"
    assert f"Dr. {name_of['Okafor']}," in out.turns[1].text
    ngozi = out.turns[1].text.split("sister ")[1].split()[0]
    assert ngozi.startswith("[NAME-") and ngozi not in name_of.values()
    assert out.turns[2].text == f"Tell {ngozi} thanks. And {priya}, what about {priya}'s week?"
    assert out.metadata == {"therapist": okafor, "client_name": priya}


def test_session_id_is_a_keyed_pseudonym_not_a_hash_of_the_name():
    session = Session("priya_sharma", [Turn(0, "Client", "client", "Hello.")])
    a = Deidentifier(key="one", use_ner=False).session(session).session_id
    assert a == Deidentifier(key="one", use_ner=False).session(session).session_id
    assert a != Deidentifier(key="two", use_ner=False).session(session).session_id
    assert a.startswith("deid-") and "priya" not in a
    assert a[5:] not in hashlib.sha256(b"priya_sharma").hexdigest()


def test_a_second_pass_keeps_placeholders_and_ids():
    session = Session("x", [Turn(0, "Priya", "client", "Hi, I'm Priya, call 0803 555 0142.")])
    deid = Deidentifier(key="k", use_ner=False)
    once = deid.session(session)
    twice = deid.session(once)
    assert [t.text for t in twice.turns] == [t.text for t in once.turns]
    assert twice.session_id == once.session_id and twice.turns[0].speaker == once.turns[0].speaker


def test_cue_offsets_follow_the_shorter_or_longer_text():
    turn = Turn(0, "Client", "client", "Siobhan called and then I cried.", cues=[Cue("sighs", offset=24)])
    out = Deidentifier(key="k", use_ner=False).session(Session("s", [turn])).turns[0]
    assert out.text[out.cues[0].offset:].startswith("I cried")


def test_coded_records_are_deidentified_per_session_and_source_dropped():
    rows = [{"session_id": "ana_lopez", "turn": 0, "speaker": "Ana", "role": "client", "text": "Soy Ana López.",
             "cues": ["Ana laughs"], "session_meta": {"client": "Ana López"}, "source": "/data/ana_lopez.csv"},
            {"session_id": "ana_lopez", "turn": 1, "speaker": "Therapist", "role": "therapist",
             "text": "Gracias, Ana.", "session_meta": {"client": "Ana López"}, "source": "/data/ana_lopez.csv"}]
    out = Deidentifier(key="k", use_ner=False).records(rows)
    text = repr(out).lower()
    assert "ana" not in text.replace("[name", "") and "lópez" not in text and "lopez" not in text
    assert out[0]["speaker"] == out[0]["session_meta"]["client"].split()[0]
    assert out[0]["session_id"] == out[1]["session_id"] != "ana_lopez"


def test_the_table_of_real_values_is_only_in_memory_until_asked_for():
    deid = Deidentifier(key="k", use_ner=False)
    out = deid.session(Session("s", [Turn(0, "Priya", "client", "Hi.")]))
    assert deid.mappings() == {out.session_id: {"[NAME-1]": "priya"}}


def test_one_shot_functions_match_the_batch_object():
    session = Session("s", [Turn(0, "Priya", "client", "Hi, I'm Priya.")])
    assert deidentify_session(session, key="k").session_id == Deidentifier(key="k").session_id("s")
    rows = [{"session_id": "s", "turn": 0, "speaker": "Priya", "role": "client", "text": "I'm Priya."}]
    assert deidentify_records(rows, key="k")[0]["text"] == "I'm [NAME-1]."


@pytest.mark.skipif(spacy_model_name() is None, reason="no English spaCy pipeline installed (optional 'deid-ner' extra)")
def test_spacy_ner_adds_names_the_lists_miss_and_is_recorded():
    text = "I told Tayo and Chidi that Karthik would come."
    plain = Deidentifier(key="k", use_ner=False)
    with_ner = Deidentifier(key="k", use_ner=True)
    session = Session("s", [Turn(0, "Client", "client", text)])
    assert "Tayo" in plain.session(session).turns[0].text
    out = with_ner.session(session).turns[0].text
    assert not any(name in out for name in ("Tayo", "Chidi", "Karthik")), out
    assert any(d.startswith("spacy:") for d in with_ner.detectors)


def test_missing_deid_extra_is_a_clear_cli_error_not_a_traceback(monkeypatch, tmp_path):
    import sys

    from typer.testing import CliRunner

    from rupture_nlp.cli import app
    from rupture_nlp.deid import lexicon

    lexicon.name_lexicon.cache_clear()
    try:
        monkeypatch.setitem(sys.modules, "faker", None)
        monkeypatch.setitem(sys.modules, "faker.providers", None)
        result = CliRunner().invoke(app, ["report", str(tmp_path), "-o", str(tmp_path / "r"), "--deidentify"])
    finally:
        monkeypatch.undo()
        lexicon.name_lexicon.cache_clear()
    assert result.exit_code == 2, result.output
    assert "pip install 'rupture-nlp[deid]'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()
