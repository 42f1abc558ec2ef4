"""The active-learning loop: uncertainty sampling into a sheet, and importing the filled sheet."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from coded_fixture import MARGINS, PLAIN, write_coded
from rupture_nlp.active import sample_sheet
from rupture_nlp.cli import app
from rupture_nlp.corpus import load_all, turn_records
from rupture_nlp.errors import TranscriptError
from rupture_nlp.imported import import_sheet, load_imported
from rupture_nlp.sheet import CONTEXT, TARGET
from rupture_nlp.uncertainty import entropy_score, margin_score, select, uncertainty

runner = CliRunner()


@pytest.fixture
def coded(tmp_path):
    return write_coded(tmp_path / "coded")


@pytest.fixture
def data(tmp_path, monkeypatch):
    """An empty project data folder, with no AnnoMI copy to be found."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.delenv("RUPTURE_ANNOMI_DIR", raising=False)
    monkeypatch.setattr("rupture_nlp.corpus.DATA_DIR", folder)  # the AnnoMI lookup also searches beside DATA_DIR
    return folder


def all_records(coded):
    from rupture_nlp.exports import read_coded_sessions
    return [r for s in read_coded_sessions([coded]) for r in s.records]


def test_scores():
    assert margin_score([0.5, 0.3, 0.2]) == pytest.approx(0.8)
    assert entropy_score([1 / 3] * 3) == pytest.approx(1.0) and entropy_score([1.0, 0.0, 0.0]) == 0.0
    # the two rules disagree here: a two-way tie has the widest margin, a flat spread the highest entropy
    tie, flat = [0.5, 0.5, 0.0], [0.4, 0.3, 0.3]
    assert margin_score(tie) > margin_score(flat) and entropy_score(flat) > entropy_score(tie)


def test_client_turns_score_on_markers_therapist_turns_on_stages(coded):
    by_key = {(r["session_id"], r["turn"]): r for r in all_records(coded)}
    for key, expected in MARGINS.items():
        assert uncertainty(by_key[key], "margin") == pytest.approx(expected)
    assert uncertainty({"role": "other", "probs": {}}) is None


def test_selection_is_round_robin_across_sessions_by_uncertainty(coded):
    picked = [(c.session_id, c.turn) for c in select(all_records(coded), 5)]
    # round 1: each session's most uncertain turn, most uncertain first; then round 2
    assert picked == [("plain", 5), ("timed", 1), ("couple", 1), ("plain", 1), ("timed", 2)]


def test_selection_respects_the_per_session_cap_and_exclusions(coded):
    picked = select(all_records(coded), 100, per_session_max=2)
    counts = {}
    for c in picked:
        counts[c.session_id] = counts.get(c.session_id, 0) + 1
    assert counts == {"plain": 2, "timed": 2, "couple": 2}
    left = select(all_records(coded), 2, per_session_max=1, exclude={("plain", 5)})
    assert [(c.session_id, c.turn) for c in left] == [("plain", 1), ("timed", 1)]


def test_entropy_ranks_differently(tmp_path):
    flat = {"session_id": "a", "turn": 0, "role": "client", "probs": {"marker": dict(zip("abc", [0.4, 0.3, 0.3]))}}
    tie = {"session_id": "b", "turn": 0, "role": "client", "probs": {"marker": dict(zip("abc", [0.5, 0.5, 0.0]))}}
    assert [c.session_id for c in select([flat, tie], 1, "margin")] == ["b"]
    assert [c.session_id for c in select([flat, tie], 1, "entropy")] == ["a"]


def read_sheet_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write_sheet_rows(path, rows, delimiter=","):
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)


def test_sheet_has_context_rows_codes_to_fill_and_the_valid_codes(coded, data, tmp_path):
    stats = sample_sheet([coded], tmp_path / "sheet.csv", 3, context=2, data_dir=data)
    assert stats["items"] == 3 and stats["sessions"] == 3
    rows = read_sheet_rows(tmp_path / "sheet.csv")
    first = [(r["row"], r["session_id"], r["turn"]) for r in rows if r["item"] == "1"]
    assert first == [(CONTEXT, "plain", "3"), (CONTEXT, "plain", "4"), (TARGET, "plain", "5")]
    target = rows[2]
    assert target["model_code"] == "withdrawal/deferential" and float(target["uncertainty"]) == pytest.approx(0.99)
    assert "minimal_response" in target["valid_codes"] and "attending" not in target["valid_codes"]
    assert all(target[k] == "" for k in ("marker", "subtype", "stage", "coder", "notes"))
    assert json.loads(target["session_meta"])["dialect_group"] == "general_us"
    sample_sheet([coded], tmp_path / "blind.csv", 3, blind=True, data_dir=data)
    assert all(r["model_code"] == "" for r in read_sheet_rows(tmp_path / "blind.csv"))


