"""`code --deidentify` in the batch coder: resume with and without a key, workers, the mapping table.

The model is an untrained tiny encoder: these tests are about which sessions get coded,
what the outputs are called and what the manifest and mapping hold, not about labels.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("faker", reason="de-identification needs the 'deid' extra (Faker)")
pytest.importorskip("phonenumbers", reason="de-identification needs the 'deid' extra (phonenumbers)")

from typer.testing import CliRunner  # noqa: E402

from rupture_nlp.cli import Batch, app  # noqa: E402
from rupture_nlp.coding_run import run_coding  # noqa: E402
from rupture_nlp.deid import KEY_ENV, Deidentifier  # noqa: E402

from tiny_model import save_untrained_tiny  # noqa: E402

# Written for these tests; every session names its client so the tables are not empty.
CLIENTS = ["Priya", "Chinedu", "Siobhan"]


def write_inputs(folder: Path) -> list[Path]:
    """Three one-session files named after their clients, and a CSV with two sessions."""
    folder.mkdir(parents=True)
    paths = []
    for name in CLIENTS:
        path = folder / f"{name.lower()}_2025-03-14.txt"
        path.write_text(f"Therapist: Hi {name}, how was the week?\nClient: Hard. Call me on 0803 555 0142 if needed.\n"
                        f"Therapist: I will, {name}. What made it hard?\nClient: Whatever. I dunno.\n")
        paths.append(path)
    csv = folder / "group_ngozi_okafor.csv"
    csv.write_text("session_id,speaker,text\n"
                   "ngozi_a,Therapist,\"Hi Ngozi, welcome.\"\nngozi_a,Client,\"My name is Ngozi Okafor, you know that.\"\n"
                   "ngozi_b,Therapist,\"Hello again, Ngozi.\"\nngozi_b,Client,\"I'm not sure this is helping.\"\n")
    return paths + [csv]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_untrained_tiny(tmp_path_factory.mktemp("base"), tmp_path_factory.mktemp("tiny") / "model")


def batch(folder: Path) -> Batch:
    return Batch([folder], None, None, None, None, None, quiet=True)


def outputs(out: Path) -> dict[str, int]:
    """Output name -> inode (an atomic rewrite changes it)."""
    return {p.name: p.stat().st_ino for p in sorted(out.glob("*.jsonl"))}


def test_a_rerun_without_a_key_skips_every_session_and_writes_no_duplicate(tmp_path, model_dir, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    inputs, out = tmp_path / "in", tmp_path / "out"
    write_inputs(inputs)
    first = run_coding(batch(inputs), out, model_dir, deid=Deidentifier())
    assert first["counts"] == {"coded": 5, "skipped": 0, "failed": 0}
    before = outputs(out)
    assert len(before) == 5 and all(name.startswith("deid-") for name in before)

    loads = []
    again = run_coding(batch(inputs), out, model_dir, deid=Deidentifier(), coder_factory=lambda: loads.append(1))
    assert loads == [] and again["counts"] == {"coded": 0, "skipped": 5, "failed": 0}
    assert outputs(out) == before  # nothing rewritten, nothing added although the key is new
    assert sorted(o["session_id"] for o in again["outputs"]) == sorted(n[:-6] for n in before)  # ids as on disk


def test_with_a_key_names_are_stable_and_a_new_model_redoes_in_place(tmp_path, model_dir, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "test key")
    inputs, out = tmp_path / "in", tmp_path / "out"
    write_inputs(inputs)
    run_coding(batch(inputs), out, model_dir, deid=Deidentifier())
    before = outputs(out)
    redo = run_coding(batch(inputs), out, model_dir, deid=Deidentifier(), fingerprint="another-model")
    assert redo["counts"] == {"coded": 5, "skipped": 0, "failed": 0}
    after = outputs(out)
    assert after.keys() == before.keys() and all(after[n] != before[n] for n in before)  # rewritten, same names
    rows = [json.loads(p.read_text().splitlines()[0]) for p in out.glob("*.jsonl")]
    assert {r["provenance"]["model"] for r in rows} == {"another-model"}
    assert all(r["provenance"]["source"].startswith("sha256:") and r["provenance"]["deidentified"] for r in rows)
    (inputs / "priya_2025-03-14.txt").write_text("Therapist: A new first line.\nClient: Fine.\n")
    edited = run_coding(batch(inputs), out, model_dir, deid=Deidentifier(), fingerprint="another-model")
    assert edited["counts"] == {"coded": 1, "skipped": 4, "failed": 0}


def test_a_plain_and_a_deidentified_coding_never_count_as_each_other(tmp_path, model_dir, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "test key")
    inputs, out = tmp_path / "in", tmp_path / "out"
    write_inputs(inputs)
    run_coding(batch(inputs), out, model_dir)
    deid = run_coding(batch(inputs), out, model_dir, deid=Deidentifier())
    assert deid["counts"]["coded"] == 5  # plain outputs are not de-identified ones


def test_the_manifest_and_messages_name_inputs_by_hash(tmp_path, model_dir, capsys):
    inputs, out = tmp_path / "in", tmp_path / "out"
    write_inputs(inputs)
    (inputs / "siobhan_obrien_notes.vtt").write_text("not a vtt, Siobhan O'Brien 0803 555 0142")
    runner = CliRunner()
    result = runner.invoke(app, ["code", str(inputs), "-o", str(out), "--model", str(model_dir), "--deidentify"])
    assert result.exit_code == 0, result.output
    manifest = (out / "manifest.json").read_text()
    for secret in ("priya", "ngozi", "siobhan", "0803", str(inputs)):
        assert secret not in manifest.lower(), secret
        assert secret not in result.output.lower(), secret
    data = json.loads(manifest)
    assert data["counts"] == {"coded": 5, "skipped": 0, "failed": 1} and "sha256:" in result.output
    assert all(i.startswith("sha256:") for i in data["inputs"])


def test_workers_send_back_every_sessions_table(tmp_path, model_dir, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "test key")
    inputs = tmp_path / "in"
    write_inputs(inputs)
    runner = CliRunner()
    tables, files = {}, {}
    for n in (1, 2):
        out, table = tmp_path / f"out{n}", tmp_path / f"secure{n}" / "mapping.json"
        result = runner.invoke(app, ["code", str(inputs), "-o", str(out), "--model", str(model_dir), "--workers", str(n),
                                     "--deidentify", "--deid-mapping", str(table)])
        assert result.exit_code == 0, result.output
        tables[n] = json.loads(table.read_text())
        files[n] = {p.name: p.read_text() for p in out.glob("*.jsonl")}
        assert "mapping" not in (out / "manifest.json").read_text()
    assert files[1] == files[2] and len(files[2]) == 5
    assert tables[1] == tables[2] and set(tables[2]) == {name[:-6] for name in files[2]}
    assert sorted(v for t in tables[2].values() for v in t.values() if v in ("priya", "chinedu", "siobhan", "ngozi")) == \
        ["chinedu", "ngozi", "ngozi", "priya", "siobhan"]


def test_a_resumed_run_extends_the_mapping_table(tmp_path, model_dir, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    inputs, out, table = tmp_path / "in", tmp_path / "out", tmp_path / "mapping.json"
    paths = write_inputs(inputs)
    runner = CliRunner()
    args = ["code", str(inputs), "-o", str(out), "--model", str(model_dir), "--deidentify", "--deid-mapping", str(table)]
    assert runner.invoke(app, args).exit_code == 0
    paths[0].write_text("Therapist: Hi Amara, a new session.\nClient: Yes.\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    mapping = json.loads(table.read_text())
    assert len(mapping) == 6  # 5 from the first run (4 still current) + the edited input's new session
    assert any("amara" in t.values() for t in mapping.values())
