"""Ray Data batch coding gives the in-process coder's rows, from JSONL or Parquet, to JSONL or Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Not in the `test` extra (a local Ray with actors takes minutes on a 2-core CI machine): run it with
# pip install -e '.[ray,test]' && python -m pytest -q tests/test_ray.py
ray = pytest.importorskip("ray", reason="Ray Data is the optional extra [ray]; pip install -e '.[ray,test]' to run these tests")

from rupture_nlp.coding_io import coded_records
from rupture_nlp.errors import TranscriptError
from rupture_nlp.integrations.ray import _jsonl_rows, code_corpus, read_coded, same_package_env
from rupture_nlp.io import read_sessions
from rupture_nlp.model import TransformerCoder
from rupture_nlp.resume import model_fingerprint
from rupture_nlp.types import write_jsonl

from tiny_model import train_tiny

pytestmark = pytest.mark.slow  # starts a local Ray and actor processes: tens of seconds, not seconds

SESSIONS = Path(__file__).parents[1] / "data" / "authored" / "sessions"


@pytest.fixture(scope="module")
def local_ray():
    """A 2-CPU local Ray whose workers import the same rupture_nlp as this test process."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=same_package_env())
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("model"), epochs=3)


@pytest.fixture(scope="module")
def sessions():
    """Three authored sessions (one with several clients), with metadata so every column is set."""
    out = []
    for name in ("au_a01.txt", "au_a02.txt", "au_c01.txt"):
        (session,) = read_sessions(SESSIONS / name)
        session.metadata = {"modality": "cbt", "name": name}
        out.append(session)
    return out


@pytest.fixture(scope="module")
def expected(sessions, tiny_model) -> list[dict]:
    coder = TransformerCoder.load(tiny_model)
    model = model_fingerprint(tiny_model) + ("" if coder.backend == "torch" else f"+{coder.backend}")
    rows = [row for s in sessions for row in coded_records(s, coder.code(s), {"model": model})]
    return sorted(rows, key=lambda r: (r["session_id"], r["turn"]))


def assert_same_rows(got: list[dict], expected: list[dict], source: Path) -> None:
    assert len(got) == len(expected) > 100
    hashes: dict[str, set[str]] = {}
    for g, e in zip(got, expected):
        assert list(g) == list(e)  # the same keys in the same order as `rupture-nlp code` writes
        skip = ("probs", "provenance")
        assert {k: v for k, v in g.items() if k not in skip} == {k: v for k, v in e.items() if k not in skip}
        assert g["provenance"]["model"] == e["provenance"]["model"]  # model fingerprint (+ backend), as `code` has it
        assert g["provenance"]["source"] == str(source.resolve())
        hashes.setdefault(g["session_id"], set()).add(g["provenance"]["input_sha256"])
    assert all(len(h) == 1 for h in hashes.values())  # one input hash a session...
    assert len({h.pop() for h in hashes.values()}) == len(hashes) == 3  # ...and different sessions differ
    for g, e in zip(got, expected):
        assert (g["probs"] is None) == (e["probs"] is None)
        for head, probs in (e["probs"] or {}).items():
            assert g["probs"][head] == pytest.approx(probs, abs=2e-3)
    client = [json.dumps(e["probs"], sort_keys=True) for e in expected if e["role"] == "client"]
    assert len(set(client)) > 10, "the model should give the turns different probabilities, or equality proves little"


def test_jsonl_in_jsonl_out_equals_the_in_process_coder(local_ray, tmp_path, sessions, tiny_model, expected):
    turns = tmp_path / "turns.jsonl"
    write_jsonl(sessions, turns)
    manifest = code_corpus(turns, tmp_path / "coded", tiny_model, num_actors=2, batch_size=16)
    assert manifest["turns"] == len(expected) and manifest["shards"]
    assert_same_rows(read_coded(tmp_path / "coded"), expected, turns)
    assert not (tmp_path / "coded.part").exists()
    line = (tmp_path / "coded" / manifest["shards"][0]).read_text().splitlines()[0]
    assert isinstance(json.loads(line)["session_meta"], dict)  # objects, as `code` writes them, not JSON text


def test_parquet_in_parquet_out_equals_the_in_process_coder(local_ray, tmp_path, sessions, tiny_model, expected):
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [r for s in sessions for r in s.to_records()]
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "turns.parquet")
    manifest = code_corpus(tmp_path / "turns.parquet", tmp_path / "coded", tiny_model, num_actors=1, batch_size=64,
                           format="parquet")
    assert all(name.endswith(".parquet") for name in manifest["shards"])
    assert_same_rows(read_coded(tmp_path / "coded"), expected, tmp_path / "turns.parquet")


