"""Rupture episodes, their resolution and the therapist's stages (codebook §3).

Definitions as implemented (the codebook's words, made exact; gaps configurable):
- an **episode** starts at a client marker; a later marker joins it when no more than
  `max_gap` turns (default 3) lie between it and the previous marker. After its last
  marker the episode keeps the turns that follow until `quiet_client_turns` (default 6)
  client turns in a row carry no marker, or the next episode starts;
- **resolution**: `unresolved` when markers escalate (the episode ends in confrontation
  after withdrawal, or in control/pressure); else `resolved` when at least 3 unmarked
  client turns follow the last marker and the therapist used stage 3–6 behaviour inside
  it; else `unresolved` when the session ends inside the episode; else `unclear`;
- **therapist contribution**: `antagonizing` turns inside the episode or within
  `lookback` turns before its first marker;
- **missed opportunity**: a marker followed by `answer_window` therapist turns (default 2)
  with no attending (1) or exploring (3) behaviour; or antagonizing right after a
  withdrawal marker.
Stage 2 (analysing) is never observable and is reported as such, never inferred.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rupture_nlp.labels import RESOLUTION_STAGES, STAGE_2_TEXT, STAGE_NUMBER


@dataclass
class EpisodeOptions:
    max_gap: int = 3
    quiet_client_turns: int = 6
    resolved_after: int = 3
    lookback: int = 3
    answer_window: int = 2


@dataclass
class StageEvent:
    stage: str
    number: int
    turn: int


@dataclass
class Episode:
    session_id: str
    number: int
    type: str  # confrontation | withdrawal | mixed
    first_turn: int
    last_turn: int
    start: float | None
    end: float | None
    markers: list[dict]
    stages: list[StageEvent]
    stages_observed: dict[str, list[int]]
    stage_2: str
    contribution_turns: list[int]
    missed_opportunities: list[dict]
    resolution: str
    reason: str
    ends_session: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _marker_turns(rows: list[dict]) -> list[int]:
    return [i for i, r in enumerate(rows) if r.get("role") == "client" and r.get("marker") not in (None, "none")]


def find_episodes(rows: list[dict], options: EpisodeOptions | None = None) -> list[Episode]:
    """Episodes of one coded session (`rows` in turn order, codebook §4 fields)."""
    options = options or EpisodeOptions()
    marks = _marker_turns(rows)
    groups: list[list[int]] = []
    for i in marks:
        if groups and i - groups[-1][-1] - 1 <= options.max_gap:
            groups[-1].append(i)
        else:
            groups.append([i])
    episodes = []
    for n, group in enumerate(groups):
        next_start = groups[n + 1][0] if n + 1 < len(groups) else len(rows)
        quiet, end, closed = 0, group[-1], False
        for j in range(group[-1] + 1, next_start):
            end = j
            if rows[j].get("role") == "client":
                quiet += 1
                if quiet >= options.quiet_client_turns:
                    closed = True
                    end = j - 1
                    break
        episodes.append(_describe(rows, group, end, quiet, closed or next_start < len(rows), n + 1, options))
    return episodes


def _describe(rows, group, end, quiet, closed, number, options) -> Episode:
    first = group[0]
    markers = [{"turn": rows[i]["turn"], "marker": rows[i]["marker"], "subtype": rows[i].get("subtype"),
                "p": _marker_p(rows[i])} for i in group]
    kinds = {m["marker"] for m in markers}
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    stages = [StageEvent(rows[i]["stage"], STAGE_NUMBER[rows[i]["stage"]], rows[i]["turn"])
              for i in range(first, end + 1) if rows[i].get("role") == "therapist" and rows[i].get("stage") in STAGE_NUMBER]
    observed: dict[str, list[int]] = {}
    for event in stages:
        observed.setdefault(event.stage, []).append(event.turn)
    lo = max(0, first - options.lookback)
    contribution = [rows[i]["turn"] for i in range(lo, end + 1)
                    if rows[i].get("role") == "therapist" and rows[i].get("stage") == "antagonizing"]
    missed = _missed(rows, group, options)
    escalates = markers[-1]["marker"] == "confrontation" and (
        any(m["marker"] == "withdrawal" for m in markers[:-1]) or markers[-1]["subtype"] == "control_pressure")
    used_resolution = sorted({e.stage for e in stages if e.stage in RESOLUTION_STAGES}, key=lambda s: STAGE_NUMBER[s])
    ends_session = not closed
    if escalates:
        status = "unresolved"
        reason = ("markers escalate: the episode ends in confrontation"
                  + (" after withdrawal" if any(m["marker"] == "withdrawal" for m in markers[:-1]) else "")
                  + (" with control/pressure" if markers[-1]["subtype"] == "control_pressure" else ""))
    elif quiet >= options.resolved_after and used_resolution:
        status = "resolved"
        reason = (f"{quiet} unmarked client turns follow the last marker and the therapist used "
                  + ", ".join(f"stage {STAGE_NUMBER[s]} ({s.replace('_', ' ')})" for s in used_resolution))
    elif ends_session:
        status = "unresolved"
        reason = "the session ends inside the episode"
    else:
        status = "unclear"
        reason = ("the client settles but no stage 3–6 behaviour was coded inside the episode" if quiet >= options.resolved_after
                  else "fewer than 3 unmarked client turns follow the last marker")
    return Episode(
        session_id=str(rows[first]["session_id"]), number=number, type=kind, first_turn=rows[first]["turn"],
        last_turn=rows[end]["turn"], start=rows[first].get("start"), end=rows[end].get("end") or rows[end].get("start"),
        markers=markers, stages=stages, stages_observed=observed, stage_2=STAGE_2_TEXT, contribution_turns=contribution,
        missed_opportunities=missed, resolution=status, reason=reason, ends_session=ends_session,
    )


def _marker_p(row: dict) -> float | None:
    probs = (row.get("probs") or {}).get("marker") or {}
    return probs.get(row.get("marker"))


def _missed(rows, group, options) -> list[dict]:
    missed = []
    for i in group:
        answers = [j for j in range(i + 1, len(rows)) if rows[j].get("role") == "therapist"][: options.answer_window]
        if not answers:
            continue
        first_answer = rows[answers[0]]
        if rows[i]["marker"] == "withdrawal" and first_answer.get("stage") == "antagonizing":
            missed.append({"turn": rows[i]["turn"], "answer_turn": first_answer["turn"],
                           "reason": "antagonizing right after a withdrawal marker"})
        elif not any(rows[j].get("stage") in ("attending", "exploring_meaning") for j in answers):
            missed.append({"turn": rows[i]["turn"], "answer_turn": first_answer["turn"],
                           "reason": f"no attending or exploring in the next {len(answers)} therapist turn(s)"})
    return missed
