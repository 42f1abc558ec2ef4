"""De-identification: replace names, contact details, dates, addresses, old ages and ID numbers.

Entry points (the CLI's `--deidentify` and any other writer call these):

- `Deidentifier(key).session(session) -> Session`: a transcript or coded session with every
  text, speaker label, cue and metadata field rewritten, a pseudonymous session id and no
  source path;
- `Deidentifier(key).records(rows) -> rows`: the same for coded JSONL rows
  (`rupture-nlp code` output), grouped by `session_id`;
- `deidentify_session(session, key=None)` and `deidentify_records(rows, key=None)`: one-shot
  versions of the above.

Within a session the same real value always gets the same placeholder (`[NAME-1]`); one
`Deidentifier` uses one key for the whole run, so a session id maps to the same pseudonym
in every file of that run (and across runs when the key is given or set in
$RUPTURE_DEID_KEY). The table of real values is kept only in memory unless the caller asks
for it with `mappings()`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any, Iterable

from rupture_nlp.deid.errors import MissingDependency
from rupture_nlp.deid.lexicon import name_lexicon
from rupture_nlp.deid.ner import optional_detectors
from rupture_nlp.deid.pseudonyms import KEY_ENV, pseudonymous_id, resolve_key
from rupture_nlp.deid.scrub import SessionScrubber
from rupture_nlp.types import Session

__all__ = ["Deidentifier", "MissingDependency", "KEY_ENV", "deidentify_records", "deidentify_session"]


def _check_dependencies() -> None:
    try:
        import phonenumbers  # noqa: F401
    except ImportError:
        raise MissingDependency("de-identification needs phonenumbers and Faker: pip install 'rupture-nlp[deid]'") from None
    name_lexicon()


class Deidentifier:
    """De-identifies sessions of one run with one key; remembers the tables only in memory."""

    def __init__(self, key: str | bytes | None = None, use_ner: bool = True) -> None:
        _check_dependencies()
        self.key = resolve_key(key)
        self.detector_names, self._detectors = optional_detectors(use_ner)
        self._mappings: dict[str, dict[str, str]] = {}

    @property
    def detectors(self) -> list[str]:
        """What ran, for the manifest: the rules and lists always, statistical models when installed."""
        return ["rules", "phonenumbers", "faker-name-lists", *self.detector_names]

    def session_id(self, session_id: str) -> str:
        return pseudonymous_id(str(session_id), self.key)

    def session(self, session: Session) -> Session:
        """A copy of `session` with nothing identifying left in it."""
        texts = [t.text for t in session.turns] + [c.text for t in session.turns for c in t.cues]
        scrub = SessionScrubber(texts, [t.speaker for t in session.turns], session.metadata, self._detectors)
        turns = []
        for turn in session.turns:
            text, moved = scrub.text_with_offsets(turn.text)
            turns.append(replace(
                turn, speaker=scrub.speaker(turn.speaker), text=text,
                sentences=[scrub.text(s) or "" for s in turn.sentences],
                cues=[replace(c, text=scrub.text(c.text) or "", offset=moved(c.offset)) for c in turn.cues],
                spans=[replace(s, id=scrub.text(s.id)) for s in turn.spans]))
        new_id = self.session_id(session.session_id)
        self._mappings[new_id] = scrub.pseudonyms.mapping()
        return Session(session_id=new_id, turns=turns, source=None, format=session.format,
                       metadata=scrub.metadata(session.metadata),
                       warnings=[scrub.text(w) or "" for w in session.warnings])

    def records(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Coded rows (one a turn, any number of sessions) de-identified session by session."""
        by_session: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        for row in rows:
            by_session.setdefault(str(row["session_id"]), []).append(row)
        out = []
        for sid, group in by_session.items():
            cues = [c for r in group for c in r.get("cues") or [] if isinstance(c, str)]
            meta = group[0].get("session_meta") or {}
            scrub = SessionScrubber([str(r.get("text") or "") for r in group] + cues,
                                    [str(r.get("speaker") or "") for r in group], meta, self._detectors)
            new_id = self.session_id(sid)
            clean_meta = scrub.metadata(meta)
            for row in group:
                row = dict(row, session_id=new_id, speaker=scrub.speaker(str(row.get("speaker") or "")),
                           text=scrub.text(row.get("text")), session_meta=clean_meta)
                if row.get("cues"):
                    row["cues"] = [scrub.text(c) if isinstance(c, str) else c for c in row["cues"]]
                if "source" in row:
                    row["source"] = None
                prov = row.get("provenance")
                if isinstance(prov, dict) and not str(prov.get("source") or "").startswith("sha256:"):
                    row["provenance"] = dict(prov, source=None)  # a path can name the client
                if isinstance(row.get("sentences"), list):
                    row["sentences"] = [scrub.text(s) for s in row["sentences"]]
                out.append(row)
            self._mappings[new_id] = scrub.pseudonyms.mapping()
        return out

    def text(self, text: str) -> str:
        """A free text outside any session (an error message): rules and name lists only."""
        return SessionScrubber([text], [], None, self._detectors).text(text) or ""

    def mappings(self) -> dict[str, dict[str, str]]:
        """Pseudonymous session id → {placeholder: real value}. Sensitive: write only on request."""
        return dict(self._mappings)

    def mapping(self, session_id: str) -> dict[str, str]:
        """One de-identified session's table (by its pseudonymous id); empty if not seen."""
        return dict(self._mappings.get(session_id, {}))

    def add_mapping(self, session_id: str, table: dict[str, str]) -> None:
        """Take in a table made by a copy of this object in a worker process."""
        self._mappings[session_id] = dict(table)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for worker processes without the tables: they never travel with the job."""
        state = dict(self.__dict__)
        state["_mappings"] = {}
        return state


def deidentify_session(session: Session, key: str | bytes | None = None) -> Session:
    """One session de-identified (see `Deidentifier.session`); for a batch keep one `Deidentifier`."""
    return Deidentifier(key).session(session)


def deidentify_records(rows: Iterable[dict[str, Any]], key: str | bytes | None = None) -> list[dict[str, Any]]:
    """Coded rows de-identified (see `Deidentifier.records`)."""
    return Deidentifier(key).records(rows)


