"""End to end: PHI planted in one session, written in every input format, never reaches an output file.

The session is coded with `code --deidentify` (tiny model) and reported with `report
--deidentify`; identified coded output is also reported, exported in every format (CSV,
JSONL, Parquet, ELAN) and sampled into coding sheets (CSV, XLSX) with `--deidentify`. Then
every file these commands wrote (coded JSONL, manifest, HTML pages, summary.csv,
episodes.jsonl, exports, sheets; Parquet and XLSX read back as tables) and every file name
is scanned for each planted item, as written and, for phones and IDs, as bare digits.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("faker", reason="de-identification needs the 'deid' extra (Faker)")
pytest.importorskip("phonenumbers", reason="de-identification needs the 'deid' extra (phonenumbers)")

from typer.testing import CliRunner  # noqa: E402

from rupture_nlp.cli import app  # noqa: E402
from rupture_nlp.io import READERS  # noqa: E402
from rupture_nlp.train import TrainingArguments, train  # noqa: E402

from tiny_model import make_tiny_base, toy_records  # noqa: E402

THERAPIST, CLIENT = "Dr. Okafor", "Priya"
STEM = "priya_sharma_2025-03-14"  # input file names carry PHI too
TURNS = [
    (THERAPIST, "Hi Priya, welcome back. Is your number still (555) 201-7788, or should I use +44 20 7946 0958?"),
    (CLIENT, "Use the mobile, 0803 555 0142. And my email changed, it's priya.sharma@example.com now."),
    (THERAPIST, "Thank you. I have your address as 42 Maple Street, Apt 3B, Springfield, IL 62704."),
    (CLIENT, "We moved to 19 Harcourt Road, Dublin D02 X285 on March 3rd. My gran Siobhan O'Brien is 92 "
             "and my grandad Chinedu Okonkwo is ninety-three years old."),
    (THERAPIST, "That's a lot of change. The clinic letter from 3/14/2025 lists your NHS number 485 777 3456, "
                "your SSN 123-45-6789, MRN A7654321 and Aadhaar 2345 6789 0123."),
    (CLIENT, "Juan Carlos García from the housing office helped, and Mei Ling Chen. I'm 45, I can do this, "
             "Dr. Okafor. Whatever you think is best."),
    (THERAPIST, "I hear you, Priya. I will try to make the next one easier."),
]
NAMES = ["Priya", "Sharma", "Okafor", "Ngozi", "Siobhan", "O'Brien", "Chinedu", "Okonkwo", "Juan", "Carlos", "García",
         "Garcia", "Mei Ling", "Chen"]
CONTACT = ["priya.sharma@example.com", "Maple Street", "Harcourt Road", "D02 X285", "62704", "Springfield",
           "March 3rd", "3/14/2025", "2025-03-14", "is 92", "ninety-three", "A7654321"]
NUMBERS = ["(555) 201-7788", "+44 20 7946 0958", "0803 555 0142", "485 777 3456", "123-45-6789", "2345 6789 0123"]
PLANTED = NAMES + CONTACT + NUMBERS + [re.sub(r"\D", "", n) for n in NUMBERS] + ["7654321"]
METADATA = {"therapist_name": "Dr. Ngozi Okafor", "client_phone": "0803 555 0142", "topic": "housing"}


def _stamp(seconds: float, sep: str) -> str:
    return f"00:{int(seconds) // 60:02d}:{int(seconds) % 60:02d}{sep}000"


def write_every_format(folder: Path) -> list[Path]:
    """The planted session once in each format the readers support (one file a format)."""
    import docx

    folder.mkdir()
    files: dict[str, Path] = {}
    stem = {fmt: f"{STEM}_{fmt}" for fmt in READERS}  # one session id a format, so no output overwrites another
    files["txt"] = folder / f"{stem['txt']}.txt"
    files["txt"].write_text("".join(f"{who}: {text}\n" for who, text in TURNS))
    for name, delimiter in (("csv", ","), ("tsv", "\t")):
        files[name] = folder / f"{stem[name]}.{name}"
        with open(files[name], "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(["session_id", "speaker", "text", *METADATA])
            writer.writerows([stem[name], who, text, *METADATA.values()] for who, text in TURNS)
    files["vtt"] = folder / f"{stem['vtt']}.vtt"
    files["vtt"].write_text("WEBVTT\n\n" + "".join(
        f"{_stamp(5 * i, '.')} --> {_stamp(5 * i + 4, '.')}\n<v {who}>{text}\n\n" for i, (who, text) in enumerate(TURNS)))
    files["srt"] = folder / f"{stem['srt']}.srt"
    files["srt"].write_text("".join(
        f"{i + 1}\n{_stamp(5 * i, ',')} --> {_stamp(5 * i + 4, ',')}\n{who}: {text}\n\n" for i, (who, text) in enumerate(TURNS)))
    files["whisper"] = folder / f"{stem['whisper']}.json"
    files["whisper"].write_text(json.dumps({"segments": [
        {"id": i, "start": 5.0 * i, "end": 5.0 * i + 4, "text": " " + text, "speaker": who}
        for i, (who, text) in enumerate(TURNS)]}))
    files["jsonl"] = folder / f"{stem['jsonl']}.jsonl"
    files["jsonl"].write_text("".join(json.dumps(
        {"id": f"u{i}", "conversation_id": stem["jsonl"], "speaker": who, "timestamp": 5.0 * i, "text": text, "meta": {}}) + "\n"
        for i, (who, text) in enumerate(TURNS)))
    document = docx.Document()
    for who, text in TURNS:
        document.add_paragraph(f"{who}: {text}")
    files["docx"] = folder / f"{stem['docx']}.docx"
    document.save(str(files["docx"]))
    assert set(files) == set(READERS), f"a reader has no planted fixture: {set(READERS) - set(files)}"
    return list(files.values())


def readable(path: Path) -> str:
    """A file's contents as text: binary table formats are read back cell by cell."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False, default=str)
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                         for cell in row if cell is not None)
    return path.read_text(encoding="utf-8")


