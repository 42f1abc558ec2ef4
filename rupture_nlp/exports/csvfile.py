"""CSV export: the flat table (`exports.table`) as UTF-8 with a byte-order mark.

The BOM is what makes Excel read the file as UTF-8 (without it, accents and curly quotes
turn into mojibake on Windows); pandas reads it with `encoding="utf-8-sig"`, and Python's
csv module quotes any cell holding commas, quotes or line breaks.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rupture_nlp.coding_io import atomic_write_text
from rupture_nlp.exports.coded import SessionRecords
from rupture_nlp.exports.table import flat_rows

BOM = "\ufeff"


def export_csv(sessions: list[SessionRecords], out: Path) -> list[Path]:
    names, rows = flat_rows(sessions)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    atomic_write_text(out, BOM + buffer.getvalue())
    return [out]
