"""Acceptance on the real AnnoMI dev sessions (skipped where the corpus is absent)."""

from __future__ import annotations

import csv
import json
from itertools import groupby


from rupture_nlp.io import read_sessions

from conftest import write_docx_paragraphs


def upstream_runs(path):
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sessions = {}
    for tid, group in groupby(rows, key=lambda r: r["transcript_id"]):
        runs = []
        for role, run in groupby(group, key=lambda r: r["interlocutor"]):
            runs.append((role, [r["utterance_id"] for r in run]))
        sessions[tid] = runs
    return sessions


def test_every_dev_session_segments_into_same_speaker_runs(annomi_csv):
    expected = upstream_runs(annomi_csv)
    sessions = read_sessions(annomi_csv)
    assert len(sessions) == len(expected) == 114
    for session in sessions:
        runs = expected[session.session_id]
        assert [t.role for t in session.turns] == [role for role, _ in runs]
        assert [[s.id for s in t.spans] for t in session.turns] == [ids for _, ids in runs]
        assert session.warnings == []


def _write_formats(session, folder):
    """One session written out in every format (test-side writers)."""
    def ts(seconds, sep):
        h, rem = divmod(int(seconds), 3600)
        return f"{h:02d}:{rem // 60:02d}:{rem % 60:02d}{sep}000"

    units = [(t.speaker.capitalize(), span_text) for t in session.turns for span_text in [t.text]]
    rows = [{"speaker": s, "text": x} for s, x in units]
    files = {}
    files["txt"] = folder / "s.txt"
    files["txt"].write_text("\n".join(f"{s}: {x}" for s, x in units) + "\n", encoding="utf-8")
    files["csv"] = folder / "s.csv"
    with open(files["csv"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["speaker", "text"])
        writer.writerows(units)
    files["vtt"] = folder / "s.vtt"
    files["vtt"].write_text("WEBVTT\n\n" + "".join(
        f"{ts(2 * i, '.')} --> {ts(2 * i + 1, '.')}\n<v {s}>{x}\n\n" for i, (s, x) in enumerate(units)), encoding="utf-8")
    files["srt"] = folder / "s.srt"
    files["srt"].write_text("".join(
        f"{i + 1}\n{ts(2 * i, ',')} --> {ts(2 * i + 1, ',')}\n{s}: {x}\n\n" for i, (s, x) in enumerate(units)), encoding="utf-8")
    files["whisperx"] = folder / "s.json"
    files["whisperx"].write_text(json.dumps({"segments": [
        {"start": 2 * i, "end": 2 * i + 1, "text": " " + x, "speaker": s} for i, (s, x) in enumerate(units)]}), encoding="utf-8")
    files["docx"] = write_docx_paragraphs(folder / "s.docx", rows)
    return files


def test_one_session_in_every_format_gives_identical_turns(annomi_csv, tmp_path):
    session = next(s for s in read_sessions(annomi_csv) if s.session_id == "3")
    expected = [(t.role, t.text) for t in session.turns]
    for name, path in _write_formats(session, tmp_path).items():
        (again,) = read_sessions(path)
        assert [(t.role, t.text) for t in again.turns] == expected, name
