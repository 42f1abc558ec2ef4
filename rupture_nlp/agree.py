"""Agreement among two or more codings of the same turns (model vs human, human vs human).

Turn level, per task (marker, subtype, stage):
- per pair: Cohen's κ on the turns both coded, with per-class specific agreement
  2·n_both/(n_a + n_b) — equal to the F1 either coder gets with the other as gold, so it
  is symmetric; with a reference coder, pairs are reference-vs-other and per-class
  precision/recall/F1 take the reference as gold;
- across all coders: Krippendorff's α (nominal) over every turn any two coded (α allows
  missing codes).
Segment level, as 3RS codes: sessions cut into 5-minute segments (or N-turn windows,
`segments`), per segment each coder's count of marker turns per type and its 1–5
salience score (`salience`); ICC(2,1) absolute agreement across coders, ICC(3,1) beside;
and the ICC of each session's total marker count (the level at which 3RS reliability is
usually published).
Every CI is a 95 % session bootstrap (`reliability.session_bootstrap`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from rupture_nlp.codes import read_coding
from rupture_nlp.codes.normalize import CodeTable, coded_only, resolve_roles
from rupture_nlp.labels import MARKERS, STAGES, SUBTYPES
from rupture_nlp.reliability import alpha_nominal, icc, kappa_codes, session_bootstrap
from rupture_nlp.salience import MARKER_TYPES, salience, segment_rows, session_rows, turn_weights
from rupture_nlp.segments import DEFAULT_MINUTES, segment_all

TASK_LABELS = {"marker": ("client", MARKERS), "subtype": ("client", ("none",) + SUBTYPES),
               "stage": ("therapist", STAGES)}


@dataclass
class Coder:
    name: str
    path: str
    rows: CodeTable


def load_coders(paths: list[Path], turns_path: Path | None = None) -> tuple[list[Coder], CodeTable]:
    """Read every coding; ELAN files are placed on the turns of `turns_path` or of the codings before them."""
    turns: CodeTable = read_coding(turns_path) if turns_path else {}
    coders: list[Coder] = []
    for path in paths:
        reference = turns or _turn_table([c.rows for c in coders])
        rows = read_coding(path, reference)
        coders.append(Coder(_name(Path(path), [c.name for c in coders]), str(path), rows))
    return coders, turns


def _name(path: Path, taken: list[str]) -> str:
    name = path.stem if path.is_file() else path.name
    base, n = name, 2
    while name in taken:
        name, n = f"{base}#{n}", n + 1
    return name


def _turn_table(codings: list[CodeTable]) -> CodeTable:
    table: CodeTable = {}
    for coding in codings:
        for key, row in coding.items():
            known = table.setdefault(key, {"role": None, "start": None, "end": None})
            for field in ("role", "start", "end"):
                if known[field] is None and row.get(field) is not None:
                    known[field] = row[field]
    return table


def label(row: dict | None, task: str) -> str | None:
    """A row's label for a task, or None when the row does not code it."""
    if row is None:
        return None
    role, _ = TASK_LABELS[task]
    if row.get("role") != role:
        return None
    if task == "marker":
        return row.get("marker")
    if task == "stage":
        return row.get("stage")
    if row.get("marker") == "none":
        return "none"
    return row.get("subtype")


def _task_matrix(coders: list[Coder], task: str) -> tuple[np.ndarray, list[tuple[str, int]], list[str]]:
    """coders × units integer codes (-1 = not coded) over units at least one coder coded."""
    labels = list(TASK_LABELS[task][1])
    keys = sorted({k for c in coders for k, r in c.rows.items() if label(r, task) is not None})
    data = np.full((len(coders), len(keys)), -1, dtype=int)
    for i, coder in enumerate(coders):
        for j, key in enumerate(keys):
            value = label(coder.rows.get(key), task)
            if value is not None:
                data[i, j] = labels.index(value)
    return data, keys, labels


def _per_class(a: np.ndarray, b: np.ndarray, labels: list[str], reference: bool) -> dict[str, dict]:
    out = {}
    for k, name in enumerate(labels):
        n_a, n_b, both = int((a == k).sum()), int((b == k).sum()), int(((a == k) & (b == k)).sum())
        if n_a + n_b == 0:
            continue
        entry = {"n_a": n_a, "n_b": n_b, "specific_agreement": 2 * both / (n_a + n_b)}
        if reference:
            entry.update(precision=both / n_b if n_b else 0.0, recall=both / n_a if n_a else 0.0,
                         f1=entry["specific_agreement"])
        out[name] = entry
    return out