def leaks(folder: Path) -> list[tuple[str, str]]:
    """(file, planted item) for every planted item found in a file's name or contents."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.name + "\n" + readable(path)
        lowered = text.lower()
        found += [(path.name, item) for item in PLANTED if item.lower() in lowered]
    return found


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    base = make_tiny_base(tmp_path_factory.mktemp("base"))
    out = tmp_path_factory.mktemp("model") / "tiny"
    records = toy_records(2)
    args = TrainingArguments(epochs=1, batch_size=8, learning_rate=5e-3, head_learning_rate=1e-2, max_length=48, threads=1)
    train(records, records, out, base, args, log=lambda *_: None)  # dev needs 2+ sessions (calibration halves them)
    return out


@pytest.fixture(scope="module")
def runs(tiny_model, tmp_path_factory):
    """`code --deidentify` then `report --deidentify`, and a report straight from identified coded output."""
    root = tmp_path_factory.mktemp("deid")
    inputs = write_every_format(root / "inputs")
    broken = root / "inputs" / "priya_sharma_notes.vtt"
    broken.write_text("not a vtt at all, Priya Sharma 0803 555 0142")
    runner = CliRunner()
    coded, report, plain, plain_report = root / "coded", root / "report", root / "plain", root / "report_from_plain"
    result = runner.invoke(app, ["code", *map(str, inputs), str(broken), "-o", str(coded), "--model", str(tiny_model),
                                 "--therapist", THERAPIST, "--client", CLIENT, "--deidentify"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", str(coded), "-o", str(report), "--deidentify"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["code", *map(str, inputs), "-o", str(plain), "--model", str(tiny_model),
                                 "--therapist", THERAPIST, "--client", CLIENT])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", str(plain), "-o", str(plain_report), "--deidentify",
                                 "--group-by", "therapist_name"])
    assert result.exit_code == 0, result.output
    exports = root / "exports"
    for fmt, target in (("csv", "turns.csv"), ("jsonl", "turns.jsonl"), ("parquet", "turns.parquet"), ("eaf", "eaf")):
        result = runner.invoke(app, ["export", str(plain), "-o", str(exports / target), "-f", fmt, "--deidentify"])
        assert result.exit_code == 0, result.output
    for sheet in ("sheet.csv", "sheet.xlsx"):
        result = runner.invoke(app, ["sample", str(plain), "--uncertain", "100", "--per-session-max", "0", "-o",
                                     str(exports / sheet), "--data", str(root / "data"), "--deidentify"])
        assert result.exit_code == 0, result.output
    return {"inputs": inputs, "coded": coded, "report": report, "plain": plain, "plain_report": plain_report,
            "exports": exports}


def test_the_planted_session_reads_in_every_format_with_its_phi(runs):
    leaked = leaks(runs["plain"])
    assert {item for _, item in leaked} >= {"Priya", "Okafor", "priya.sharma@example.com", "0803 555 0142"}


def test_no_planted_item_reaches_any_output_of_code_or_report(runs):
    written = [p for key in ("coded", "report", "plain_report") for p in runs[key].rglob("*") if p.is_file()]
    kinds = {p.name if p.suffix != ".html" or p.name == "index.html" else "session.html" for p in written}
    assert {"manifest.json", "index.html", "session.html", "summary.csv", "episodes.jsonl"} <= kinds
    assert len(list(runs["coded"].glob("deid-*.jsonl"))) == len(runs["inputs"])
    for key in ("coded", "report", "plain_report", "exports"):
        assert leaks(runs[key]) == [], key


def test_every_export_format_and_the_sample_sheets_are_scanned_and_clean(runs):
    written = sorted(p.relative_to(runs["exports"]).as_posix() for p in runs["exports"].rglob("*") if p.is_file())
    assert {"turns.csv", "turns.jsonl", "turns.parquet", "sheet.csv", "sheet.xlsx"} <= set(written)
    eafs = [name for name in written if name.startswith("eaf/")]
    assert len(eafs) == len(runs["inputs"]) and all(name.startswith("eaf/deid-") for name in eafs)
    table = readable(runs["exports"] / "turns.parquet")
    assert "[NAME-" in table and "[PHONE-" in table  # read back for real: the scan sees the text
    assert "[NAME-" in readable(runs["exports"] / "sheet.xlsx")
    assert leaks(runs["exports"]) == []


def test_coded_output_keeps_the_turns_and_marks_the_replacements(runs):
    rows = [json.loads(line) for f in sorted(runs["coded"].glob("deid-*.jsonl")) for line in f.read_text().splitlines()]
    assert len(rows) == len(TURNS) * len(runs["inputs"])
    first = next(r for r in rows if r["turn"] == 0)
    assert re.fullmatch(r"Hi \[NAME-\d+\], welcome back\. Is your number still \[PHONE-\d+\], or should I use "
                        r"\[PHONE-\d+\]\?", first["text"])
    last = next(r for r in rows if r["turn"] == 6)
    assert last["text"].endswith("I will try to make the next one easier.")
    assert all(r["marker"] is not None or r["stage"] is not None for r in rows)


def test_manifest_names_inputs_by_hash_and_scrubs_errors(runs):
    manifest = json.loads((runs["coded"] / "manifest.json").read_text())
    assert manifest["sessions"] == len(runs["inputs"]) and manifest["deidentified"]["detectors"]
    assert all(i.startswith("sha256:") for i in manifest["inputs"])
    assert len(manifest["errors"]) == 1 and manifest["errors"][0]["input"].startswith("sha256:")


def test_same_session_in_every_format_gets_the_same_placeholders(runs):
    texts, with_metadata = {}, set()
    for f in runs["coded"].glob("deid-*.jsonl"):
        rows = [json.loads(line) for line in f.read_text().splitlines()]
        texts[f.name] = tuple((r["speaker"], r["text"]) for r in rows)
        if rows[0]["session_meta"]:
            with_metadata.add(f.name)
    assert len(with_metadata) == 2  # csv and tsv: their metadata names (Ngozi) are numbered first
    assert len({t for name, t in texts.items() if name not in with_metadata}) == 1, "formats disagree"
    skeleton = {tuple(re.sub(r"-\d+\]", "]", f"{s}: {t}") for s, t in turns) for turns in texts.values()}
    assert len(skeleton) == 1, "formats replace different stretches of text"
    assert {s for s, _ in next(iter(texts.values()))} == {"Dr. [NAME-1]", "[NAME-2]"}


def test_mapping_is_written_only_when_asked(runs, tiny_model, tmp_path):
    assert not any("mapping" in p.name for key in ("coded", "report") for p in runs[key].rglob("*"))
    table = tmp_path / "keep-apart" / "mapping.json"
    result = CliRunner().invoke(app, ["code", str(runs["inputs"][0]), "-o", str(tmp_path / "out"), "--model",
                                      str(tiny_model), "--deidentify", "--deid-mapping", str(table)])
    assert result.exit_code == 0, result.output
    mapping = json.loads(table.read_text())
    (values,) = mapping.values()
    assert values["[NAME-2]"] == "priya"


def test_mapping_without_deidentify_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path), "-o", str(tmp_path / "r"), "--deid-mapping",
                                      str(tmp_path / "m.json")])
    assert result.exit_code != 0 and "--deidentify" in result.output
