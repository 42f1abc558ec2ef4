"""The `agree` report and command: pairs, α across coders, segment ICC, JSON and the 3RS sheet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rupture_nlp.agree import Coder, agree, format_report, segment_agreement, turn_agreement
from rupture_nlp.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "agree"
runner = CliRunner()


def _coders(n_sessions: int = 8, flip: float = 0.2, seed: int = 1) -> list[Coder]:
    """Two coders of client turns; the second disagrees with the first on about `flip` of turns."""
    rng = np.random.default_rng(seed)
    a, b = {}, {}
    for s in range(n_sessions):
        for t in range(30):
            key = (f"s{s}", t)
            if t % 2:
                marker = rng.choice(["none", "none", "none", "withdrawal", "confrontation"])
                other = rng.choice(["none", "withdrawal", "confrontation"]) if rng.random() < flip else marker
                a[key] = {"role": "client", "marker": str(marker), "subtype": None, "stage": None, "start": None}
                b[key] = {"role": "client", "marker": str(other), "subtype": None, "stage": None, "start": None}
            else:
                a[key] = b[key] = {"role": "therapist", "marker": None, "subtype": None, "stage": "none", "start": None}
    return [Coder("a", "a", a), Coder("b", "b", b)]


def test_turn_agreement_kappa_alpha_and_intervals_contain_points():
    result = turn_agreement(_coders(), "marker", n_boot=200)
    pair = result["pairs"][0]
    assert pair["n"] == 8 * 15 and pair["sessions"] == 8
    assert pair["ci95"][0] <= pair["kappa"] <= pair["ci95"][1]
    alpha = result["alpha"]
    assert alpha["ci95"][0] <= alpha["value"] <= alpha["ci95"][1]
    assert abs(alpha["value"] - pair["kappa"]) < 0.02  # two coders, many units: α ≈ κ
    per_class = pair["per_class"]["withdrawal"]
    assert 0 < per_class["specific_agreement"] <= 1 and "precision" not in per_class


def test_reference_gives_precision_and_recall_against_it():
    result = turn_agreement(_coders(), "marker", reference=1, n_boot=0)
    (pair,) = result["pairs"]
    assert (pair["a"], pair["b"]) == ("b", "a")
    m = pair["per_class"]["confrontation"]
    assert m["f1"] == pytest.approx(m["specific_agreement"])
    assert m["precision"] == pytest.approx(m["specific_agreement"] * (m["n_a"] + m["n_b"]) / 2 / m["n_b"])


def test_perfect_coders_agree_perfectly_at_segment_level():
    coders = _coders(flip=0.0)
    result = segment_agreement(coders, window_turns=10, n_boot=100)
    assert result["segments"] == 8 * 3 and result["unit"] == "turns"
    for marker in ("confrontation", "withdrawal", "any"):
        assert result["icc"][marker]["count"]["icc2_1"] == pytest.approx(1.0)
    noisy = segment_agreement(_coders(flip=0.6), window_turns=10, n_boot=100)
    value = noisy["icc"]["any"]["count"]
    assert value["icc2_1"] < 0.9 and value["ci95"][0] <= value["icc2_1"] <= value["ci95"][1]


def test_agree_on_fixture_files_of_every_format():
    report, coders, _ = agree([FIXTURES / "model.jsonl", FIXTURES / "coder_h.csv", FIXTURES / "demo.eaf"],
                   ["marker", "subtype", "stage"], turns_path=FIXTURES / "turns.jsonl", n_boot=20)
    assert [c["name"] for c in report["coders"]] == [c.name for c in coders] == ["model", "coder_h", "demo"]
    pairs = {(p["a"], p["b"]): p for p in report["tasks"]["marker"]["pairs"]}
    assert pairs[("coder_h", "demo")]["kappa"] == 1.0  # the ELAN and CSV codings are the same codes
    # model vs human on client turns 1,3,5,7: withdrawal/withdrawal/confrontation/none vs withdrawal/none/confrontation/none
    # p_o = 3/4; p_e = (2·1 + 1·1 + 1·2)/16 = 5/16; κ = (12/16 − 5/16)/(11/16) = 7/11
    assert pairs[("model", "coder_h")]["kappa"] == pytest.approx(7 / 11)
    seg = report["segments"]
    assert seg["unit"] == "minutes" and seg["segments"] == 2
    text = format_report(report)
    assert "Krippendorff" in text and "ICC(2,1)" in text and "model vs coder_h" in text


def test_cli_agree_writes_json_and_sheet(tmp_path):
    result = runner.invoke(app, ["agree", str(FIXTURES / "model.jsonl"), str(FIXTURES / "coder_cols.tsv"),
                                 "--task", "marker", "--bootstrap", "20", "--json", str(tmp_path / "r.json"),
                                 "--sheet", str(tmp_path / "sheet.csv")])
    assert result.exit_code == 0, result.output
    assert "model vs coder_cols" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["tasks"]) == {"marker"} and report["segments"]["unit"] == "minutes"
    rows = list(csv.DictReader(open(tmp_path / "sheet.csv")))
    assert {r["coder"] for r in rows} == {"model", "coder_cols"} and rows[0]["span"] == "00:00-05:00"
    sessions = list(csv.DictReader(open(tmp_path / "sheet_sessions.csv")))
    assert sessions[0]["therapist_contribution"] == "2"


def test_cli_agree_window_turns_and_bad_row(tmp_path):
    result = runner.invoke(app, ["agree", str(FIXTURES / "model.jsonl"), str(FIXTURES / "coder_h.csv"),
                                 "--window-turns", "4", "--bootstrap", "0", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["segments"]["unit"] == "turns"
    bad = runner.invoke(app, ["agree", str(FIXTURES / "model.jsonl"), str(FIXTURES / "bad_row.csv")])
    assert bad.exit_code == 2
    assert "bad_row.csv:4:" in bad.output and "Traceback" not in bad.output


def test_cli_sheet_for_one_coding(tmp_path):
    result = runner.invoke(app, ["sheet", str(FIXTURES / "demo.eaf"), "--turns", str(FIXTURES / "turns.jsonl"),
                                 "-o", str(tmp_path / "demo_sheet.csv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(tmp_path / "demo_sheet.csv")))
    assert [(r["withdrawal"], r["confrontation"], r["complaint_therapist"]) for r in rows] == [("2", "1", "1"), ("1", "2", "2")]
