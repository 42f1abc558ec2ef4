"""Human (and model) codes from files, all in one shape keyed by (session, turn).

A coding is `dict[(session_id, turn), row]`, the shape `evaluate.read_coded` returns,
where a row holds `role`, `marker`, `subtype`, `stage`, optional `probs`, `start`,
`end` and the `line` of the file it came from. Readers, one module a format:
- `table`: CSV/TSV with `session, turn, code` or separate `marker/subtype/stage` columns;
- `jsonl`: the `code` output (one JSONL a session or a folder of them) and the turns
  JSONL of `segment`, with codes at the top level or under `coding`;
- `eaf`: ELAN annotation tiers, mapped onto the turns of a reference coding.
Every problem is a `TranscriptError(path, line, message)`.
"""

from __future__ import annotations

from pathlib import Path

from rupture_nlp.codes.normalize import CodeTable, coded_only, normalize
from rupture_nlp.errors import TranscriptError

__all__ = ["CodeTable", "coded_only", "from_sessions", "normalize", "read_coding", "EXTENSIONS"]

EXTENSIONS = {".csv": "table", ".tsv": "table", ".jsonl": "jsonl", ".eaf": "eaf"}


def read_coding(path: str | Path, turns: CodeTable | None = None) -> CodeTable:
    """Read one coding (file or folder of JSONL); `turns` places ELAN annotations on turns."""
    from rupture_nlp.codes import eaf, jsonl, table

    path = Path(path)
    if not path.exists():
        raise TranscriptError(path, None, "no such file or folder")
    if path.is_dir():
        return read_folder(path, turns)
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise TranscriptError(path, None, f"cannot tell the coding format from {path.suffix!r}; "
                              f"use one of {', '.join(EXTENSIONS)} or a folder of .jsonl files")
    if kind == "eaf":
        if not turns:
            raise TranscriptError(path, None, "an ELAN file holds no turns: give the turns with --turns FILE "
                                  "(turns or coded JSONL) or list a JSONL/CSV coding before it")
        return eaf.read_eaf(path, turns)
    return table.read_table(path) if kind == "table" else jsonl.read_jsonl(path)


def read_folder(folder: Path, turns: CodeTable | None = None) -> CodeTable:
    """Every coding file under a folder (e.g. the `code` output folder, one file a session), merged."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
    if not files:
        raise TranscriptError(folder, None, f"no coding files ({', '.join(EXTENSIONS)}) in this folder")
    rows: CodeTable = {}
    for file in files:
        part = read_coding(file, turns)
        clash = next((key for key in part if key in rows), None)
        if clash:
            raise TranscriptError(file, part[clash]["line"], f"session {clash[0]} turn {clash[1]} is also in "
                                  f"{rows[clash]['path']}")
        rows.update(part)
    return rows


def from_sessions(sessions) -> CodeTable:
    """The coding carried by `Session` objects (`turn.coding`), e.g. from `corpus.load_*` or a coder."""
    rows: CodeTable = {}
    for session in sessions:
        for turn in session.turns:
            code = turn.coding
            rows[(session.session_id, turn.index)] = {
                "role": turn.role, "marker": code.marker if code else None, "subtype": code.subtype if code else None,
                "stage": code.stage if code else None, "probs": code.probs if code else None,
                "start": turn.start, "end": turn.end, "line": turn.source_line, "path": session.source}
    return rows