def turn_agreement(coders: list[Coder], task: str, reference: int | None = None, n_boot: int = 1000,
                   seed: int = 0) -> dict[str, Any] | None:
    """Pairwise κ and per-class agreement, and α across coders, for one task."""
    data, keys, labels = _task_matrix(coders, task)
    if not keys:
        return None
    groups = np.array([k[0] for k in keys])
    pairs = ([(reference, j) for j in range(len(coders)) if j != reference] if reference is not None
             else list(combinations(range(len(coders)), 2)))
    result: dict[str, Any] = {"labels": labels, "units": len(keys), "pairs": []}
    for i, j in pairs:
        both = (data[i] >= 0) & (data[j] >= 0)
        a, b, g = data[i][both], data[j][both], groups[both]
        entry = {"a": coders[i].name, "b": coders[j].name, "n": int(both.sum()), "sessions": len(set(g)),
                 "kappa": kappa_codes(a, b, len(labels)) if both.any() else float("nan"),
                 "per_class": _per_class(a, b, labels, reference is not None),
                 "ci95": None}
        if both.any():
            entry["ci95"] = session_bootstrap(g, lambda rows: kappa_codes(a[rows], b[rows], len(labels)), n_boot, seed)
        result["pairs"].append(entry)
    pairable = (data >= 0).sum(0) >= 2
    result["alpha"] = {"value": alpha_nominal(data[:, pairable]), "units": int(pairable.sum()), "ci95": None}
    if pairable.any():
        sub, sub_groups = data[:, pairable], groups[pairable]
        result["alpha"]["ci95"] = session_bootstrap(sub_groups, lambda rows: alpha_nominal(sub[:, rows]), n_boot, seed)
    return result


def segment_agreement(coders: list[Coder], turns: CodeTable | None = None, minutes: float = DEFAULT_MINUTES,
                      window_turns: int | None = None, n_boot: int = 1000, seed: int = 0) -> dict[str, Any] | None:
    """Per segment each coder's marker-turn count and salience per type; ICC across coders."""
    table = _turn_table(([turns] if turns else []) + [c.rows for c in coders])
    common = {key for key, row in table.items() if row["role"] == "client"
              and all(label(c.rows.get(key), "marker") is not None for c in coders)}
    if not common:
        return None
    sessions = {key[0] for key in common}
    segments, where = segment_all({k: r["start"] for k, r in table.items() if k[0] in sessions}, minutes, window_turns)
    counts = np.zeros((len(MARKER_TYPES), len(segments), len(coders)))
    expected = np.zeros_like(counts)
    for c, coder in enumerate(coders):
        for key in common:
            row = coder.rows[key]
            weights = turn_weights(row)
            for m, marker in enumerate(MARKER_TYPES):
                counts[m, where[key], c] += row.get("marker") == marker
                expected[m, where[key], c] += weights[marker]
    scores = np.vectorize(salience)(expected)
    groups = np.array([s.session_id for s in segments])
    units = sorted({s.unit for s in segments})
    result: dict[str, Any] = {"segments": len(segments), "sessions": len(sessions), "turns": len(common),
                              "unit": units[0] if len(units) == 1 else "mixed",
                              "minutes": minutes, "window_turns": window_turns, "icc": {}, "table": []}
    for m, marker in enumerate(MARKER_TYPES + ("any",)):
        for measure, values in (("count", counts), ("salience", scores)):
            matrix = values.sum(0) if marker == "any" else values[m]
            if marker == "any" and measure == "salience":
                matrix = np.vectorize(salience)(expected.sum(0))
            point = icc(matrix)
            point["ci95"] = session_bootstrap(groups, lambda rows, x=matrix: icc(x[rows])["icc2_1"], n_boot, seed)
            result["icc"].setdefault(marker, {})[measure] = point
        totals = _by_session(counts.sum(0) if marker == "any" else counts[m], groups)
        point = icc(totals)
        point["ci95"] = session_bootstrap(sorted(set(groups)), lambda rows, x=totals: icc(x[rows])["icc2_1"], n_boot, seed)
        result["icc"][marker]["session_count"] = point
    for k, segment in enumerate(segments):
        row = {"session_id": segment.session_id, "segment": segment.number + 1, "span": segment.label}
        for c, coder in enumerate(coders):
            for m, marker in enumerate(MARKER_TYPES):
                row[f"{coder.name}:{marker}"] = int(counts[m, k, c])
                row[f"{coder.name}:{marker}_salience"] = int(scores[m, k, c])
        result["table"].append(row)
    return result


