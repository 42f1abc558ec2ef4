"""Exports of coded sessions: CSV, JSONL, Parquet and ELAN, found through one registry.

A format is one module with `export_<name>(sessions, out) -> paths` plus one line in
`EXPORTERS`. `run_export` is the single pipeline every format goes through:

    read coded JSONL → prepare (the one place a transform such as de-identification
    goes) → write

so a step added to `prepare` (e.g. `--deidentify`) applies to every format at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from rupture_nlp.exports.coded import SessionRecords, read_coded_sessions
from rupture_nlp.exports.csvfile import export_csv
from rupture_nlp.exports.eaf import export_eaf
from rupture_nlp.exports.extras import MissingExtra
from rupture_nlp.exports.jsonl import export_jsonl
from rupture_nlp.exports.parquet import export_parquet

Transform = Callable[[list[SessionRecords]], list[SessionRecords]]


@dataclass(frozen=True)
class ExporterSpec:
    name: str
    write: Callable[[list[SessionRecords], Path], list[Path]]
    folder: bool  # True: OUT is a folder of one file a session; False: OUT is one file
    description: str


EXPORTERS: dict[str, ExporterSpec] = {spec.name: spec for spec in (
    ExporterSpec("csv", export_csv, False, "one row a turn, UTF-8 with BOM (opens in Excel)"),
    ExporterSpec("jsonl", export_jsonl, False, "one flat JSON record a turn, same columns as the CSV"),
    ExporterSpec("parquet", export_parquet, False, "the same table as Parquet (needs pyarrow)"),
    ExporterSpec("eaf", export_eaf, True, "one ELAN .eaf file a session in the OUT folder (needs pympi-ling)"),
)}


def prepare(sessions: list[SessionRecords], transforms: Iterable[Transform] = ()) -> list[SessionRecords]:
    """Every transform applied before any format is written: de-identification goes here."""
    for transform in transforms:
        sessions = transform(sessions)
    return sessions


def deidentify_transform(deid) -> Transform:
    """The de-identification step for `prepare`: every session's records through a `rupture_nlp.deid.Deidentifier`.

    Text, speakers, cues and metadata lose their identifiers, the session id becomes its
    keyed pseudonym (so file names written from it are clean too) and the path of the coded
    file it came from is dropped.
    """
    def transform(sessions: list[SessionRecords]) -> list[SessionRecords]:
        out = []
        for session in sessions:
            rows = deid.records(session.records)
            out.append(SessionRecords(str(rows[0]["session_id"]) if rows else deid.session_id(session.session_id), rows))
        return out

    return transform


def run_export(coded: Iterable[str | Path], out: str | Path, fmt: str,
               transforms: Iterable[Transform] = ()) -> list[Path]:
    """Read coded JSONL files/folders, prepare them, write `fmt` to `out`; returns the paths written."""
    if fmt not in EXPORTERS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORTERS)}")
    sessions = prepare(read_coded_sessions(coded), transforms)
    return EXPORTERS[fmt].write(sessions, Path(out))


__all__ = ["EXPORTERS", "ExporterSpec", "MissingExtra", "SessionRecords", "deidentify_transform", "prepare", "read_coded_sessions", "run_export"]
