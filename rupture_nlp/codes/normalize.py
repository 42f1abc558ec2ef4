"""One code, however a coder wrote it, turned into codebook fields (or a clear error).

Coders write codes in several ways; all are accepted:
- separate fields: `marker` (none/confrontation/withdrawal), `subtype`, `stage`;
- one `code` field: `none`, a marker, a subtype (its marker is implied), `marker/subtype`
  (as `data/labels/adjudication.tsv` writes it) or a therapist stage.
The role comes from a `role` field when given, else from the code (a marker or subtype
means client, a stage other than `none` means therapist); a bare `none` with no role
stays role-less until another coding of the same turn tells the role (`resolve_roles`).
A marker without a subtype is allowed (a coder may code markers only); the subtype task
then leaves that turn out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rupture_nlp.errors import TranscriptError
from rupture_nlp.labels import MARKERS, ROLES, STAGES, SUBTYPE_TO_MARKER

Key = tuple[str, int]
CodeTable = dict[Key, dict[str, Any]]

SPEAKER_ROLES = {"therapist": "therapist", "client": "client", "patient": "client", "counselor": "therapist",
                  "counsellor": "therapist", "other": "other"}


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    return text or None


def split_code(code: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(role, marker, subtype, stage) of a one-field code; role None for a bare `none`."""
    if "/" in code:
        marker, _, subtype = code.partition("/")
        return "client", marker or None, subtype or None, None
    if code == "none":
        return None, "none", None, None
    if code in ("confrontation", "withdrawal"):
        return "client", code, None, None
    if code in SUBTYPE_TO_MARKER:
        return "client", SUBTYPE_TO_MARKER[code], code, None
    if code in STAGES:
        return "therapist", None, None, code
    raise ValueError(f"code {code!r} is none of: none, a marker ({', '.join(MARKERS[1:])}), a 3RS subtype "
                     f"or a stage ({', '.join(STAGES[1:])})")


def normalize(fields: dict[str, Any], path: str | Path, line: int | None) -> dict[str, Any]:
    """A row with `role`, `marker`, `subtype`, `stage` checked against the codebook."""
    role = _clean(fields.get("role"))
    role = SPEAKER_ROLES.get(role, role) if role else None
    marker, subtype, stage = (_clean(fields.get(k)) for k in ("marker", "subtype", "stage"))
    code = _clean(fields.get("code"))
    try:
        if code:
            if marker or subtype or stage:
                raise ValueError("give either a code column or marker/subtype/stage columns, not both")
            code_role, marker, subtype, stage = split_code(code)
            if role is None:
                role = code_role
            elif code_role and code_role != role:
                raise ValueError(f"code {code!r} is a {code_role} code but the role is {role}")
            if marker == "none" and role == "therapist":
                marker, stage = None, "none"
        if role is not None and role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if subtype and subtype != "none":
            if subtype not in SUBTYPE_TO_MARKER:
                raise ValueError(f"subtype {subtype!r} is not a codebook subtype")
            implied = SUBTYPE_TO_MARKER[subtype]
            if marker in (None, implied):
                marker = implied
            else:
                raise ValueError(f"subtype {subtype!r} belongs to {implied}, not {marker}")
        else:
            subtype = None
        if marker is not None and marker not in MARKERS:
            raise ValueError(f"marker {marker!r} is not one of {', '.join(MARKERS)}")
        if stage is not None and stage not in STAGES:
            raise ValueError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
        if marker and stage and not (marker == "none" and stage == "none"):
            raise ValueError("one turn carries both a client marker and a therapist stage")
        if role is None:
            role = "client" if marker not in (None, "none") else "therapist" if stage not in (None, "none") else None
        if role == "therapist" and marker not in (None, "none"):
            raise ValueError(f"a therapist turn carries marker {marker!r}")
        if role == "client" and stage not in (None, "none"):
            raise ValueError(f"a client turn carries stage {stage!r}")
        if role == "therapist" and stage is None and marker == "none":
            marker, stage = None, "none"
        if role == "client" and marker is None and stage == "none":
            marker, stage = "none", None
    except ValueError as exc:
        raise TranscriptError(path, line, str(exc)) from None
    return {"role": role, "marker": marker, "subtype": subtype, "stage": stage, "line": line}


def is_coded(row: dict[str, Any]) -> bool:
    """Whether a row carries a code for its role (a turns JSONL row may carry none)."""
    if row.get("role") == "client":
        return row.get("marker") is not None
    if row.get("role") == "therapist":
        return row.get("stage") is not None
    return row.get("role") is None and (row.get("marker") == "none" or row.get("stage") == "none")


def coded_only(coding: CodeTable) -> CodeTable:
    return {key: row for key, row in coding.items() if is_coded(row)}


def resolve_roles(codings: list[CodeTable], turns: CodeTable | None = None) -> dict[Key, str]:
    """The role of every turn, from whichever coding (or the turn table) states it.

    A bare `none` gets its role here: `marker` none for a client, `stage` none for a
    therapist. Two codings that give one turn different roles are an error (the files do
    not describe the same turns).
    """
    roles: dict[Key, tuple[str, str, int | None]] = {}
    sources = ([turns] if turns else []) + codings
    for coding in sources:
        for key, row in coding.items():
            role = row.get("role")
            if role is None:
                continue
            if key in roles and roles[key][0] != role:
                first_role, first_path, first_line = roles[key]
                raise TranscriptError(row.get("path"), row.get("line"),
                                      f"session {key[0]} turn {key[1]} is {role} here but {first_role} in "
                                      f"{first_path}{f':{first_line}' if first_line else ''}: the codings do not "
                                      "describe the same turns")
            roles.setdefault(key, (role, row.get("path"), row.get("line")))
    for coding in codings:
        for key, row in coding.items():
            if row.get("role") is None and key in roles:
                row["role"] = roles[key][0]
                if row["role"] == "therapist":
                    row["marker"], row["stage"] = None, "none"
                elif row["role"] == "client":
                    row["marker"], row["stage"] = "none", None
    return {key: value[0] for key, value in roles.items()}
