"""ELAN export: one `.eaf` file a session, written with pympi-ling (MIT; extra `[export]`).

Tiers: one text tier a role (`client`, `therapist`, `other`; `client Maria` and so on when a
role has several speakers, each tier's PARTICIPANT the speaker), `marker` (client turns
coded other than `none`, value `marker/subtype`) and `stage` (therapist turns coded other
than `none`), the code tiers under controlled vocabularies taken from `rupture_nlp.labels`
so a coder correcting codes in ELAN picks from the codebook. Code annotations share the
times of their turn.

Times: when every turn of the session has `start` and `end`, annotations sit at those times
(milliseconds). Otherwise the whole session is laid on a synthetic timeline: turns back to
back from 0, each lasting 400 ms a word (150 words a minute), at least 1 s. The header
property `rupture_nlp:timeline` says which (`media` or the synthetic rule), beside the
session id and its metadata (`meta:<key>`), so nobody mistakes synthetic times for real ones.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rupture_nlp.coding_io import safe_name
from rupture_nlp.exports.coded import SessionRecords
from rupture_nlp.exports.extras import require
from rupture_nlp.labels import MARKERS, STAGES, SUBTYPE_TO_MARKER

MS_PER_WORD = 400
MIN_MS = 1000
SYNTHETIC = f"synthetic: turns back to back from 0, {MS_PER_WORD} ms a word, at least {MIN_MS} ms (no media times)"
MEDIA = "media: turn start/end times from the transcript"


def timeline(records: list[dict[str, Any]]) -> tuple[list[tuple[int, int]], str]:
    """(start_ms, end_ms) a turn and the rule used: media times when all turns have them, else synthetic."""
    timed = all(isinstance(r.get("start"), (int, float)) and isinstance(r.get("end"), (int, float)) for r in records)
    if timed and records:
        return [(round(r["start"] * 1000), round(r["end"] * 1000)) for r in records], MEDIA
    spans, clock = [], 0
    for record in records:
        length = max(MIN_MS, MS_PER_WORD * len(str(record.get("text") or "").split()))
        spans.append((clock, clock + length))
        clock += length
    return spans, SYNTHETIC


def _tier_names(records: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(role, speaker) → tier id: the role alone unless the role has several speakers."""
    speakers: dict[str, list[str]] = {}
    for r in records:
        names = speakers.setdefault(r["role"], [])
        if r.get("speaker") not in names:
            names.append(r.get("speaker"))
    return {(role, s): role if len(names) == 1 else f"{role} {s}" for role, names in speakers.items() for s in names}


def _vocabulary(eaf, name: str, values: list[str]) -> None:
    eaf.add_controlled_vocabulary(name)
    for k, value in enumerate(values):
        eaf.add_cv_entry(name, f"{name}_{k}", [(value, "eng", None)])
    eaf.add_linguistic_type(name, param_dict={"LINGUISTIC_TYPE_ID": name, "TIME_ALIGNABLE": "true",
                                              "GRAPHIC_REFERENCES": "false", "CONTROLLED_VOCABULARY_REF": name})


def session_eaf(session: SessionRecords):
    """A pympi `Eaf` of one coded session (not yet written)."""
    elan = require("pympi.Elan", "ELAN")
    eaf = elan.Eaf(author="rupture-nlp")
    eaf.remove_tier("default")
    eaf.add_language("eng", "http://cdb.iso.org/lg/CDB-00138502-001", "English (eng)")
    _vocabulary(eaf, "marker", [f"{m}/{s}" for s, m in SUBTYPE_TO_MARKER.items() if m in MARKERS])
    _vocabulary(eaf, "stage", [s for s in STAGES if s != "none"])
    spans, rule = timeline(session.records)
    eaf.add_property("rupture_nlp:session_id", session.session_id)
    eaf.add_property("rupture_nlp:timeline", rule)
    for key, value in session.meta.items():
        eaf.add_property(f"meta:{key}", value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    tiers = _tier_names(session.records)
    for (role, speaker), tier in tiers.items():
        eaf.add_tier(tier, part=speaker or "")
    if any(r["role"] == "client" for r in session.records):
        eaf.add_tier("marker", ling="marker")
    if any(r["role"] == "therapist" for r in session.records):
        eaf.add_tier("stage", ling="stage")
    last_end: dict[str, int] = {}

    def place(tier: str, start: int, end: int, value: str) -> None:
        start = max(start, last_end.get(tier, 0))  # ELAN forbids overlaps within a tier
        end = max(end, start + 1)
        last_end[tier] = end
        eaf.add_annotation(tier, start, end, value)

    for record, (start, end) in zip(session.records, spans):
        place(tiers[(record["role"], record.get("speaker"))], start, end, str(record.get("text") or ""))
        if record["role"] == "client" and record.get("marker") not in (None, "", "none"):
            place("marker", start, end, f"{record['marker']}/{record.get('subtype') or ''}".rstrip("/"))
        if record["role"] == "therapist" and record.get("stage") not in (None, "", "none"):
            place("stage", start, end, record["stage"])
    return eaf


def export_eaf(sessions: list[SessionRecords], out: Path) -> list[Path]:
    """One `<session>.eaf` a session in the folder `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for session in sessions:
        eaf = session_eaf(session)
        path = out / f"{safe_name(session.session_id)}.eaf"
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{path.name}.", suffix=".part")
        os.close(fd)
        os.unlink(tmp)  # pympi renames an existing file to <name>.bak before writing: give it none
        try:
            eaf.to_file(tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        paths.append(path)
    return paths