def test_a_line_separator_inside_a_turn_text_does_not_split_the_line(tmp_path, sessions):
    turns = tmp_path / "turns.jsonl"
    write_jsonl(sessions[:1], turns)
    lines = turns.read_text(encoding="utf-8").split("\n")
    record = json.loads(lines[1])
    record["text"] = "one\u2028two"  # a raw U+2028, as json.dumps(ensure_ascii=False) writes it
    lines[1] = json.dumps(record, ensure_ascii=False)
    rows = _jsonl_rows({"path": str(turns), "bytes": "\n".join(lines).encode("utf-8")})
    assert len(rows) == len(sessions[0].turns)
    assert json.loads(rows[1]["record"])["text"] == "one\u2028two"


def test_a_bad_line_names_file_and_line_and_writes_nothing(local_ray, tmp_path, sessions, tiny_model):
    turns = tmp_path / "turns.jsonl"
    write_jsonl(sessions[:1], turns)
    lines = turns.read_text().splitlines()
    lines[4] = lines[4][:-5]
    turns.write_text("\n".join(lines) + "\n")
    with pytest.raises(TranscriptError) as caught:
        code_corpus(turns, tmp_path / "coded", tiny_model, num_actors=1)
    assert caught.value.line == 5 and caught.value.path.endswith("turns.jsonl") and "not valid JSON" in str(caught.value)
    assert not (tmp_path / "coded").exists() and not (tmp_path / "coded.part").exists()


def test_a_session_split_over_two_inputs_is_refused_by_the_cli(local_ray, tmp_path, sessions, tiny_model):
    from typer.testing import CliRunner

    from rupture_nlp.cli import app

    folder = tmp_path / "turns"
    folder.mkdir()
    write_jsonl(sessions[:1], folder / "a.jsonl")
    write_jsonl(sessions[:1], folder / "b.jsonl")
    result = CliRunner().invoke(app, ["ray-code", str(folder), "-o", str(tmp_path / "coded"), "--model", str(tiny_model),
                                      "--actors", "1"])
    assert result.exit_code == 1 and "numbered 0, 1, 2" in result.output and "Traceback" not in result.output
    assert f"error: {folder}" in result.output  # names the file
    assert not (tmp_path / "coded").exists()


def test_an_existing_output_folder_is_never_overwritten(tmp_path, tiny_model):
    (tmp_path / "coded").mkdir()
    (tmp_path / "coded" / "keep.jsonl").write_text("{}\n")
    with pytest.raises(FileExistsError, match="not empty"):
        code_corpus(tmp_path / "x.jsonl", tmp_path / "coded", tiny_model)
    assert (tmp_path / "coded" / "keep.jsonl").read_text() == "{}\n"


def test_deidentified_ray_coding_leaks_nothing_and_keeps_the_codes(local_ray, tmp_path, sessions, tiny_model, expected):
    pytest.importorskip("faker")
    pytest.importorskip("phonenumbers")
    from dataclasses import replace

    from rupture_nlp.deid import Deidentifier

    planted = ["Marcus Whitfield", "marcus.whitfield@example.org", "(312) 555-0187"]
    first = sessions[0]
    turns = list(first.turns)
    turns[1] = replace(turns[1], text=turns[1].text + " My name is Marcus Whitfield, write to marcus.whitfield@example.org "
                       "or call (312) 555-0187.")
    planted_sessions = [replace(first, turns=turns, session_id="whitfield_intake")] + sessions[1:]
    path = tmp_path / "whitfield_turns.jsonl"
    write_jsonl(planted_sessions, path)
    manifest = code_corpus(path, tmp_path / "coded", tiny_model, num_actors=1, batch_size=32,
                           deid=Deidentifier(key="test-key"))
    written = "".join(p.read_text() for p in (tmp_path / "coded").iterdir())
    for secret in planted + ["whitfield", str(path)]:
        assert secret.lower() not in written.lower()
    rows = read_coded(tmp_path / "coded")
    assert manifest["deidentified"] and manifest["input"].startswith("sha256:")
    assert all(r["provenance"]["source"].startswith("sha256:") for r in rows)
    assert len({r["session_id"] for r in rows}) == 3
    # the model read the real text: every turn but the edited one keeps the plain run's codes
    pseudonym = Deidentifier(key="test-key").session_id
    renamed = {pseudonym(s.session_id): s.session_id for s in sessions[1:]} | {pseudonym("whitfield_intake"): first.session_id}
    plain = {(e["session_id"], e["turn"]): (e["marker"], e["stage"]) for e in expected}
    got = {(renamed[r["session_id"]], r["turn"]): (r["marker"], r["stage"]) for r in rows}
    same = [got[k] == v for k, v in plain.items() if k != (first.session_id, 1)]
    assert len(got) == len(plain) and sum(same) >= len(same) - 3  # context of turns 2–4 changed a little
