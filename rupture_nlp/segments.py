"""Cutting sessions into the segments 3RS rates: 5-minute spans, or windows of N turns.

3RS coders watch a session in 5-minute segments and rate each one, so segment-level
agreement and the 3RS sheet need the same cut. A session is cut by time when every one
of its turns has a start time (segment k holds the turns starting in
[k·minutes, (k+1)·minutes)); otherwise, or when a turn window is asked for, into windows
of N consecutive turns (all speakers counted, in turn order). Empty 5-minute spans inside
a session are kept (a silent segment is a segment with nothing to rate, not a gap).

`DEFAULT_WINDOW_TURNS` = 20: the AnnoMI demonstrations run at a median of about 40
turns per 5 minutes, brisk role-plays with short turns; talk-therapy turns are longer,
so 20 turns (about 10 client turns) is taken as a 5-minute stand-in. Set
`--window-turns` to the pace of your own material.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_MINUTES = 5.0
DEFAULT_WINDOW_TURNS = 20


@dataclass(frozen=True)
class Segment:
    session_id: str
    number: int
    unit: str  # "minutes" or "turns"
    first_turn: int | None
    last_turn: int | None
    start: float | None = None
    end: float | None = None

    @property
    def label(self) -> str:
        if self.unit == "minutes" and self.start is not None and self.end is not None:
            return f"{_clock(self.start)}-{_clock(self.end)}"
        return f"turns {self.first_turn}-{self.last_turn}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes:02d}:{secs:02d}"


def segment_session(session_id: str, turns: list[tuple[int, float | None]], minutes: float = DEFAULT_MINUTES,
                    window_turns: int | None = None) -> tuple[list[Segment], dict[int, int]]:
    """Segments of one session and the segment number of each turn.

    `turns` is (turn index, start seconds or None) for every turn of the session.
    """
    ordered = sorted(turns)
    if not ordered:
        return [], {}
    if window_turns is not None and window_turns < 1:
        raise ValueError("a turn window must hold at least one turn")
    if minutes <= 0:
        raise ValueError("a segment must last more than 0 minutes")
    timed = window_turns is None and all(start is not None for _, start in ordered)
    if timed:
        width = minutes * 60.0
        of_turn = {turn: int(math.floor(max(start, 0.0) / width)) for turn, start in ordered}
        count = max(of_turn.values()) + 1
        segments = []
        for k in range(count):
            members = [turn for turn, seg in of_turn.items() if seg == k]
            segments.append(Segment(session_id, k, "minutes", min(members, default=None), max(members, default=None),
                                    k * width, (k + 1) * width))
        return segments, of_turn
    size = window_turns or DEFAULT_WINDOW_TURNS
    of_turn = {turn: position // size for position, (turn, _) in enumerate(ordered)}
    segments = []
    for k in range(max(of_turn.values()) + 1):
        members = [turn for turn, seg in of_turn.items() if seg == k]
        segments.append(Segment(session_id, k, "turns", min(members), max(members)))
    return segments, of_turn


def segment_all(turns: dict[tuple[str, int], float | None], minutes: float = DEFAULT_MINUTES,
                window_turns: int | None = None) -> tuple[list[Segment], dict[tuple[str, int], int]]:
    """Segments of every session in a turn table {(session, turn): start}; (segments, turn → index in segments)."""
    by_session: dict[str, list[tuple[int, float | None]]] = {}
    for (session, turn), start in turns.items():
        by_session.setdefault(session, []).append((turn, start))
    segments: list[Segment] = []
    where: dict[tuple[str, int], int] = {}
    for session in sorted(by_session):
        found, of_turn = segment_session(session, by_session[session], minutes, window_turns)
        offset = len(segments)
        segments.extend(found)
        for turn, k in of_turn.items():
            where[(session, turn)] = offset + k
    return segments, where