def filled_sheet(coded, data, tmp_path, name="sheet.csv"):
    """A sheet of 5 items with three of them coded by hand (one with stray case and spaces)."""
    path = tmp_path / name
    sample_sheet([coded], path, 5, context=2, data_dir=data)
    rows = read_sheet_rows(path)
    codes = {("plain", "5"): ("withdrawal", "deferential", ""), ("timed", "1"): (" Confrontation", "rejects_intervention ", ""),
             ("timed", "2"): ("", "", "repairing")}
    for row in rows:
        code = codes.get((row["session_id"], row["turn"]))
        if code and row["row"] == TARGET:
            row["marker"], row["subtype"], row["stage"] = code
            row["coder"] = "jd"
    write_sheet_rows(path, rows)
    return path


def snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_import_adds_exactly_the_coded_rows_and_load_all_returns_them(coded, data, tmp_path):
    stats = import_sheet(filled_sheet(coded, data, tmp_path), "clinic", data)
    assert (stats["coded_rows"], stats["new"]) == (3, 3)
    loaded = load_all("coder_a", annomi_path=tmp_path, data_dir=data)
    assert {item.source for item in loaded} == {"imported"}
    codes = {(item.session.session_id, t.index): (t.coding.marker, t.coding.subtype, t.coding.stage)
             for item in loaded for t in item.session.turns if t.coding is not None}
    assert codes == {("plain", 5): ("withdrawal", "deferential", None),
                     ("timed", 1): ("confrontation", "rejects_intervention", None), ("timed", 2): (None, None, "repairing")}
    plain = next(item for item in loaded if item.session.session_id == "plain")
    assert plain.meta["dialect_group"] == "general_us" and plain.meta["imported_source"] == "clinic"
    by_turn = {r["turn"]: r for r in turn_records([plain], context_turns=2)}
    assert set(by_turn) == {5}  # context turns are stored but carry no code
    assert by_turn[5]["context"] == [f"client: {PLAIN[3]['text']}", f"therapist: {PLAIN[4]['text']}"]
    assert by_turn[5]["dialect_group"] == "general_us" and load_imported("coder_b", data) == []
    # a wider window takes the stored turns within it (turn 1 was on the sheet, turn 2 was not)
    wide = turn_records([plain], context_turns=4)[0]["context"]
    assert wide == ["client: Fine. I guess. [cues: sighs]"] + by_turn[5]["context"]


def test_imported_sessions_train_unless_splits_say_otherwise(coded, data, tmp_path):
    pytest.importorskip("datasets")
    from rupture_nlp.corpus import load_corpus

    import_sheet(filled_sheet(coded, data, tmp_path), "clinic", data)
    corpus = load_corpus(annomi_path=tmp_path, data_dir=data)
    assert list(corpus) == ["train"] and len(corpus["train"]) == 3
    (data / "splits.json").write_text(json.dumps({"timed": "test"}))
    corpus = load_corpus(annomi_path=tmp_path, data_dir=data)
    assert sorted(corpus["test"]["turn"]) == [1, 2] and corpus["train"]["session_id"] == ["plain"]


def test_reimport_is_idempotent_and_a_recode_replaces(coded, data, tmp_path):
    sheet = filled_sheet(coded, data, tmp_path)
    import_sheet(sheet, "clinic", data)
    before = snapshot(data)
    stats = import_sheet(sheet, "clinic", data)
    assert (stats["new"], stats["changed"], stats["unchanged"], stats["files_written"]) == (0, 0, 3, 0)
    assert snapshot(data) == before
    rows = read_sheet_rows(sheet)
    for row in rows:
        if (row["session_id"], row["turn"], row["row"]) == ("timed", "2", TARGET):
            row["stage"] = "affirming"
    write_sheet_rows(sheet, rows)
    stats = import_sheet(sheet, "clinic", data)
    assert (stats["new"], stats["changed"]) == (0, 1)
    codes = {t.index: t.coding.stage for item in load_imported("coder_a", data) for t in item.session.turns
             if item.session.session_id == "timed" and t.coding}
    assert codes == {1: None, 2: "affirming"}


@pytest.mark.parametrize("column,value,message", [
    ("marker", "withdrawl", "client marker 'withdrawl'"),
    ("subtype", "denial", "belongs to withdrawal"),
    ("stage", "repairing", "a client turn carries no stage"),
])
def test_a_bad_code_names_sheet_and_line_and_changes_nothing(coded, data, tmp_path, column, value, message):
    sheet = filled_sheet(coded, data, tmp_path)
    import_sheet(sheet, "clinic", data)  # earlier work that must survive
    before = snapshot(data)
    rows = read_sheet_rows(sheet)
    bad = next(i for i, r in enumerate(rows) if (r["session_id"], r["turn"], r["row"]) == ("timed", "1", TARGET))
    rows[bad]["marker"], rows[bad]["subtype"] = "confrontation", "rejects_intervention"
    rows[bad][column] = value
    rows[-1]["notes"] = "a later row, still not written"
    write_sheet_rows(sheet, rows)
    with pytest.raises(TranscriptError) as error:
        import_sheet(sheet, "clinic2", data)
    assert error.value.path == str(sheet) and error.value.line == bad + 2 and message in error.value.message
    assert snapshot(data) == before
    result = runner.invoke(app, ["import", str(sheet), "--source", "clinic2", "--data", str(data)])
    assert result.exit_code == 2 and f"{sheet}:{bad + 2}:" in result.output and "Traceback" not in result.output
    assert snapshot(data) == before


