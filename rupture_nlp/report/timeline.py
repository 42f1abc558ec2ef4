"""The session timeline as hand-drawn inline SVG: turn axis, client markers by type
(shape and colour: readable by colour-blind readers and in black-and-white print),
therapist stages as a second lane, episodes shaded."""

from __future__ import annotations

from html import escape

# Okabe–Ito palette (colour-blind safe); shapes carry the same information for print.
COLOURS = {"confrontation": "#D55E00", "withdrawal": "#0072B2", "antagonizing": "#CC79A7", "stage": "#009E73",
           "episode": "#F0E442"}
STAGE_ROW = {"attending": 1, "exploring_meaning": 3, "exploring_avoidance": 4, "affirming": 5, "repairing": 6}


def timeline_svg(rows: list[dict], episodes: list, width: int = 960) -> str:
    n = max(len(rows), 1)
    left, right, top = 110, 20, 10
    plot = width - left - right
    x = lambda turn: left + plot * (turn + 0.5) / n
    lanes = {"client": 30, 1: 58, 2: 76, 3: 94, 4: 112, 5: 130, 6: 148, "antagonizing": 172}
    height = 196
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Timeline of markers, stages and episodes" class="timeline">']
    for ep in episodes:
        x0, x1 = x(ep.first_turn) - plot / n / 2, x(ep.last_turn) + plot / n / 2
        parts.append(f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 2):.1f}" height="{height - top - 14}" '
                     f'fill="{COLOURS["episode"]}" fill-opacity="0.35" stroke="#7a6f00" stroke-dasharray="3 2">'
                     f'<title>Episode {ep.number}: {escape(ep.type)}, {escape(ep.resolution)}</title></rect>')
        parts.append(f'<text x="{x0 + 2:.1f}" y="{top + 9}" font-size="9" fill="#333">E{ep.number}</text>')
    labels = [("client markers", lanes["client"]), ("1 attending", lanes[1]), ("3 meaning", lanes[3]),
              ("4 avoidance", lanes[4]), ("5 affirming", lanes[5]), ("6 repairing", lanes[6]),
              ("antagonizing", lanes["antagonizing"])]
    for text, y in labels:
        parts.append(f'<text x="{left - 6}" y="{y + 3}" font-size="10" text-anchor="end" fill="#222">{text}</text>')
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" stroke="#ddd"/>')
    parts.append(f'<text x="{left - 6}" y="{lanes[2] + 3}" font-size="9" text-anchor="end" fill="#777">'
                 f'2 not observable</text>')
    for r in rows:
        cx = x(r["turn"])
        tip = escape(f"turn {r['turn']} {r.get('speaker', '')}: {(r.get('text') or '')[:120]}")
        if r.get("role") == "client" and r.get("marker") not in (None, "none"):
            y = lanes["client"]
            if r["marker"] == "confrontation":
                shape = f'<polygon points="{cx:.1f},{y - 6} {cx - 5:.1f},{y + 5} {cx + 5:.1f},{y + 5}" fill="{COLOURS["confrontation"]}"'
            else:
                shape = f'<circle cx="{cx:.1f}" cy="{y}" r="5" fill="none" stroke="{COLOURS["withdrawal"]}" stroke-width="2.5"'
            parts.append(f'{shape}><title>{tip} [{escape(r["marker"])}: {escape(r.get("subtype") or "")}]</title>'
                         + ("</polygon>" if r["marker"] == "confrontation" else "</circle>"))
        elif r.get("role") == "therapist" and r.get("stage") in STAGE_ROW:
            y = lanes[STAGE_ROW[r["stage"]]]
            parts.append(f'<rect x="{cx - 4:.1f}" y="{y - 4}" width="8" height="8" fill="{COLOURS["stage"]}">'
                         f'<title>{tip} [{escape(r["stage"])}]</title></rect>')
        elif r.get("role") == "therapist" and r.get("stage") == "antagonizing":
            y = lanes["antagonizing"]
            parts.append(f'<path d="M{cx - 5:.1f},{y - 5} L{cx + 5:.1f},{y + 5} M{cx + 5:.1f},{y - 5} L{cx - 5:.1f},{y + 5}" '
                         f'stroke="{COLOURS["antagonizing"]}" stroke-width="2.5"><title>{tip} [antagonizing]</title></path>')
    step = max(1, n // 10)
    for t in range(0, n, step):
        parts.append(f'<text x="{x(t):.1f}" y="{height - 2}" font-size="9" text-anchor="middle" fill="#555">{t}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
