"""Property-based fuzzing of every reader and of batch path expansion.

Run with more cases locally: `python -m pytest -q tests/test_fuzz_readers.py --hypothesis-profile=thorough`
(profiles are registered in conftest.py; CI uses the small `ci` profile).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from fuzz_inputs import (SEEDS, check_read, labelled_text, mutated, same_content_edit, scratch_dir, structured_docx,
                         wrong_json_fields, wrong_jsonl_fields)
from rupture_nlp.errors import TranscriptError
from rupture_nlp.io import READERS, expand_paths, iter_sessions
from rupture_nlp.io.base import known_extensions

EXTENSIONS = sorted(SEEDS)


def _write(data: bytes, suffix: str) -> Path:
    folder = scratch_dir("fuzz")
    path = folder / f"session{suffix}"
    path.write_bytes(data)
    return path


def test_every_registered_reader_is_fuzzed():
    """A new reader must get a seed here, or it is not covered by the fuzzing below."""
    assert known_extensions() - {".text", ".md"} <= set(SEEDS), sorted(known_extensions() - set(SEEDS))
    assert {spec.name for spec in READERS.values()} == {"txt", "csv", "tsv", "vtt", "srt", "whisper", "docx", "jsonl"}


@pytest.mark.parametrize("suffix", EXTENSIONS)
def test_every_seed_reads(suffix):
    """The unmutated seeds are valid, so the mutations below start from real files."""
    assert check_read(_write(SEEDS[suffix], suffix))


@pytest.mark.parametrize("suffix", EXTENSIONS)
@given(data=st.data())
def test_arbitrary_bytes_only_raise_transcript_error(suffix, data):
    check_read(_write(data.draw(st.binary(max_size=4096)), suffix))


@pytest.mark.parametrize("suffix", EXTENSIONS)
@given(data=st.data())
def test_mutated_valid_files_only_raise_transcript_error(suffix, data):
    check_read(_write(data.draw(mutated(SEEDS[suffix])), suffix))


def _turns(path: Path) -> list[tuple]:
    return [(t.speaker, t.role, t.text, [c.text for c in t.cues]) for s in check_read(path) for t in s.turns]


@pytest.mark.parametrize("suffix", [s for s in EXTENSIONS if s != ".docx"])
@given(layout=st.lists(st.sampled_from(["crlf", "cr", "zero-width-labels", "rtl-labels"]), max_size=3),
       encoding=st.sampled_from([None, "bom", "utf-16", "utf-16-le-no-bom", "utf-16-be-no-bom", "cp1252"]))
@example(layout=["cr"], encoding=None)
@example(layout=["zero-width-labels"], encoding=None)
@example(layout=[], encoding="utf-16-le-no-bom")
def test_encodings_line_ends_and_invisible_marks_keep_the_turns(suffix, layout, encoding):
    """A good file re-saved with other line ends or encoding, or with invisible marks
    around its labels, is still a good file: it reads into exactly the same turns."""
    data = SEEDS[suffix]
    for kind in layout:
        data = same_content_edit(kind)(data)
    if encoding == "cp1252":
        try:
            data.decode("utf-8").encode("cp1252")
        except UnicodeEncodeError:
            assume(False)  # zero-width and bidi marks have no cp1252 byte
    if encoding:
        data = same_content_edit(encoding)(data)
    assert _turns(_write(data, suffix)) == _turns(_write(SEEDS[suffix], suffix))


@given(data=st.data())
def test_whisper_json_with_wrong_field_types(data):
    check_read(_write(data.draw(wrong_json_fields(SEEDS[".json"])), ".json"))


@given(data=st.data())
def test_jsonl_with_wrong_field_types(data):
    check_read(_write(data.draw(wrong_jsonl_fields(SEEDS[".jsonl"])), ".jsonl"))


@given(docx=structured_docx())
def test_structured_docx(docx):
    check_read(_write(docx, ".docx"))


@pytest.mark.parametrize("suffix", [".txt", ".md"])
@given(text=labelled_text())
def test_labelled_text_lines(suffix, text):
    check_read(_write(text, suffix))


@pytest.mark.parametrize("format", sorted(READERS))
@given(data=st.data())
def test_any_format_forced_on_any_file(format, data):
    """`--format X` on a file of another format is a plain error, never a crash."""
    suffix = data.draw(st.sampled_from(EXTENSIONS))
    check_read(_write(data.draw(mutated(SEEDS[suffix], max_edits=1)), suffix), format)


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=30).filter(
    lambda n: n not in (".", ".."))


@given(layout=st.lists(st.tuples(names, st.sampled_from(EXTENSIONS + [".TXT", ".Json", "", ".part"]),
                                 st.booleans(), st.binary(max_size=64)), max_size=6))
def test_expand_paths_and_batch_reading_over_odd_folders(layout):
    """Folders with odd names, directories named like files and junk files: every file found
    has a known extension, is read or reported once, and nothing but `TranscriptError` escapes."""
    root = scratch_dir("fuzz-dir")
    for name, suffix, as_dir, content in layout:
        target = root / f"{name}{suffix}"
        try:
            if as_dir:
                (target / "inner").mkdir(parents=True, exist_ok=True)
            elif not target.exists():
                target.write_bytes(content)
        except OSError:  # a name the file system refuses (too long in bytes)
            continue
    found = expand_paths([root])
    assert all(p.is_file() and p.suffix.lower() in known_extensions() for p in found)
    assert len(found) == len(set(found))
    results = list(iter_sessions([root]))
    assert [path for path, _ in results] == found
    for path, result in results:
        if isinstance(result, TranscriptError):
            assert result.path == str(path)
            assert result.line is None or result.line >= 1


def test_expand_paths_keeps_missing_and_directory_like_paths_as_errors(tmp_path):
    folder_named_like_a_file = tmp_path / "session.txt"
    (folder_named_like_a_file / "empty").mkdir(parents=True)
    missing = tmp_path / "missing.txt"
    results = dict(iter_sessions([folder_named_like_a_file, missing]))
    assert list(results) == [missing]
    assert "no such file" in str(results[missing])
