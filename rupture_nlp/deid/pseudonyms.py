"""Pseudonyms: typed placeholders numbered per session, and keyed pseudonymous session ids.

Placeholders (`[NAME-1]`, `[PHONE-2]`) rather than realistic fake names, because a reader of
a report or a coder reading turns must never take a replacement for a real person, a
placeholder cannot collide with a real name elsewhere in the text, and a leak scan can tell
a replacement from an original. Numbers are given in order of first appearance in the
session, so they depend on the session's own text, never on the real value: hashing a list
of candidate names cannot recover who `[NAME-1]` was.

The session id (often a file name holding a name or a date) becomes `deid-` plus an
HMAC-SHA256 of the id under a secret key: the same id under the same key always gives the
same pseudonym (so `code` and `report` outputs line up across runs), and without the key
nobody can test candidate ids against it. With no key given a random one is drawn per run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections import defaultdict

from rupture_nlp.deid.lexicon import fold

KEY_ENV = "RUPTURE_DEID_KEY"
PREFIX = "deid-"
AGE_PLACEHOLDER = "[AGE-OVER-89]"


def resolve_key(key: str | bytes | None = None) -> bytes:
    """The pseudonym key: the one given, else $RUPTURE_DEID_KEY, else a fresh random key."""
    if key is None:
        key = os.environ.get(KEY_ENV) or secrets.token_bytes(32)
    return key.encode("utf-8") if isinstance(key, str) else key


def pseudonymous_id(session_id: str, key: bytes) -> str:
    """`deid-` + 12 hex digits of HMAC(key, id); an id that already is a pseudonym is kept."""
    if session_id.startswith(PREFIX):
        return session_id
    return PREFIX + hmac.new(key, session_id.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def normalise(kind: str, value: str) -> str:
    """What counts as 'the same value': digits for numbers, folded case for words."""
    if kind in ("PHONE", "ID"):
        digits = "".join(c for c in value if c.isalnum())
        return digits[-10:] if kind == "PHONE" and len(digits) > 10 else digits.lower()
    return " ".join(fold(value).split())


class Pseudonyms:
    """One session's table from real values to placeholders (kept in memory only)."""

    def __init__(self) -> None:
        self._table: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = defaultdict(int)

    def get(self, kind: str, value: str) -> str:
        if kind == "AGE":
            return AGE_PLACEHOLDER
        kind = "ID" if kind == "NUMBER" else kind
        key = (kind, normalise(kind, value))
        if key not in self._table:
            self._counts[kind] += 1
            self._table[key] = f"[{kind}-{self._counts[kind]}]"
        return self._table[key]

    def mapping(self) -> dict[str, str]:
        """Placeholder → normalised real value: written only when the user asks (`--deid-mapping`)."""
        return {placeholder: value for (_, value), placeholder in self._table.items()}
