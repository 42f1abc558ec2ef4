"""The codebook (`CODEBOOK.md`) as data: the one place label values are spelled.

Models, the corpus validator, evaluation and the report all import these tuples, so a
label can never be misspelled in one place and right in another.
"""

from __future__ import annotations

ROLES: tuple[str, ...] = ("therapist", "client", "other")

MARKERS: tuple[str, ...] = ("none", "confrontation", "withdrawal")

CONFRONTATION_SUBTYPES: tuple[str, ...] = (
    "complaint_therapist",
    "rejects_intervention",
    "complaint_activities",
    "complaint_parameters",
    "complaint_progress",
    "defends_self",
    "control_pressure",
)

WITHDRAWAL_SUBTYPES: tuple[str, ...] = (
    "denial",
    "minimal_response",
    "abstract",
    "topic_shift",
    "deferential",
    "content_affect_split",
    "self_critical",
)

SUBTYPES: tuple[str, ...] = CONFRONTATION_SUBTYPES + WITHDRAWAL_SUBTYPES

SUBTYPE_TO_MARKER: dict[str, str] = {
    **{s: "confrontation" for s in CONFRONTATION_SUBTYPES},
    **{s: "withdrawal" for s in WITHDRAWAL_SUBTYPES},
}

STAGES: tuple[str, ...] = (
    "none",
    "attending",
    "exploring_meaning",
    "exploring_avoidance",
    "affirming",
    "repairing",
    "antagonizing",
)

#: Chang, Dunn & Omidi (2021) stage number of each observable stage value.
STAGE_NUMBER: dict[str, int] = {
    "attending": 1,
    "exploring_meaning": 3,
    "exploring_avoidance": 4,
    "affirming": 5,
    "repairing": 6,
}

#: Stages whose presence inside an episode counts toward `resolved` (codebook §3).
RESOLUTION_STAGES: frozenset[str] = frozenset(
    {"exploring_meaning", "exploring_avoidance", "affirming", "repairing"}
)

STAGE_2_TEXT = "not observable from a transcript (internal to the therapist)"


def check_code(role: str, marker: str | None, subtype: str | None, stage: str | None) -> str | None:
    """Return why a code breaks the codebook, or None when it is valid.

    Client turns carry a marker (and a subtype exactly when the marker is not `none`),
    therapist turns a stage, other turns nothing.
    """
    if role not in ROLES:
        return f"role {role!r} is not one of {ROLES}"
    if role == "client":
        if marker not in MARKERS:
            return f"client marker {marker!r} is not one of {MARKERS}"
        if marker == "none" and subtype:
            return f"subtype {subtype!r} given with marker 'none'"
        if marker != "none":
            if subtype not in SUBTYPES:
                return f"subtype {subtype!r} is not one of the codebook's subtypes"
            if SUBTYPE_TO_MARKER[subtype] != marker:
                return f"subtype {subtype!r} belongs to {SUBTYPE_TO_MARKER[subtype]}, not {marker}"
        if stage:
            return "a client turn carries no stage"
        return None
    if role == "therapist":
        if stage not in STAGES:
            return f"therapist stage {stage!r} is not one of {STAGES}"
        if marker or subtype:
            return "a therapist turn carries no marker or subtype"
        return None
    if marker or subtype or stage:
        return "a turn by someone other than therapist or client carries no code"
    return None
