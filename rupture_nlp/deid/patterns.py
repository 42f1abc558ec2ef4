"""Identifiers with a shape: phones, e-mails, URLs, dates, street addresses, ages over 89, ID numbers.

Phone numbers are found by `phonenumbers` (Google's libphonenumber rules, every country's
formats, `+44 …`, `(555) 123-4567`, `0803 123 4567`); the rest are regular expressions
written for what people say in sessions. Any run of seven or more digits that no rule
claims is still replaced as an ID: a missed identifier costs more than a lost number.
Dates follow HIPAA Safe Harbor: a day or month with it goes ("March 3rd", "3/14/2025",
"March 2025"), a bare year, weekday or duration ("three weeks") stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

# Lower number = wins when two findings overlap by the same length.
PRIORITY = {"KEEP": -1, "EMAIL": 0, "URL": 1, "ADDRESS": 2, "ID": 3, "PHONE": 4, "DATE": 5, "AGE": 6, "NAME": 7, "NUMBER": 8}


@dataclass(frozen=True)
class Finding:
    """A stretch of text to replace: [start, end) in the text, of one kind."""

    start: int
    end: int
    kind: str
    text: str


_MONTH = (r"(?:(?i:january|february|march|april|june|july|august|september|october|november|december)"
          r"|May|(?i:jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?)")
_ORD_WORD = (r"(?i:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
             r"fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|"
             r"twenty[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirty[- ]first)")
_DAY = rf"(?:(?:[12]\d|3[01]|0?[1-9])(?i:st|nd|rd|th)?|{_ORD_WORD})"
_YEAR = r"(?:1[89]\d\d|20\d\d|'\d\d)"

DATE_PATTERNS = [
    rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}\b(?:,?\s+{_YEAR}\b)?",                        # March 3rd, March 3, 2025
    rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR}\b)?",              # 3rd of March 2025
    rf"\b{_MONTH}\s+(?:of\s+)?{_YEAR}\b",                                         # March 2025
    r"\b(?:0?[1-9]|[12]\d|3[01])[/.-](?:0?[1-9]|[12]\d|3[01])[/.-](?:\d{4}|\d{2})\b",  # 3/14/2025, 14.03.25
    r"\b(?:1[89]|20)\d\d[/.-](?:0?[1-9]|1[0-2])[/.-](?:0?[1-9]|[12]\d|3[01])\b",   # 2025-03-14
    r"(?i:\b(?:on|by|since|until|till|from|before|after|born)\s+)((?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01]))\b(?!\s+of)",
]

_NINETIES = r"(?i:ninety(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|(?:a|one)\s+hundred(?:\s+and\s+\w+)?)"
_OLD_NUM = rf"(?:9\d|1[01]\d|{_NINETIES})"
_NOT_AGE_UNIT = r"(?!\s*(?:%|percent|per|kg|kilos?|pounds|lbs|minutes?|mins?|hours?|days?|weeks?|months?|times|dollars|" \
                r"euros|rupees|naira|miles|km|k\b|degrees|points|bucks|quid|grand|calories|people|of\b))"
AGE_PATTERNS = [
    rf"\b({_OLD_NUM})(?:[- ](?:years?|yrs?)[- ]old|[- ]year[- ]old|\s*y/?o\b)",
    rf"(?i:\b(?:aged?|age of|turned|turning|turns|i'm|i am|he's|she's|he is|she is|they're|they are|"
    rf"she'll be|he'll be|i'll be)\s+)({_OLD_NUM})\b{_NOT_AGE_UNIT}",
    r"(?i:\bin\s+(?:his|her|their|my|your|the)\s+)((?i:nineties|90s|90's))",
    # "<person> is 92": a parent, a pronoun or a capitalised name before the verb, so that
    # "it was 95" (a distress rating) and "this is 100" stay
    rf"(?:(?i:\b(?:she|he|mum|mom|mother|dad|father|gran|granny|grandma|grandmother|grandfather|grandpa|grandad|nan|"
    rf"nana|aunt|auntie|uncle|husband|wife|patient|client))|\b(?!(?:It|That|This|There|What|Which|Who|Mine)\b)"
    rf"[A-Z][\w'’-]+)\s+(?i:is|was|'s|turned|turns|will be)\s+(?i:now\s+|nearly\s+|almost\s+|about\s+|only\s+)?"
    rf"(9\d|1[01]\d|(?i:ninety(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?))\b"
    rf"(?![.,/:]\d){_NOT_AGE_UNIT}",
]

EMAIL = (r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"
         r"|(?i:\b[\w.+-]+(?:\s+dot\s+\w+)*\s+at\s+\w+(?:\s+dot\s+\w+)*\s+dot\s+(?:com|org|net|edu|gov|co|uk|ie|in|ng|es|io)\b)")
URL = r"(?i:\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+)"

_CAP = r"[A-Z][\w'’-]*\.?"
_STREET_SUFFIX = (r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Close|Crescent|Cres|"
                  r"Place|Pl|Terrace|Way|Square|Sq|Parkway|Pkwy|Highway|Hwy|Row|Gardens|Grove|Walk|Mews|Nagar|Marg|"
                  r"Circle|Cir|Trail|Estate|Colony)")
_UNIT = r"(?:,?\s+(?i:apt|apartment|unit|suite|flat|#)\.?\s*#?\w+)"
_US_STATE = (r"(?:AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|"
             r"NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC)")
ADDRESS_PATTERNS = [
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:{_CAP}\s+){{0,3}}{_CAP}\s+{_STREET_SUFFIX}\b\.?{_UNIT}?"
    rf"(?:,\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)?(?:,?\s+{_US_STATE}\s+\d{{5}}(?:-\d{{4}})?)?",
    rf"\b(?:Calle|Avenida|Avda\.?|Plaza|Paseo|Carrer|Camino)\s+(?:(?:de|del|la|las|los)\s+)*{_CAP}(?:\s+{_CAP})*,?\s+\d{{1,4}}\b",
    r"(?i:\b(?:apt|apartment|flat|unit|suite)\.?\s*#?\d+[A-Za-z]?\b)",
    r"(?i:\bP\.?\s?O\.?\s+Box\s+\d+\b)",
    r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b",                                   # UK postcode
    r"\b(?:[AC-FHKNPRTV-Y]\d{2}|D6W)\s?[0-9AC-FHKNPRTV-Y]{4}\b",                # Irish Eircode
    rf"\b{_US_STATE}\s+\d{{5}}(?:-\d{{4}})?\b",                                 # state + ZIP
    r"(?i:\b(?:pin|pin\s?code|pincode|zip|zip\s?code|postcode|postal\s+code)\b\s*(?:is|:)?\s*)(?=[\w ]{0,4}\d)\w{3,4}\s?\w{3,4}\b",
]

_ID_CUE = (r"(?i:\b(?:mrn|medical record(?: number)?|record number|patient (?:id|number)|hospital number|nhs(?: number)?|"
           r"ssn|social security(?: number)?|aadhaar(?: number)?|aadhar(?: number)?|passport(?: number)?|"
           r"licen[cs]e(?: number)?|ni number|national insurance(?: number)?|pps(?: number)?|nin|bvn|"
           r"account(?: number)?|member(?:ship)? (?:id|number)|policy(?: number)?|insurance (?:id|number)|"
           r"case number|id(?: number)?|reference(?: number)?)\s*(?:is|was|:|#|no\.?)?\s*)")
ID_PATTERNS = [
    r"\b\d{3}-\d{2}-\d{4}\b",                                                    # US SSN
    r"\b\d{4}[ -]\d{4}[ -]\d{4}\b",                                              # Aadhaar
    rf"{_ID_CUE}([A-Z]{{0,3}}[- ]?\d[\d -]{{2,}}\d|[A-Z0-9]*\d[A-Z0-9-]{{3,}})\b",
    r"\b(?=[A-Z0-9-]*[A-Z])[A-Z]{1,3}-?\d{5,}[A-Z]?\b",                         # A1234567, MRN-00123
]
_DIGIT_RUN = re.compile(r"(?<![\w.,/])\+?\(?\d[\d ().-]{5,}\d(?![\w/])")
_NOT_ID = re.compile(r"^(?:1[89]|20)\d\d\s*[-–]\s*(?:1[89]|20)?\d\d$|^\d{1,3}(?:,\d{3})+$")

_COMPILED = [("DATE", re.compile(p)) for p in DATE_PATTERNS] + [("AGE", re.compile(p)) for p in AGE_PATTERNS] \
    + [("EMAIL", re.compile(EMAIL)), ("URL", re.compile(URL))] + [("ADDRESS", re.compile(p)) for p in ADDRESS_PATTERNS] \
    + [("ID", re.compile(p)) for p in ID_PATTERNS]

PHONE_REGIONS = ("US", "GB", "IN", "NG", "IE", "ES", "MX", "CA", "AU", "KE", "ZA", "PK", "PH")


def _phones(text: str) -> Iterator[Finding]:
    import phonenumbers

    seen: set[tuple[int, int]] = set()
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            digits = sum(c.isdigit() for c in match.raw_string)
            if (match.start, match.end) not in seen and digits >= 7 and not _NOT_ID.match(match.raw_string):
                seen.add((match.start, match.end))
                yield Finding(match.start, match.end, "PHONE", match.raw_string)


def find_patterns(text: str) -> list[Finding]:
    """Every shaped identifier in `text` (overlaps allowed; `resolve` picks among them)."""
    found: list[Finding] = []
    for kind, pattern in _COMPILED:
        for match in pattern.finditer(text):
            group = 1 if pattern.groups and match.group(1) is not None else 0
            start, end = match.span(group)
            if end > start:
                found.append(Finding(start, end, kind, text[start:end]))
    found.extend(_phones(text))
    for match in _DIGIT_RUN.finditer(text):
        raw = match.group(0).strip(" ().-")
        if sum(c.isdigit() for c in raw) >= 7 and not _NOT_ID.match(raw):
            start = match.start() + match.group(0).index(raw)
            found.append(Finding(start, start + len(raw), "NUMBER", raw))  # replaced as an ID
    return found


def resolve(findings: list[Finding]) -> list[Finding]:
    """Non-overlapping findings, longest first, then by kind priority; in text order."""
    chosen: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-(f.end - f.start), PRIORITY.get(f.kind, 9), f.start)):
        if all(f.end <= c.start or f.start >= c.end for c in chosen):
            chosen.append(f)
    return sorted(chosen, key=lambda f: f.start)
