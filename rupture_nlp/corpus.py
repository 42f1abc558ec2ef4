"""The project's rupture-coded corpus: codes joined to transcripts, validated, split.

Three sources:
- `authored`: sessions written for the project (`data/authored/sessions/*.txt`, metadata in
  `data/authored/meta/`), codes in `data/labels/authored/<coder>/<id>.tsv`;
- `annomi`: the public AnnoMI transcripts, whose text is never committed; codes keyed by
  (transcript_id, turn, first utterance_id) in `data/labels/annomi/<coder>/<id>.tsv` are
  joined to the text from a local copy of the upstream CSV (`annomi_dir` argument or the
  `RUPTURE_ANNOMI_DIR` environment variable; `scripts/fetch_annomi.py` downloads it);
- `imported`: turns a human coded on an active-learning sheet (`rupture-nlp import`),
  text in `data/imported/<name>/`, codes in `data/labels/imported/<name>/` (`rupture_nlp.imported`).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io import ReadOptions, read_sessions
from rupture_nlp.labels import check_code
from rupture_nlp.roles import RoleOverrides
from rupture_nlp.segment import SegmentOptions
from rupture_nlp.types import Coding, Session

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
ANNOMI_FILE = "AnnoMI-simple-dev.csv"


@dataclass
class CodedSession:
    """A session, its source, its metadata and one coder's codes on its turns."""

    session: Session
    source: str
    meta: dict


def annomi_dir(path: str | Path | None = None) -> Path | None:
    candidates = [path, os.environ.get("RUPTURE_ANNOMI_DIR"), DATA_DIR.parent.parent / "shared/corpora/annomi",
                  DATA_DIR / "external/annomi"]
    for candidate in candidates:
        if candidate and (Path(candidate) / ANNOMI_FILE).exists():
            return Path(candidate)
    return None


