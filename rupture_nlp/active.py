"""`rupture-nlp sample`: the most uncertain coded turns as a sheet for a human coder.

Reads coded JSONL, leaves out turns already coded by an earlier import (so each round asks
for new turns), picks turns by `uncertainty.select` and writes `sheet.write_sheet`. The text
passes through `exports.prepare`, the same place exports put de-identification.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from rupture_nlp.corpus import DATA_DIR
from rupture_nlp.exports import Transform, prepare, read_coded_sessions
from rupture_nlp.imported import labelled_keys
from rupture_nlp.sheet import sheet_rows, write_sheet
from rupture_nlp.uncertainty import select


def sample_sheet(coded: Iterable[str | Path], out: str | Path, n: int, by: str = "margin",
                 per_session_max: int | None = 5, context: int = 3, blind: bool = False,
                 data_dir: Path | None = DATA_DIR, transforms: Iterable[Transform] = ()) -> dict[str, int]:
    """Write the sheet; returns counts (items, sessions they come from, candidate turns, rows)."""
    sessions = prepare(read_coded_sessions(coded), transforms)
    exclude = labelled_keys(data_dir) if data_dir is not None else set()
    records = [r for s in sessions for r in s.records]
    picked = select(records, n, by, per_session_max, exclude)
    rows = sheet_rows(sessions, picked, context, blind)
    write_sheet(rows, Path(out))
    return {"items": len(picked), "sessions": len({c.session_id for c in picked}), "turns": len(records),
            "excluded": len(exclude), "rows": len(rows)}