def agree(paths: list[Path], tasks: list[str], minutes: float = DEFAULT_MINUTES, window_turns: int | None = None,
          reference: str | None = None, turns_path: Path | None = None,
          n_boot: int = 1000) -> tuple[dict[str, Any], list[Coder], CodeTable]:
    """The whole `agree` report as a JSON-ready dict, with the coders and turn table it was computed from."""
    coders, turns = load_coders(paths, turns_path)
    resolve_roles([c.rows for c in coders], turns)
    for coder in coders:
        coder.rows = coded_only(coder.rows)
    ref = None
    if reference is not None:
        names = [c.name for c in coders]
        if reference in names:
            ref = names.index(reference)
        elif reference.isdigit() and 1 <= int(reference) <= len(coders):
            ref = int(reference) - 1
        else:
            raise ValueError(f"--reference {reference!r} is none of the coders ({', '.join(names)}) nor a position 1-{len(coders)}")
    report: dict[str, Any] = {"coders": [{"name": c.name, "path": c.path, "turns": len(c.rows)} for c in coders],
                              "reference": coders[ref].name if ref is not None else None, "tasks": {}}
    for task in tasks:
        found = turn_agreement(coders, task, ref, n_boot)
        if found:
            report["tasks"][task] = found
    report["segments"] = segment_agreement(coders, turns, minutes, window_turns, n_boot)
    return report, coders, turns


def _by_session(matrix: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Segment rows summed per session (sessions in sorted order)."""
    return np.array([matrix[groups == g].sum(0) for g in sorted(set(groups))])


def sheet_tables(coders: list[Coder], turns: CodeTable | None = None, minutes: float = DEFAULT_MINUTES,
                 window_turns: int | None = None) -> tuple[list[dict], list[dict]]:
    """The 3RS sheet of every coder: segment rows and session rows, each with a `coder` column."""
    table = _turn_table(([turns] if turns else []) + [c.rows for c in coders])
    segments, where = segment_all({k: r["start"] for k, r in table.items()}, minutes, window_turns)
    segment_table, session_table = [], []
    for coder in coders:
        sessions = {key[0] for key in coder.rows}
        segment_table += [{"coder": coder.name, **row} for row in segment_rows(coder.rows, segments, where)
                          if row["session_id"] in sessions]
        session_table += [{"coder": coder.name, **row} for row in session_rows(coder.rows)]
    return segment_table, session_table


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def _ci(ci: list[float] | None) -> str:
    return f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""


def format_report(report: dict[str, Any]) -> str:
    """A readable table of an `agree` report."""
    lines = ["coders: " + ", ".join(f"{c['name']} ({c['turns']} coded turns)" for c in report["coders"])]
    if report.get("reference"):
        lines.append(f"reference (gold for precision/recall): {report['reference']}")
    for task, r in report["tasks"].items():
        alpha = r["alpha"]
        lines += ["", f"{task}: Krippendorff's alpha (nominal) {_num(alpha['value'])}{_ci(alpha['ci95'])} "
                      f"over {alpha['units']} turns"]
        for pair in r["pairs"]:
            lines.append(f"  {pair['a']} vs {pair['b']}: kappa {_num(pair['kappa'])}{_ci(pair['ci95'])}  "
                         f"(n={pair['n']} turns, {pair['sessions']} sessions)")
            with_ref = report.get("reference") is not None
            head = f"    {'class':24} {'n_a':>5} {'n_b':>5} " + ("  prec   rec    f1" if with_ref else "specific agreement")
            lines.append(head)
            for name, m in pair["per_class"].items():
                tail = (f"{m['precision']:6.3f}{m['recall']:6.3f}{m['f1']:6.3f}" if with_ref
                        else f"{m['specific_agreement']:6.3f}")
                lines.append(f"    {name:24} {m['n_a']:5d} {m['n_b']:5d} {tail}")
    seg = report.get("segments")
    if seg:
        unit = {"minutes": f"{seg['minutes']:g}-minute segments", "turns": "turn windows",
                "mixed": "segments (by time where turns have times, else turn windows)"}[seg["unit"]]
        lines += ["", f"segments: {seg['segments']} {unit} in {seg['sessions']} sessions ({seg['turns']} client turns "
                      "coded by every coder)",
                  f"  {'marker':14} {'measure':14} {'ICC(2,1)':>9} {'95% CI':>18} {'ICC(3,1)':>9}"]
        for marker, measures in seg["icc"].items():
            for measure, v in measures.items():
                lines.append(f"  {marker:14} {measure:14} {_num(v['icc2_1']):>9} {_ci(v['ci95']).strip():>18} "
                             f"{_num(v['icc3_1']):>9}")
        lines.append("  ICC(2,1): two-way random, absolute agreement, single coder; ICC(3,1): consistency.")
        if seg["sessions"] < 10:
            lines.append(f"  note: only {seg['sessions']} sessions: session-bootstrap CIs (and the session_count ICC) "
                         "are unstable below about 10 sessions.")
    return "\n".join(lines)

