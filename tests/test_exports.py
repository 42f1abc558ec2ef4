"""Exports of coded sessions: CSV (Excel), JSONL, Parquet and ELAN, on a small coded fixture."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from coded_fixture import COUPLE, PLAIN, TIMED, write_coded
from rupture_nlp.cli import app
from rupture_nlp.errors import TranscriptError
from rupture_nlp.exports import EXPORTERS, run_export
from rupture_nlp.exports.eaf import MIN_MS, MS_PER_WORD

runner = CliRunner()


@pytest.fixture
def coded(tmp_path):
    return write_coded(tmp_path / "coded")


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_has_bom_one_row_a_turn_and_the_columns(coded, tmp_path):
    out = tmp_path / "coded.csv"
    assert run_export([coded], out, "csv") == [out]
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the BOM
    rows = read_csv(out)
    assert len(rows) == len(PLAIN) + len(TIMED) + len(COUPLE)
    names = list(rows[0])
    assert names[:4] == ["session_id", "meta_dialect_group", "meta_modality", "meta_tags"]
    assert names[4:14] == ["turn", "speaker", "role", "start", "end", "text", "cues", "marker", "subtype", "stage"]
    assert names[14:17] == ["p_marker_none", "p_marker_confrontation", "p_marker_withdrawal"]
    assert "p_subtype_self_critical" in names and names[-1] == "p_stage_antagonizing"
    by_key = {(r["session_id"], int(r["turn"])): r for r in rows}
    quoted = by_key[("plain", 2)]
    assert quoted["text"] == PLAIN[2]["text"] and quoted["stage"] == "attending" and quoted["marker"] == ""
    client = by_key[("plain", 1)]
    assert (client["marker"], client["subtype"], client["cues"]) == ("withdrawal", "minimal_response", "sighs")
    assert float(client["p_marker_none"]) == pytest.approx(0.40) and client["p_stage_none"] == ""
    assert json.loads(client["meta_tags"]) == ["pilot", "week 3"] and by_key[("timed", 0)]["meta_modality"] == ""
    assert float(by_key[("timed", 1)]["start"]) == 3.0


def test_jsonl_round_trips_codes_and_probabilities(coded, tmp_path):
    out = tmp_path / "coded.jsonl"
    run_export([coded], out, "jsonl")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    originals = {(r["session_id"], r["turn"]): r for r in PLAIN + TIMED + COUPLE}
    assert len(rows) == len(originals)
    for row in rows:
        original = originals[(row["session_id"], row["turn"])]
        for key in ("speaker", "role", "text", "marker", "subtype", "stage", "start", "end"):
            assert row[key] == original[key]
        for head, probs in original["probs"].items():
            assert {label: row[f"p_{head}_{label}"] for label in probs} == probs


def test_parquet_reads_back_equal_to_the_csv(coded, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow", reason="Parquet export needs the [export] extra (pyarrow)")
    run_export([coded], tmp_path / "c.parquet", "parquet")
    run_export([coded], tmp_path / "c.csv", "csv")
    parquet = pd.read_parquet(tmp_path / "c.parquet")
    table = pd.read_csv(tmp_path / "c.csv", encoding="utf-8-sig")
    assert list(parquet.columns) == list(table.columns)
    pd.testing.assert_frame_equal(parquet.astype(object).where(parquet.notna(), None),
                                  table.astype(object).where(table.notna(), None), check_dtype=False)


def _eaf(path):
    elan = pytest.importorskip("pympi.Elan", reason="ELAN export needs the [export] extra (pympi-ling)")
    return elan.Eaf(str(path))


def test_eaf_one_file_a_session_with_tiers_and_codes(coded, tmp_path):
    paths = run_export([coded], tmp_path / "elan", "eaf")
    assert sorted(p.name for p in paths) == ["couple.eaf", "plain.eaf", "timed.eaf"]
    assert sorted(p.name for p in (tmp_path / "elan").iterdir()) == ["couple.eaf", "plain.eaf", "timed.eaf"]  # no .bak
    eaf = _eaf(tmp_path / "elan" / "plain.eaf")
    assert set(eaf.get_tier_names()) == {"therapist", "client", "marker", "stage"}
    assert eaf.get_parameters_for_tier("client")["PARTICIPANT"] == "C"
    texts = [a[2] for a in sorted(eaf.get_annotation_data_for_tier("client"))]
    assert texts == [r["text"] for r in PLAIN if r["role"] == "client"]
    markers = [a[2] for a in sorted(eaf.get_annotation_data_for_tier("marker"))]
    assert markers == ["withdrawal/minimal_response", "confrontation/complaint_activities", "withdrawal/deferential"]
    stages = [a[2] for a in sorted(eaf.get_annotation_data_for_tier("stage"))]
    assert stages == ["attending", "exploring_meaning"]  # `none` is not annotated
    assert "withdrawal/deferential" in eaf.get_cv_entries("marker")["marker_11"][0][0]


def test_eaf_without_times_uses_the_documented_synthetic_timeline(coded, tmp_path):
    run_export([coded], tmp_path / "elan", "eaf")
    eaf = _eaf(tmp_path / "elan" / "plain.eaf")
    props = dict(eaf.get_properties())
    assert props["rupture_nlp:timeline"].startswith("synthetic") and props["rupture_nlp:session_id"] == "plain"
    assert props["meta:dialect_group"] == "general_us"
    expected, clock = [], 0
    for record in PLAIN:
        length = max(MIN_MS, MS_PER_WORD * len(record["text"].split()))
        expected.append((clock, clock + length))
        clock += length
    spans = sorted(a[:2] for tier in ("therapist", "client") for a in eaf.get_annotation_data_for_tier(tier))
    assert spans == expected
    marker_spans = [a[:2] for a in sorted(eaf.get_annotation_data_for_tier("marker"))]
    assert marker_spans[0] == expected[1]  # a code sits exactly on its turn


def test_eaf_with_times_is_aligned_to_them(coded, tmp_path):
    run_export([coded], tmp_path / "elan", "eaf")
    eaf = _eaf(tmp_path / "elan" / "timed.eaf")
    assert dict(eaf.get_properties())["rupture_nlp:timeline"].startswith("media")
    assert sorted(eaf.get_annotation_data_for_tier("client")) == [(3000, 5250, TIMED[1]["text"])]
    assert [a[:2] for a in eaf.get_annotation_data_for_tier("marker")] == [(3000, 5250)]
    assert sorted(a[:2] for a in eaf.get_annotation_data_for_tier("therapist")) == [(1000, 2500), (5500, 8000)]


def test_eaf_gives_each_of_several_clients_a_tier(coded, tmp_path):
    run_export([coded], tmp_path / "elan", "eaf")
    eaf = _eaf(tmp_path / "elan" / "couple.eaf")
    assert {"client Ana", "client Ben", "therapist"} <= set(eaf.get_tier_names())
    assert eaf.get_parameters_for_tier("client Ben")["PARTICIPANT"] == "Ben"
    assert eaf.get_annotation_data_for_tier("marker") == []


def test_every_registered_format_writes(coded, tmp_path):
    pytest.importorskip("pyarrow", reason="Parquet export needs the [export] extra (pyarrow)")
    pytest.importorskip("pympi", reason="ELAN export needs the [export] extra (pympi-ling)")
    for name, spec in EXPORTERS.items():
        paths = run_export([coded], tmp_path / f"out_{name}", name)
        assert paths and all(p.exists() and p.stat().st_size > 0 for p in paths)
        assert all(p.parent == tmp_path / f"out_{name}" for p in paths) == spec.folder


def test_a_broken_coded_line_names_file_and_line_and_writes_nothing(coded, tmp_path):
    bad = coded / "plain.jsonl"
    lines = bad.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:40]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(TranscriptError) as error:
        run_export([coded], tmp_path / "out.csv", "csv")
    assert error.value.path == str(bad) and error.value.line == 3
    assert not (tmp_path / "out.csv").exists()
    result = runner.invoke(app, ["export", str(coded), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2 and f"{bad}:3:" in result.output and "Traceback" not in result.output


def test_export_command(coded, tmp_path):
    result = runner.invoke(app, ["export", str(coded / "plain.jsonl"), "-o", str(tmp_path / "p.jsonl"), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == len(PLAIN)
    result = runner.invoke(app, ["export", str(coded), "-o", str(tmp_path / "x"), "--format", "xlsx"])
    assert result.exit_code == 2 and "unknown export format" in result.output


def test_new_commands_have_help():
    for command in ("export", "sample", "import"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_a_missing_optional_package_names_the_extra(coded, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import now fails as if not installed
    result = runner.invoke(app, ["export", str(coded), "-o", str(tmp_path / "c.parquet"), "--format", "parquet"])
    assert result.exit_code == 2 and "rupture-nlp[export]" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "c.parquet").exists()


def test_eaf_with_some_times_missing_falls_back_to_the_synthetic_timeline(tmp_path):
    partial = [dict(r) for r in TIMED]
    partial[2]["start"] = partial[2]["end"] = None
    coded = write_coded(tmp_path / "coded", sessions=[partial])
    run_export([coded], tmp_path / "elan", "eaf")
    eaf = _eaf(tmp_path / "elan" / "timed.eaf")
    assert dict(eaf.get_properties())["rupture_nlp:timeline"].startswith("synthetic")
    assert sorted(eaf.get_annotation_data_for_tier("therapist"))[0][:2] == (0, MIN_MS)
