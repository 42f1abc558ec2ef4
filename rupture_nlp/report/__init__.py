"""Per-session HTML reports, the batch dashboard, summary.csv and episodes.jsonl.

Input is coded output (`rupture-nlp code`, codebook §4 JSONL with probabilities, or hand
codes in the same format). Pages are self-contained: inline CSS, inline SVG and a small
inline filter script; nothing is fetched, so they open offline by double-click.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from rupture_nlp.coding_io import atomic_write_text, safe_name
from rupture_nlp.episodes import EpisodeOptions, find_episodes
from rupture_nlp.labels import STAGE_NUMBER, STAGES, SUBTYPES
from rupture_nlp.report.static import CSS, FILTER_JS
from rupture_nlp.report.timeline import timeline_svg

UNCERTAIN_BELOW = 0.6


def load_coded(paths: list[Path]) -> dict[str, list[dict]]:
    """Coded rows by session, in turn order, from JSONL files or folders of them (the exporters' reader)."""
    from rupture_nlp.exports.coded import read_coded_sessions

    return {item.session_id: item.records for item in read_coded_sessions(paths)}


def _confidence(row: dict) -> float | None:
    probs = row.get("probs") or {}
    if row.get("role") == "client" and probs.get("marker"):
        return probs["marker"].get(row.get("marker"))
    if row.get("role") == "therapist" and probs.get("stage"):
        return probs["stage"].get(row.get("stage"))
    return None


def _display(row: dict) -> dict:
    conf = _confidence(row)
    if row.get("role") == "client" and row.get("marker") not in (None, "none"):
        code, cls = f"{row['marker']}: {row.get('subtype') or '?'}", row["marker"]
    elif row.get("role") == "therapist" and row.get("stage") == "antagonizing":
        code, cls = "antagonizing", "antagonizing"
    elif row.get("role") == "therapist" and row.get("stage") in STAGE_NUMBER:
        code, cls = f"stage {STAGE_NUMBER[row['stage']]}: {row['stage'].replace('_', ' ')}", "stage"
    else:
        code, cls = "", ""
    start = row.get("start")
    time = f"{int(start // 60):02d}:{int(start % 60):02d}" if isinstance(start, (int, float)) else ""
    return dict(row, code=code, cls=cls, conf=f"{conf:.2f}" if conf is not None else "",
                uncertain=conf is not None and conf < UNCERTAIN_BELOW, time=time, cues=row.get("cues") or [])


def therapist_name(rows: list[dict]) -> str | None:
    names = [r["speaker"] for r in rows if r.get("role") == "therapist" and r.get("speaker")]
    if not names:
        return None
    name = max(set(names), key=names.count)
    return None if name.lower() in ("therapist", "t", "th", "counselor", "counsellor") else name


def session_summary(sid: str, rows: list[dict], episodes, group: str | None) -> dict:
    client = [r for r in rows if r.get("role") == "client"]
    conf = sum(r.get("marker") == "confrontation" for r in client)
    wd = sum(r.get("marker") == "withdrawal" for r in client)
    status = defaultdict(int)
    for ep in episodes:
        status[ep.resolution] += 1
    flags = []
    if status["unresolved"]:
        flags.append(f"{status['unresolved']} unresolved episode(s)")
    antagonizing = [r["turn"] for r in rows if r.get("stage") == "antagonizing"]
    if antagonizing:
        flags.append(f"antagonizing at turn(s) {', '.join(map(str, antagonizing[:6]))}{'…' if len(antagonizing) > 6 else ''}")
    missed = sum(len(ep.missed_opportunities) for ep in episodes)
    if missed:
        flags.append(f"{missed} missed opportunit{'y' if missed == 1 else 'ies'} to attend to or explore a marker")
    return {
        "session_id": sid, "group": group or "", "turns": len(rows), "client_turns": len(client),
        "confrontation": conf, "withdrawal": wd, "marker_rate": f"{(conf + wd) / max(len(client), 1):.0%}",
        "episodes": len(episodes), "resolved": status["resolved"], "unresolved": status["unresolved"],
        "unclear": status["unclear"], "antagonizing": len(antagonizing),
        "resolved_share": f"{status['resolved'] / len(episodes):.0%}" if episodes else "–",
        "flags": flags, "href": f"{safe_name(sid)}.html",
    }


def build_reports(paths: list[Path], out_dir: Path, group_by: str | None = None,
                  options: EpisodeOptions | None = None, model_name: str | None = None, deid=None) -> dict:
    """Write every session's page, index.html, summary.csv and episodes.jsonl; return totals.

    With `deid` (a `rupture_nlp.deid.Deidentifier`) the coded rows are de-identified before
    anything is built, so no page, table or file name carries the original text or ids.
    """
    env = Environment(loader=PackageLoader("rupture_nlp.report", "templates"), autoescape=select_autoescape(["html"]))
    coded = load_coded(paths)
    if deid is not None:
        coded = {deid.session_id(sid): deid.records(rows) for sid, rows in coded.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries, episode_lines = [], []
    for sid, rows in coded.items():
        episodes = find_episodes(rows, options)
        meta = rows[0].get("session_meta") or {}
        group = str(meta.get(group_by)) if group_by and meta.get(group_by) is not None else therapist_name(rows)
        summary = session_summary(sid, rows, episodes, group)
        summaries.append(summary)
        episode_lines += [json.dumps(ep.to_dict(), ensure_ascii=False) for ep in episodes]
        by_turn = {r["turn"]: _display(r) for r in rows}

        def evidence(ep, by_turn=by_turn):
            return [by_turn[t] for t in range(ep.first_turn, ep.last_turn + 1) if t in by_turn]

        def obs(ep, stage):
            turns = ep.stages_observed.get(stage)
            return ", ".join(map(str, turns)) if turns else "—"

        duration = None
        times = [r.get("end") or r.get("start") for r in rows if isinstance(r.get("end") or r.get("start"), (int, float))]
        if times:
            duration = f"{int(max(times) // 60)} min"
        html = env.get_template("session.html").render(
            sid=sid, rows=[by_turn[r["turn"]] for r in rows], summary=summary, flags=summary["flags"], episodes=episodes,
            svg=timeline_svg(rows, episodes), evidence=evidence, obs=obs, css=CSS, js=FILTER_JS, therapist=group,
            subtypes=SUBTYPES, stages=STAGES, uncertain_below=UNCERTAIN_BELOW, duration=duration,
            model=model_name or "the coded input")
        atomic_write_text(out_dir / summary["href"], html)

    groups = []
    if any(s["group"] for s in summaries):
        by_group = defaultdict(list)
        for s in summaries:
            by_group[s["group"] or "(none)"].append(s)
        for name, items in sorted(by_group.items()):
            client = sum(s["client_turns"] for s in items)
            marks = sum(s["confrontation"] + s["withdrawal"] for s in items)
            groups.append({"name": name, "sessions": len(items), "episodes": sum(s["episodes"] for s in items),
                           "resolved": sum(s["resolved"] for s in items), "unresolved": sum(s["unresolved"] for s in items),
                           "antagonizing": sum(s["antagonizing"] for s in items),
                           "marker_rate": f"{marks / max(client, 1):.0%}"})
    episodes_total = sum(s["episodes"] for s in summaries)
    client_total = sum(s["client_turns"] for s in summaries)
    totals = {"turns": sum(s["turns"] for s in summaries), "episodes": episodes_total,
              "resolved_share": f"{sum(s['resolved'] for s in summaries) / episodes_total:.0%}" if episodes_total else "–",
              "marker_rate": f"{sum(s['confrontation'] + s['withdrawal'] for s in summaries) / max(client_total, 1):.0%}"}
    ranked = sorted(summaries, key=lambda s: (-s["unresolved"], -s["antagonizing"], s["session_id"]))
    index = env.get_template("index.html").render(
        sessions=sorted(summaries, key=lambda s: s["session_id"]), flagged=[s for s in ranked if s["flags"]],
        groups=groups, group_label=group_by or "therapist", totals=totals, css=CSS)
    atomic_write_text(out_dir / "index.html", index)
    buffer = io.StringIO()
    fields = ["session_id", "group", "turns", "client_turns", "confrontation", "withdrawal", "marker_rate", "episodes",
              "resolved", "unresolved", "unclear", "antagonizing", "flags"]
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for s in summaries:
        writer.writerow(dict(s, flags="; ".join(s["flags"])))
    atomic_write_text(out_dir / "summary.csv", buffer.getvalue())
    atomic_write_text(out_dir / "episodes.jsonl", "".join(line + "\n" for line in episode_lines))
    return {"sessions": len(summaries), **totals}
