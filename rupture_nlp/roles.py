"""Who is the therapist: speaker labels to roles, by alias, override or evidence.

Transcripts label speakers every which way (`THERAPIST (Dr. Lee)`, `T`, `Ms. D`,
`SPEAKER_00`). A role is taken, in order, from the user's `--therapist/--client/--other`
overrides, from a role the source states (a CSV `role` column), from the alias table, and
last from evidence in the talk itself (who asks the questions, who opens). Every guess
from evidence is reported as a warning naming the guess, because a wrong role silently
flips every code the model gives.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

THERAPIST_ALIASES = frozenset(
    {
        "therapist", "counselor", "counsellor", "clinician", "interviewer", "doctor",
        "dr", "t", "th", "psychologist", "psychiatrist", "psychotherapist", "facilitator",
        "cotherapist", "co-therapist", "trainee", "provider", "social worker", "sw",
        "analyst", "coach", "leader", "group leader",
    }
)
CLIENT_ALIASES = frozenset(
    {
        "client", "patient", "participant", "c", "cl", "p", "pt", "member",
        "interviewee", "customer", "consumer", "survivor", "partner", "parent", "child",
        "teen", "adolescent", "mother", "father", "mom", "dad",
    }
)
OTHER_ALIASES = frozenset(
    {"interpreter", "translator", "observer", "narrator", "other", "unknown", "receptionist"}
)

_PAREN = re.compile(r"\(.*?\)|\[.*?\]")
_INDEX_SUFFIX = re.compile(r"^(?P<base>.+?)(?:[\s_#-]*\d+|[\s_#-]+[a-z])$")


def _normal(label: str) -> str:
    text = _PAREN.sub(" ", label).lower()
    text = re.sub(r"[.:]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def alias_role(label: str) -> str | None:
    """The role an alias table gives a label, or None when the label is a name.

    Matches the whole label (`Therapist`, `T`, `PT`), an alias with an index
    (`Client 2`, `Therapist_B`) and a title before a name (`Dr. Lee`), case-insensitive.
    """
    base = _normal(label)
    if not base:
        return None
    candidates = [base]
    indexed = _INDEX_SUFFIX.match(base)
    if indexed:
        candidates.append(indexed.group("base").strip())
    first = base.split(" ")[0]
    for candidate in candidates:
        for role, aliases in (
            ("therapist", THERAPIST_ALIASES),
            ("client", CLIENT_ALIASES),
            ("other", OTHER_ALIASES),
        ):
            if candidate in aliases:
                return role
    if first in ("dr", "doctor") and " " in base:
        return "therapist"
    return None


@dataclass
class RoleOverrides:
    """Speaker names the user assigned to roles (case-insensitive)."""

    therapist: list[str] = field(default_factory=list)
    client: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def lookup(self, speaker: str) -> str | None:
        key = speaker.strip().casefold()
        for role in ("therapist", "client", "other"):
            if key in {name.strip().casefold() for name in getattr(self, role)}:
                return role
        return None


@dataclass
class SpeakerEvidence:
    """What the talk shows about a speaker: turns, questions, whether they opened."""

    turns: int = 0
    questions: int = 0
    opened: bool = False

    @property
    def score(self) -> float:
        """Higher = more therapist-like: share of turns asking questions, plus opening."""
        share = self.questions / self.turns if self.turns else 0.0
        return share + (0.25 if self.opened else 0.0)


def assign_roles(
    utterances: list[tuple[str, str]],
    stated: dict[str, str] | None = None,
    overrides: RoleOverrides | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Roles for every speaker in `(speaker, text)` order, and warnings for each guess.

    `stated` holds roles the source itself gives (e.g. a CSV role column).
    """
    overrides = overrides or RoleOverrides()
    stated = stated or {}
    evidence: dict[str, SpeakerEvidence] = defaultdict(SpeakerEvidence)
    for position, (speaker, text) in enumerate(utterances):
        item = evidence[speaker]
        item.turns += 1
        item.questions += "?" in text
        item.opened = item.opened or position == 0

    roles: dict[str, str] = {}
    unknown: list[str] = []
    for speaker in evidence:
        role = overrides.lookup(speaker) or stated.get(speaker) or alias_role(speaker)
        if role:
            roles[speaker] = role
        else:
            unknown.append(speaker)
    warnings: list[str] = []
    if not unknown:
        return roles, warnings

    has_therapist = "therapist" in roles.values()
    ranked = sorted(unknown, key=lambda s: evidence[s].score, reverse=True)
    for rank, speaker in enumerate(ranked):
        if not has_therapist and rank == 0:
            roles[speaker] = "therapist"
            reason = "asks the most questions" + (" and opens the session" if evidence[speaker].opened else "")
        else:
            roles[speaker] = "client"
            known = [s for s, r in roles.items() if r == "therapist"]
            reason = f"the therapist is {known[0]!r}" if known else "not the therapist"
        warnings.append(
            f"guessed role {roles[speaker]} for speaker {speaker!r} ({reason}); "
            "if wrong, name the roles with --therapist NAME / --client NAME"
        )
    return roles, warnings
