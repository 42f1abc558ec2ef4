"""Codes from an ELAN `.eaf` file: annotations on named tiers, placed on turns.

ELAN coders mark time spans, not turns, and an `.eaf` holds no turn table, so the turns
come from a reference (the turns or coded JSONL of the same session). Tiers read, by
name, case-insensitively: `marker`, `subtype`, `stage` and `code` (values as in a CSV
`code` column: `none`, a marker, a subtype, `marker/subtype` or a stage). Other tiers
(transcription, notes) are ignored. The session is the reference session whose id is
the file's stem, or the only session of the reference.

Placing annotations:
- **by time**, when every turn of the session has a start time: an annotation codes each
  turn of its role (client for markers and subtypes, therapist for stages) that it
  overlaps for at least half of the turn's duration, or, when it covers no turn that
  much, the one turn it overlaps most. A turn ends where the next begins when it has no
  end time. Turns of the role left unannotated on a tier are coded `none` — ELAN coders
  mark what is there, not what is absent;
- **by order**, when turns have no times: the k-th annotation of a tier (in time order)
  codes the k-th turn of its role, and the counts must match.
Parsed with the standard library's expat (which reports line numbers, so every error
names the line of the annotation); EAF is plain XML and needs no third-party parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

from rupture_nlp.codes.normalize import CodeTable, normalize, split_code
from rupture_nlp.errors import TranscriptError

TIERS = ("marker", "subtype", "stage", "code")


@dataclass
class Annotation:
    tier: str
    start: float | None
    end: float | None
    value: str
    line: int


def parse_eaf(path: Path) -> tuple[list[Annotation], list[str]]:
    """Annotations of the code tiers (times in seconds) and the names of all tiers."""
    slots: dict[str, float | None] = {}
    tiers: list[str] = []
    raw: list[dict] = []
    state: dict = {"tier": None, "annotation": None, "text": None}
    parser = expat.ParserCreate()

    def start(name: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        if name == "TIME_SLOT":
            value = attrs.get("TIME_VALUE")
            slots[attrs.get("TIME_SLOT_ID", "")] = int(value) / 1000 if value not in (None, "") else None
        elif name == "TIER":
            state["tier"] = attrs.get("TIER_ID", "")
            tiers.append(state["tier"])
        elif name in ("ALIGNABLE_ANNOTATION", "REF_ANNOTATION"):
            state["annotation"] = {"tier": state["tier"], "id": attrs.get("ANNOTATION_ID"), "line": line,
                                   "ts1": attrs.get("TIME_SLOT_REF1"), "ts2": attrs.get("TIME_SLOT_REF2"),
                                   "ref": attrs.get("ANNOTATION_REF"), "value": ""}
        elif name == "ANNOTATION_VALUE":
            state["text"] = []

    def end(name: str) -> None:
        if name == "ANNOTATION_VALUE" and state["annotation"] is not None:
            state["annotation"]["value"] = "".join(state["text"] or []).strip()
            state["text"] = None
        elif name in ("ALIGNABLE_ANNOTATION", "REF_ANNOTATION") and state["annotation"] is not None:
            raw.append(state["annotation"])
            state["annotation"] = None
        elif name == "TIER":
            state["tier"] = None

    def text(data: str) -> None:
        if state["text"] is not None:
            state["text"].append(data)

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    try:
        with open(path, "rb") as handle:
            parser.ParseFile(handle)
    except expat.ExpatError as exc:
        raise TranscriptError(path, exc.lineno, f"not well-formed ELAN XML ({expat.ErrorString(exc.code)})") from None
    except ValueError as exc:
        raise TranscriptError(path, parser.CurrentLineNumber, f"a TIME_VALUE is not whole milliseconds ({exc})") from None
    by_id = {a["id"]: a for a in raw if a["id"]}

    def times(a: dict, depth: int = 0) -> tuple[float | None, float | None]:
        if a["ref"]:
            parent = by_id.get(a["ref"])
            if parent is None or depth > 20:
                raise TranscriptError(path, a["line"], f"annotation refers to unknown annotation {a['ref']!r}")
            return times(parent, depth + 1)
        for ref in (a["ts1"], a["ts2"]):
            if ref not in slots:
                raise TranscriptError(path, a["line"], f"annotation refers to unknown time slot {ref!r}")
        return slots[a["ts1"]], slots[a["ts2"]]

    annotations = [Annotation(a["tier"].strip().lower(), *times(a), a["value"], a["line"])
                   for a in raw if a["tier"] and a["tier"].strip().lower() in TIERS]
    return annotations, tiers


def _session(path: Path, turns: CodeTable) -> str:
    sessions = sorted({key[0] for key in turns})
    if path.stem in sessions:
        return path.stem
    if len(sessions) == 1:
        return sessions[0]
    raise TranscriptError(path, None, f"the file name {path.stem!r} is none of the reference sessions "
                          f"({', '.join(sessions[:5])}{', …' if len(sessions) > 5 else ''}); name the .eaf after its session")


def _role_of(annotation: Annotation, path: Path) -> str | None:
    if annotation.tier in ("marker", "subtype"):
        return "client"
    if annotation.tier == "stage":
        return "therapist"
    try:
        return split_code(annotation.value.strip().lower().replace(" ", "_"))[0]
    except ValueError as exc:
        raise TranscriptError(path, annotation.line, str(exc)) from None


def _place_by_time(annotation: Annotation, candidates: list[tuple[int, float, float]], path: Path) -> list[int]:
    if annotation.start is None or annotation.end is None:
        raise TranscriptError(path, annotation.line, "annotation has no time (unaligned time slot); align it in ELAN")
    overlaps = [(min(annotation.end, end) - max(annotation.start, start), end - start, turn)
                for turn, start, end in candidates]
    covered = [turn for overlap, length, turn in overlaps if overlap > 0 and overlap >= 0.5 * length]
    if covered:
        return covered
    best = max(overlaps, default=(0.0, 0.0, -1))
    if best[0] <= 0:
        raise TranscriptError(path, annotation.line, f"{annotation.tier} annotation {annotation.value!r} at "
                              f"{annotation.start:.2f}–{annotation.end:.2f} s overlaps no turn it could code")
    return [best[2]]


def read_eaf(path: str | Path, turns: CodeTable) -> CodeTable:
    """Codes keyed by (session, turn) from the code tiers of an ELAN file."""
    path = Path(path)
    annotations, tier_names = parse_eaf(path)
    if not annotations:
        raise TranscriptError(path, None, f"no annotations on a tier named {', '.join(TIERS)} "
                              f"(tiers found: {', '.join(tier_names) or 'none'})")
    session = _session(path, turns)
    ordered = sorted(((key[1], row) for key, row in turns.items() if key[0] == session), key=lambda item: item[0])
    timed = all(row.get("start") is not None for _, row in ordered)
    spans: dict[int, tuple[float, float]] = {}
    if timed:
        for n, (turn, row) in enumerate(ordered):
            following = ordered[n + 1][1]["start"] if n + 1 < len(ordered) else None
            end = row.get("end") or following or row["start"] + 1.0
            spans[turn] = (row["start"], max(end, row["start"]))
    fields: dict[int, dict] = {}
    lines: dict[int, int] = {}
    roles = {turn: row.get("role") for turn, row in ordered}
    for tier in TIERS:
        on_tier = sorted((a for a in annotations if a.tier == tier), key=lambda a: (a.start or 0.0, a.line))
        if not on_tier:
            continue
        if tier == "code":
            wanted = {"client", "therapist"}
        else:
            wanted = {"therapist" if tier == "stage" else "client"}
        targets = [turn for turn, _ in ordered if roles[turn] in wanted]
        if timed:
            for turn in targets:
                fields.setdefault(turn, {}).setdefault(tier, "none")
            for annotation in on_tier:
                role = _role_of(annotation, path)
                allowed = [turn for turn in targets if role is None or roles[turn] == role]
                for turn in _place_by_time(annotation, [(t, *spans[t]) for t in allowed], path):
                    _set(fields, lines, turn, tier, annotation, path)
        else:
            if len(on_tier) != len(targets):
                raise TranscriptError(path, on_tier[0].line, f"tier {tier!r} has {len(on_tier)} annotations but session "
                                      f"{session} has {len(targets)} {' or '.join(sorted(wanted))} turns and no times to "
                                      "place them by: annotate every turn, or give turns with start times")
            for turn, annotation in zip(targets, on_tier):
                _set(fields, lines, turn, tier, annotation, path)
    rows: CodeTable = {}
    for turn, values in fields.items():
        line = lines.get(turn)
        if "subtype" in values and "marker" not in values and values["subtype"] == "none":
            values = {**values, "marker": "none"}
        row = normalize({**values, "role": roles.get(turn)}, path, line)
        start, end = spans.get(turn, (turns[(session, turn)].get("start"), turns[(session, turn)].get("end")))
        rows[(session, turn)] = {**row, "start": start, "end": end, "path": str(path), "probs": None}
    return rows


def _set(fields: dict, lines: dict, turn: int, tier: str, annotation: Annotation, path: Path) -> None:
    current = fields.setdefault(turn, {})
    value = annotation.value or "none"
    if turn in lines and current.get(tier) not in (None, "none") and current[tier] != value and value != "none":
        raise TranscriptError(path, annotation.line, f"turn {turn} gets {tier} {value!r} here but {current[tier]!r} "
                              f"from line {lines[turn]}")
    if value != "none" or current.get(tier) is None:
        current[tier] = value
        lines[turn] = annotation.line
