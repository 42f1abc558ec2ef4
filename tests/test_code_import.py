"""Importers of human codes: CSV/TSV, JSONL (code output and turns JSONL) and ELAN .eaf."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rupture_nlp.codes import coded_only, read_coding
from rupture_nlp.codes.normalize import resolve_roles
from rupture_nlp.errors import TranscriptError

FIXTURES = Path(__file__).parent / "fixtures" / "agree"
EXPECTED = {0: (None, None, "none"), 1: ("withdrawal", "minimal_response", None), 2: (None, None, "exploring_meaning"),
            3: ("none", None, None), 4: (None, None, "antagonizing"), 5: ("confrontation", "complaint_therapist", None),
            6: (None, None, "affirming"), 7: ("none", None, None)}


def codes(coding):
    return {turn: (row["marker"], row["subtype"], row["stage"]) for (_, turn), row in sorted(coding.items())}


def test_csv_code_column_case_insensitive_headers_and_implied_roles():
    coding = read_coding(FIXTURES / "coder_h.csv")
    assert coding[("demo", 5)]["marker"] == "confrontation"  # a bare subtype implies its marker
    assert coding[("demo", 1)]["role"] == "client" and coding[("demo", 2)]["role"] == "therapist"
    assert coding[("demo", 0)]["role"] is None  # a bare 'none' waits for a role from elsewhere
    resolve_roles([coding], read_coding(FIXTURES / "turns.jsonl"))
    assert codes(coding) == EXPECTED


def test_tsv_with_separate_marker_subtype_stage_columns():
    coding = read_coding(FIXTURES / "coder_cols.tsv")
    assert codes(coding) == {**EXPECTED, 5: ("confrontation", "rejects_intervention", None)}
    assert coding[("demo", 3)]["role"] == "client" and coding[("demo", 3)]["line"] == 5


def test_bad_csv_row_names_file_and_line():
    with pytest.raises(TranscriptError) as info:
        read_coding(FIXTURES / "bad_row.csv")
    assert info.value.path.endswith("bad_row.csv") and info.value.line == 4
    assert "furious" in info.value.message


@pytest.mark.parametrize("body, line, words", [
    ("session,turn,code\ndemo,x,none\n", 2, "whole number"),
    ("session,turn,code\ndemo,1,withdrawal/complaint_therapist\n", 2, "belongs to confrontation"),
    ("session,turn,role,code\ndemo,1,therapist,withdrawal\n", 2, "client code"),
    ("session,turn,code\ndemo,1,none\ndemo,1,withdrawal\n", 3, "coded twice"),
    ("session,speaker,code\ndemo,Client,none\n", 1, "no turn column"),
])
def test_csv_errors_carry_the_line(tmp_path, body, line, words):
    path = tmp_path / "codes.csv"
    path.write_text(body)
    with pytest.raises(TranscriptError) as info:
        read_coding(path)
    assert info.value.line == line and words in info.value.message


def test_csv_speaker_column_gives_the_role_and_uncoded_turns_are_kept_out(tmp_path):
    path = tmp_path / "au_x01.tsv"  # the project's own label files: no session column, speaker = role word
    path.write_text("turn\tspeaker\tmarker\tsubtype\tstage\n0\tTherapist\t\t\tnone\n1\tClient\tnone\t\t\n2\tSon\t\t\t\n")
    coding = read_coding(path)
    assert coding[("au_x01", 0)]["role"] == "therapist" and coding[("au_x01", 1)]["marker"] == "none"
    assert set(coded_only(coding)) == {("au_x01", 0), ("au_x01", 1)}


def test_jsonl_code_output_with_probabilities():
    coding = read_coding(FIXTURES / "model.jsonl")
    assert coding[("demo", 3)]["subtype"] == "abstract"
    assert coding[("demo", 1)]["probs"]["marker"]["withdrawal"] == 0.8
    assert coding[("demo", 5)]["start"] == 300.0


def test_turns_jsonl_with_nested_codes_and_without(tmp_path):
    uncoded = read_coding(FIXTURES / "turns.jsonl")
    assert coded_only(uncoded) == {} and uncoded[("demo", 4)]["role"] == "therapist"
    lines = [json.loads(l) for l in (FIXTURES / "turns.jsonl").read_text().splitlines()]
    lines[1]["coding"] = {"marker": "withdrawal", "subtype": "denial", "stage": None, "probs": None}
    path = tmp_path / "coded_turns.jsonl"
    path.write_text("".join(json.dumps(l) + "\n" for l in lines))
    coded = coded_only(read_coding(path))
    assert codes(coded) == {1: ("withdrawal", "denial", None)}


def test_jsonl_bad_line_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"session_id": "s", "turn": 0, "role": "client", "marker": "none"}\n{not json\n')
    with pytest.raises(TranscriptError) as info:
        read_coding(path)
    assert info.value.line == 2


def test_folder_of_codings_is_merged_and_clashes_are_errors(tmp_path):
    (tmp_path / "a.csv").write_text("session,turn,code\ns1,0,none\n")
    (tmp_path / "b.csv").write_text("session,turn,code\ns2,0,withdrawal\n")
    assert set(read_coding(tmp_path)) == {("s1", 0), ("s2", 0)}
    (tmp_path / "c.csv").write_text("session,turn,code\ns1,0,withdrawal\n")
    with pytest.raises(TranscriptError, match="also in"):
        read_coding(tmp_path)


def test_eaf_by_time_overlap_reads_marker_subtype_stage_tiers():
    turns = read_coding(FIXTURES / "turns.jsonl")
    coding = read_coding(FIXTURES / "demo.eaf", turns)
    # the withdrawal span 58–75 s covers less than half of client turn 1 (60–115 s) but overlaps it most;
    # unannotated client and therapist turns are 'none'; the 'Transcript' tier is ignored
    assert codes(coding) == EXPECTED
    assert coding[("demo", 1)]["line"] == 38  # the line of the placing annotation


def test_eaf_needs_turns():
    with pytest.raises(TranscriptError, match="--turns"):
        read_coding(FIXTURES / "demo.eaf")


def test_eaf_by_order_when_turns_have_no_times(tmp_path):
    turns = {("demo", i): {"role": "therapist" if i % 2 == 0 else "client", "start": None, "end": None} for i in range(4)}
    path = tmp_path / "demo.eaf"
    path.write_text(_eaf({"code": [(0, 1, "none"), (1, 2, "deferential"), (2, 3, "repairing"), (3, 4, "none")]}))
    assert codes(read_coding(path, turns)) == {0: (None, None, "none"), 1: ("withdrawal", "deferential", None),
                                              2: (None, None, "repairing"), 3: ("none", None, None)}
    path.write_text(_eaf({"marker": [(0, 1, "withdrawal")]}))
    with pytest.raises(TranscriptError, match="1 annotations but session demo has 2 client turns"):
        read_coding(path, turns)


def test_eaf_errors_name_the_line(tmp_path):
    turns = read_coding(FIXTURES / "turns.jsonl")
    path = tmp_path / "demo.eaf"
    path.write_text(_eaf({"marker": [(900, 950, "withdrawal")]}))
    with pytest.raises(TranscriptError, match="overlaps no turn") as info:
        read_coding(path, turns)
    assert info.value.line is not None and "withdrawal" in path.read_text().splitlines()[info.value.line]
    path.write_text(_eaf({"marker": [(60, 100, "sulking")]}))
    with pytest.raises(TranscriptError, match="sulking") as info:
        read_coding(path, turns)
    assert info.value.line is not None
    path.write_text("<ANNOTATION_DOCUMENT>\n<TIER TIER_ID='marker'>\n</ANNOTATION_DOCUMENT>\n")
    with pytest.raises(TranscriptError, match="not well-formed") as info:
        read_coding(path, turns)
    assert info.value.line == 3
    path.write_text(_eaf({"notes": [(0, 10, "hello")]}))
    with pytest.raises(TranscriptError, match="tiers found: notes"):
        read_coding(path, turns)


def _eaf(tiers: dict[str, list[tuple[float, float, str]]]) -> str:
    slots, body, n = [], [], 0
    for tier, annotations in tiers.items():
        body.append(f'<TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="{tier}">')
        for start, end, value in annotations:
            slots += [f'<TIME_SLOT TIME_SLOT_ID="t{n}" TIME_VALUE="{int(start * 1000)}"/>',
                      f'<TIME_SLOT TIME_SLOT_ID="t{n + 1}" TIME_VALUE="{int(end * 1000)}"/>']
            body.append(f'<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a{n}" TIME_SLOT_REF1="t{n}" '
                        f'TIME_SLOT_REF2="t{n + 1}">\n<ANNOTATION_VALUE>{value}</ANNOTATION_VALUE>\n'
                        "</ALIGNABLE_ANNOTATION></ANNOTATION>")
            n += 2
        body.append("</TIER>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ANNOTATION_DOCUMENT FORMAT="3.0" VERSION="3.0">\n'
            '<HEADER TIME_UNITS="milliseconds"/>\n<TIME_ORDER>\n' + "\n".join(slots) + "\n</TIME_ORDER>\n"
            + "\n".join(body) + "\n</ANNOTATION_DOCUMENT>\n")