def read_codes(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def code_turn(turn, row: dict[str, str], path: Path, number: int) -> None:
    """Set a turn's coding from a label row (empty cells are no code), refusing codes the codebook forbids."""
    marker, subtype, stage = (row.get(k) or None for k in ("marker", "subtype", "stage"))
    problem = check_code(turn.role, marker, subtype, stage)
    if problem:
        raise TranscriptError(path, number, problem)
    turn.coding = Coding(marker=marker, subtype=subtype, stage=stage)


def attach_codes(session: Session, rows: list[dict[str, str]], path: Path, key: str = "speaker") -> None:
    """Put a coder's rows on the session's turns, checking alignment and the codebook."""
    if len(rows) != len(session.turns):
        raise TranscriptError(path, None, f"{len(rows)} code rows for {len(session.turns)} turns of {session.session_id}")
    for number, (row, turn) in enumerate(zip(rows, session.turns), start=2):
        if int(row["turn"]) != turn.index:
            raise TranscriptError(path, number, f"turn {row['turn']} where turn {turn.index} was expected")
        if key == "speaker" and row["speaker"] != turn.speaker:
            raise TranscriptError(path, number, f"speaker {row['speaker']!r} but the transcript has {turn.speaker!r}")
        if key == "utterance_id" and row["utterance_id"] != turn.spans[0].id:
            raise TranscriptError(path, number, f"utterance {row['utterance_id']} but the turn starts at {turn.spans[0].id}")
        code_turn(turn, row, path, number)


def adjudications(data_dir: Path = DATA_DIR) -> dict[tuple[str, str, int], dict[str, str | None]]:
    """Adjudicated codes of double-coded disagreements, keyed by (source, session, turn)."""
    path = data_dir / "labels/adjudication.tsv"
    if not path.exists():
        return {}
    out = {}
    for row in read_codes(path):
        decision = row["decision"]
        if row["role"] == "client":
            marker, _, subtype = decision.partition("/")
            code = {"marker": marker, "subtype": subtype or None, "stage": None}
        else:
            code = {"marker": None, "subtype": None, "stage": decision}
        out[(row["source"], row["session"], int(row["turn"]))] = code
    return out


def apply_adjudication(session: Session, source: str, key: str, decided: dict, data_dir: Path) -> None:
    """Replace the primary coder's codes by the adjudicated ones (codebook §4)."""
    for turn in session.turns:
        code = decided.get((source, key, turn.index))
        if code:
            problem = check_code(turn.role, code["marker"], code["subtype"], code["stage"])
            if problem:
                raise TranscriptError(data_dir / "labels/adjudication.tsv", None, f"{source} {key} turn {turn.index}: {problem}")
            turn.coding = Coding(**code)


def read_json_object(path: Path) -> dict:
    """A JSON object from `path`; anything else is a `TranscriptError` naming the file (and line)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TranscriptError(path, exc.lineno, f"not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise TranscriptError(path, None, "not UTF-8 text") from None
    if not isinstance(value, dict):
        raise TranscriptError(path, None, f"expected a JSON object, found a {type(value).__name__}")
    return value


def authored_meta(data_dir: Path = DATA_DIR) -> dict[str, dict]:
    return {p.stem: read_json_object(p) for p in sorted((data_dir / "authored/meta").glob("*.json"))}


def load_authored(coder: str = "coder_a", data_dir: Path = DATA_DIR, only: set[str] | None = None,
                  adjudicate: bool = True) -> list[CodedSession]:
    """Authored sessions with the given coder's codes (sessions that coder did not code are left out).

    The primary coder's codes come with adjudicated disagreements applied (the training labels)."""
    decided = adjudications(data_dir) if coder == "coder_a" and adjudicate else {}
    out = []
    for sid, meta in authored_meta(data_dir).items():
        codes = data_dir / f"labels/authored/{coder}/{sid}.tsv"
        if not codes.exists() or (only is not None and sid not in only):
            continue
        roles = meta.get("speakers", {})
        overrides = RoleOverrides(**{r: [s for s, x in roles.items() if x == r] for r in ("therapist", "client", "other")})
        (session,) = read_sessions(data_dir / f"authored/sessions/{sid}.txt", options=ReadOptions(speakers=set(roles)),
                                   segment=SegmentOptions(overrides=overrides))
        attach_codes(session, read_codes(codes), codes, key="speaker")
        if coder == "coder_a" and adjudicate:
            apply_adjudication(session, "authored", sid, decided, data_dir)
        session.metadata.update({k: meta.get(k) for k in ("modality", "channel", "setting", "dialect_group", "therapist")})
        out.append(CodedSession(session, "authored", meta))
    return out


def load_annomi(coder: str = "coder_a", path: str | Path | None = None, data_dir: Path = DATA_DIR,
                only: set[str] | None = None, adjudicate: bool = True) -> list[CodedSession]:
    """AnnoMI sessions with the given coder's codes; empty when no local copy is found."""
    folder = annomi_dir(path)
    if folder is None:
        return []
    decided = adjudications(data_dir) if coder == "coder_a" and adjudicate else {}
    out = []
    for session in read_sessions(folder / ANNOMI_FILE):
        codes = data_dir / f"labels/annomi/{coder}/{session.session_id}.tsv"
        if not codes.exists() or (only is not None and session.session_id not in only):
            continue
        attach_codes(session, read_codes(codes), codes, key="utterance_id")
        if coder == "coder_a" and adjudicate:
            apply_adjudication(session, "annomi", session.session_id, decided, data_dir)
        session.session_id = f"annomi_{session.session_id}"
        meta = {"modality": "mi", "channel": "video_demo", "setting": "health",
                "dialect_group": "annomi", "mi_quality": session.metadata.get("mi_quality")}
        session.metadata.update(meta)
        out.append(CodedSession(session, "annomi", meta))
    return out


def load_all(coder: str = "coder_a", annomi_path: str | Path | None = None, data_dir: Path = DATA_DIR) -> list[CodedSession]:
    from rupture_nlp.imported import load_imported

    return load_authored(coder, data_dir) + load_annomi(coder, annomi_path, data_dir) + load_imported(coder, data_dir)


SPLITS = ("train", "dev", "test")


def load_splits(data_dir: Path = DATA_DIR) -> dict[str, str]:
    """`splits.json` of a corpus folder: session id -> train / dev / test (empty when absent).

    Researchers edit this file by hand (`rupture-nlp train --data`), so a wrong value is an
    error naming the file and the session, not a KeyError an hour later."""
    path = data_dir / "splits.json"
    if not path.exists():
        return {}
    splits = read_json_object(path)
    for sid, split in splits.items():
        if split not in SPLITS:
            raise TranscriptError(path, None, f"session {sid!r} is assigned to {split!r}; expected one of {', '.join(SPLITS)}")
    return splits


def context_of(session: Session, index: int, turns: int = 4) -> list[str]:
    """The preceding turns as `role: text` (cues in brackets), oldest first."""
    if index < len(session.turns) and session.turns[index].index == index:
        preceding = session.turns[max(0, index - turns):index]
    else:  # a sparse session (imported sheets hold only coded turns and their context)
        preceding = [t for t in session.turns if index - turns <= t.index < index]
    out = []
    for turn in preceding:
        out.append(f"{turn.role}: {render_text(turn)}")
    return out


def render_text(turn) -> str:
    """Words plus a cue channel the model reads: `text [cues: laughs; long pause]`."""
    cues = [c.text for c in turn.cues]
    return f"{turn.text} [cues: {'; '.join(cues)}]".strip() if cues else turn.text


def turn_records(coded: list[CodedSession], context_turns: int = 4) -> list[dict]:
    """One record a coded client or therapist turn, with its preceding context."""
    records = []
    for item in coded:
        session = item.session
        for turn in session.turns:
            if turn.role not in ("client", "therapist") or turn.coding is None:
                continue
            records.append({
                "session_id": session.session_id,
                "source": item.source,
                "dialect_group": session.metadata.get("dialect_group") or "unknown",
                "modality": session.metadata.get("modality") or "unknown",
                "turn": turn.index,
                "role": turn.role,
                "text": render_text(turn),
                "context": context_of(session, turn.index, context_turns),
                "backchannel": turn.backchannel,
                "marker": turn.coding.marker or "",
                "subtype": turn.coding.subtype or "",
                "stage": turn.coding.stage or "",
            })
    return records


def load_corpus(annomi_path: str | Path | None = None, context_turns: int = 4, data_dir: Path = DATA_DIR):
    """The corpus as a `datasets.DatasetDict` (train / dev / test) of turn records."""
    from datasets import Dataset, DatasetDict

    splits = load_splits(data_dir)
    records = turn_records(load_all("coder_a", annomi_path, data_dir), context_turns)
    parts: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    for record in records:
        parts[splits.get(record["session_id"], "train")].append(record)
    return DatasetDict({name: Dataset.from_list(rows) for name, rows in parts.items() if rows})
