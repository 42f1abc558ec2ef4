"""Parquet export: the flat table (`exports.table`) through pandas and pyarrow.

pyarrow is an optional extra (`pip install "rupture-nlp[export]"`; `datasets`, used by
training, already pulls it in): only this format needs it, and a missing install is a
plain error naming the extra, not an ImportError traceback.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rupture_nlp.exports.coded import SessionRecords
from rupture_nlp.exports.extras import require
from rupture_nlp.exports.table import flat_rows


def export_parquet(sessions: list[SessionRecords], out: Path) -> list[Path]:
    require("pyarrow", "Parquet")
    import pandas as pd

    names, rows = flat_rows(sessions)
    frame = pd.DataFrame(rows, columns=names)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    os.close(fd)
    try:
        frame.to_parquet(tmp, engine="pyarrow", index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [out]