def test_a_session_of_another_source_is_refused(coded, data, tmp_path):
    (data / "authored/meta").mkdir(parents=True)
    (data / "authored/meta/timed.json").write_text("{}")
    with pytest.raises(TranscriptError, match="already in the corpus as authored"):
        import_sheet(filled_sheet(coded, data, tmp_path), "clinic", data)
    assert not (data / "imported").exists()


def test_excel_semicolon_sheets_import_and_sampling_skips_imported_turns(coded, data, tmp_path):
    sheet = filled_sheet(coded, data, tmp_path)
    rows = read_sheet_rows(sheet)
    write_sheet_rows(sheet, rows, delimiter=";")
    assert import_sheet(sheet, "clinic", data)["new"] == 3
    stats = sample_sheet([coded], tmp_path / "round2.csv", 5, data_dir=data)
    assert stats["excluded"] == 3
    again = {(r["session_id"], r["turn"]) for r in read_sheet_rows(tmp_path / "round2.csv") if r["row"] == TARGET}
    assert not again & {("plain", "5"), ("timed", "1"), ("timed", "2")}


def test_sample_and_import_commands(coded, data, tmp_path):
    sheet = tmp_path / "sheet.csv"
    result = runner.invoke(app, ["sample", str(coded), "--uncertain", "4", "-o", str(sheet), "--by", "entropy",
                                 "--per-session-max", "1", "--context", "1", "--data", str(data)])
    assert result.exit_code == 0, result.output
    rows = read_sheet_rows(sheet)
    assert sum(r["row"] == TARGET for r in rows) == 3  # one a session, three sessions
    for row in rows:
        if row["row"] == TARGET:
            row["marker" if row["role"] == "client" else "stage"] = "none"
    write_sheet_rows(sheet, rows)
    result = runner.invoke(app, ["import", str(sheet), "--source", "round1", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "3 coded rows" in result.output and len(load_imported("coder_a", data)) == 3


def test_xlsx_sheet_has_code_lists_and_imports_with_excel_row_numbers(coded, data, tmp_path):
    openpyxl = pytest.importorskip("openpyxl", reason="XLSX sheets need the [export] extra (openpyxl)")
    sheet = tmp_path / "sheet.xlsx"
    sample_sheet([coded], sheet, 3, context=1, data_dir=data)
    book = openpyxl.load_workbook(sheet)
    ws = book["coding"]
    header = [c.value for c in ws[1]]
    assert [c.value for c in book["codes"]["A"] if c.value][1:] == ["none", "confrontation", "withdrawal"]
    lists = {str(v.sqref).split(":")[0][:1]: v.formula1 for v in ws.data_validations.dataValidation}
    assert lists[openpyxl.utils.get_column_letter(header.index("stage") + 1)] == "codes!$C$2:$C$8"
    col = {name: i + 1 for i, name in enumerate(header)}
    targets = [r for r in range(2, ws.max_row + 1) if ws.cell(r, col["row"]).value == TARGET]
    plain5 = next(r for r in targets if ws.cell(r, col["session_id"]).value == "plain")
    ws.cell(plain5, col["marker"], "none")
    book.save(sheet)
    assert import_sheet(sheet, "clinic", data)["new"] == 1
    ws.cell(plain5, col["marker"], "withdrawal")  # no subtype
    book.save(sheet)
    with pytest.raises(TranscriptError) as error:
        import_sheet(sheet, "clinic", data)
    assert error.value.line == plain5 and "subtype None" in error.value.message


def test_a_sheet_that_is_not_a_sheet_is_refused(data, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="lacks the column"):
        import_sheet(other, "clinic", data)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("session_id,text\ncaf\xe9,x\n".encode("latin-1"))
    with pytest.raises(TranscriptError, match="CSV UTF-8"):
        import_sheet(latin, "clinic", data)
    assert not any(data.iterdir())


def test_annomi_text_is_never_imported(coded, data, tmp_path, monkeypatch):
    sheet = filled_sheet(coded, data, tmp_path)
    fake = tmp_path / "annomi"  # a stand-in copy with the upstream columns and a turn of our fixture
    fake.mkdir()
    with open(fake / "AnnoMI-simple-dev.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transcript_id", "mi_quality", "utterance_id", "interlocutor", "utterance_text"])
        writer.writerow(["7", "high", "0", "client", PLAIN[3]["text"]])
    monkeypatch.setenv("RUPTURE_ANNOMI_DIR", str(fake))
    with pytest.raises(TranscriptError, match="AnnoMI text"):
        import_sheet(sheet, "clinic", data)
    monkeypatch.delenv("RUPTURE_ANNOMI_DIR")
    rows = read_sheet_rows(sheet)
    for row in rows:
        if row["session_meta"]:
            row["session_meta"] = json.dumps({"mi_quality": "low"})
    write_sheet_rows(sheet, rows)
    with pytest.raises(TranscriptError, match="is an AnnoMI transcript"):
        import_sheet(sheet, "clinic", data)
    assert not any(data.iterdir())
