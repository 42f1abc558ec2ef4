"""No session id can write outside the output folder or silently share a file with another.

Session ids come from file names and from columns inside the files, so they are
untrusted: `..`, separators, absolute paths, NUL, Windows device names, very long or
non-ASCII ids must all give a plain file name directly inside the output folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from fuzz_inputs import scratch_dir
from rupture_nlp.coding_io import safe_name, unique_id, write_coded
from rupture_nlp.types import Coding, Session, Turn

HOSTILE = ["..", ".", "../../etc/passwd", "/abs/path", "C:\\Windows\\x", "\\\\server\\share", "a/b", "a_b", "a\\b",
           "", " ", "\x00", "a\x00b", "CON", "con.txt", "Nul", "COM1", "lpt9.jsonl", "AUX.", "x" * 5000, "café", "cafè",
           "セッション", "😀", "\u202egnp.exe", "trailing.", "trailing ", ".hidden", "-rf", "~", "$HOME", "a*?<>|\"b"]

ids = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300),
                st.text(st.sampled_from("./\\\x00 .aA_-:"), max_size=12))


def _write(session_id: str, out: Path) -> Path:
    session = Session(session_id=session_id, turns=[Turn(index=0, speaker="T", role="therapist", text="hi")])
    return write_coded(session, [Coding(stage="none")], out)


@given(session_id=ids)
@example(session_id="../../x")
@example(session_id="CON")
def test_a_session_id_writes_one_plain_file_inside_the_output_folder(session_id):
    out = scratch_dir("names") / "out"
    path = _write(session_id, out)
    name = safe_name(session_id)
    assert path.parent == out and path.resolve().parent == out.resolve()
    assert path.name == f"{name}.jsonl" and path.is_file()
    assert [p.name for p in out.iterdir()] == [path.name]  # nothing else written, nothing outside
    assert name and len(name) <= 131 and not name.startswith(".") and not name.endswith((".", " "))
    assert name.isascii() and "/" not in name and "\\" not in name and "\x00" not in name
    assert name.split(".")[0].lower() not in {"con", "prn", "aux", "nul"} | {f"com{n}" for n in range(10)} | {
        f"lpt{n}" for n in range(10)}
    assert json.loads(path.read_text(encoding="utf-8").split("\n")[0])["session_id"] == session_id


@given(first=ids, second=ids)
@example(first="a/b", second="a_b")
@example(first="café", second="cafè")
@example(first="x" * 200, second="x" * 201)
@example(first="CON", second="_CON")
def test_distinct_ids_get_distinct_file_names(first, second):
    if first != second:
        assert safe_name(first) != safe_name(second)


@given(batch=st.lists(ids, min_size=1, max_size=12))
@example(batch=["s1", "s1", "S1", "s1-2"])
@example(batch=["A", "a"])
def test_a_batch_never_overwrites_a_session_silently(batch):
    """Repeated or case-colliding ids in one run get their own files and distinct ids."""
    out = scratch_dir("batch") / "out"
    taken: set[str] = set()
    written = []
    for session_id in batch:
        unique = unique_id(session_id, taken)
        assert unique == session_id or unique.startswith(f"{session_id}-")
        written.append((unique, _write(unique, out)))
    names = [path.name.casefold() for _, path in written]
    assert len(set(names)) == len(batch)
    assert len({unique for unique, _ in written}) == len(batch)
    assert sorted(p.name for p in out.iterdir()) == sorted(path.name for _, path in written)
