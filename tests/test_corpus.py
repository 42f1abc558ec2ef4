"""The committed corpus: every label file validates against the codebook, splits are
disjoint, the data card matches the data, no AnnoMI text is committed."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from rupture_nlp.corpus import DATA_DIR, load_annomi, load_authored, load_splits
from rupture_nlp import splits as make_splits
from rupture_nlp.labels import check_code

ROOT = Path(__file__).parents[1]


def test_every_authored_label_file_validates():
    sessions = load_authored("coder_a")  # raises TranscriptError on misalignment or invalid codes
    assert len(sessions) >= 100
    for item in sessions:
        assert all(t.coding is not None for t in item.session.turns)


def test_second_coder_files_validate():
    assert len(load_authored("coder_b")) >= 20


def test_annomi_codes_join_the_text(annomi_csv):
    for coder in ("coder_a", "coder_b"):
        sessions = load_annomi(coder, annomi_csv.parent)
        assert sessions, coder
        for item in sessions:
            for turn in item.session.turns:
                assert check_code(turn.role, turn.coding.marker, turn.coding.subtype, turn.coding.stage) is None
    assert len(load_annomi("coder_a", annomi_csv.parent)) == 114


def test_annomi_label_files_hold_ids_and_codes_only():
    allowed = ["turn", "utterance_id", "role", "marker", "subtype", "stage"]
    for path in (DATA_DIR / "labels/annomi").rglob("*.tsv"):
        with open(path, encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            assert reader.fieldnames == allowed, path
            for row in reader:
                assert row["turn"].isdigit() and row["utterance_id"].isdigit(), path


ANNOMI_HEADER = ",".join(["transcript_id", "mi_quality"])  # built, so this file never matches a header scan itself


def test_no_annomi_text_is_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for name in tracked:
        path = ROOT / name
        if path.suffix in (".csv", ".tsv", ".jsonl", ".json") and path.is_file():
            head = path.read_text(encoding="utf-8", errors="ignore")[:2000]
            assert "utterance_text" not in head and ANNOMI_HEADER not in head, name


def test_splits_are_disjoint_and_cover_the_sources():
    splits = load_splits()
    assert set(splits.values()) == {"train", "dev", "test"}
    assert len(splits) == len(set(splits))  # one split per session id (a dict cannot hold two)
    for source in ("annomi_", "au_"):
        ids = [s for s in splits if s.startswith(source)]
        assert sum(splits[s] == "test" for s in ids) >= 0.2 * len(ids)


def test_load_corpus_is_session_grouped(annomi_csv, monkeypatch):
    monkeypatch.setenv("RUPTURE_ANNOMI_DIR", str(annomi_csv.parent))
    from rupture_nlp.corpus import load_corpus

    corpus = load_corpus()
    seen = {name: set(corpus[name]["session_id"]) for name in corpus}
    assert not (seen["train"] & seen["test"]) and not (seen["train"] & seen["dev"]) and not (seen["dev"] & seen["test"])
    record = corpus["train"][5]
    assert {"session_id", "role", "text", "context", "marker", "subtype", "stage"} <= set(record)


def test_data_card_matches_the_data():
    result = subprocess.run([sys.executable, str(ROOT / "scripts/data_card.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_adjudicated_decisions_replace_the_primary_codes():
    from rupture_nlp.corpus import adjudications

    decided = adjudications()
    if not decided:
        pytest.skip("no adjudication file yet")
    (source, session, turn), code = next((k, v) for k, v in decided.items() if k[0] == "authored")
    (item,) = load_authored("coder_a", only={session})
    coding = item.session.turns[turn].coding
    assert (coding.marker, coding.subtype, coding.stage) == (code["marker"], code["subtype"], code["stage"])
    for row_code in decided.values():
        assert row_code["marker"] in (None, "none", "confrontation", "withdrawal")


def test_new_sessions_lift_a_thin_dialect_group_to_the_test_floor():
    splits = {"old_1": "test", "old_2": "train"}
    groups = {"old_1": "nigerian_english", "old_2": "nigerian_english", "annomi_9": "annomi"}
    new = {"authored": [(0.1 * k, f"ng_{k}") for k in range(8)], "annomi": [(0.0, "annomi_9")]}
    groups.update({f"ng_{k}": "nigerian_english" for k in range(8)})
    chosen = make_splits.floor_to_test(new, splits, groups)
    assert set(chosen.values()) == {"test"}
    assert len(chosen) == make_splits.TEST_FLOOR - 1  # one test session already there
    assert "annomi_9" not in chosen  # a source without recorded varieties has no floor
    rates = sorted(int(sid.split("_")[1]) for sid in chosen)
    assert rates[0] <= 1 and rates[-1] >= 6  # spread over the marker-rate order, not the lowest four


def test_training_only_sessions_go_to_train_and_leave_the_deal_and_the_floor_alone():
    splits = {"old_1": "test"}
    new = {"authored": [(0.1 * k, f"s_{k}") for k in range(10)] + [(0.9, "extra_1"), (0.95, "extra_2")]}
    groups = {sid: "southern_us" for sid in ["old_1", *(f"s_{k}" for k in range(10)), "extra_1", "extra_2"]}
    without = make_splits.assign_new({"authored": new["authored"][:10]}, splits, groups, set())
    chosen = make_splits.assign_new(new, splits, groups, {"extra_1", "extra_2"})
    assert chosen["extra_1"] == chosen["extra_2"] == "train"
    # the other sessions get exactly what they would have got had the training-only ones not existed
    assert {sid: split for sid, split in chosen.items() if sid.startswith("s_")} == without
    assert sum(split == "test" for split in without.values()) >= make_splits.TEST_FLOOR - 1


@pytest.mark.parametrize("n", [2, 3, 4, 6, 10])
def test_floor_and_deal_send_at_most_half_of_a_groups_new_sessions_to_test_and_leave_a_dev_session(n):
    sessions = [(0.1 * k, f"new_{k}") for k in range(n)]
    groups = {sid: "older_adult" for _, sid in sessions}  # one group, no test session yet: the floor wants five
    chosen = make_splits.assign_new({"authored": sessions}, {}, groups, set())
    splits = list(chosen.values())
    assert len(chosen) == n and 1 <= splits.count("test") <= n // 2
    assert splits.count("train") >= 1
    assert ("dev" in splits) == (n >= 3)  # a dev session once train can spare one (it keeps at least one)


def test_a_group_at_the_floor_takes_no_extra_test_sessions():
    splits = {f"old_{k}": "test" for k in range(make_splits.TEST_FLOOR)}
    groups = {sid: "british_irish" for sid in splits} | {"new_1": "british_irish"}
    assert make_splits.floor_to_test({"authored": [(0.2, "new_1")]}, splits, groups) == {}
