"""Which words are first names or surnames, and which of those are also everyday words.

Names come from Faker's person providers (MIT licence, maintained per locale), read from
every locale whose names are written in Latin script, so Indian, Nigerian (Yoruba, Igbo,
Hausa), Irish, Spanish and many other speakers' names are covered, not only English ones.
A name that is also an everyday English word ("Will", "May", "Hope", "Grace") is only
taken as a name with a cue (a title, "my name is", a greeting, a full name), because
replacing every capitalised "May" would wreck the text the coder and the reader need.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import unicodedata
from functools import lru_cache

from rupture_nlp.deid.errors import MissingDependency

_LATIN_NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ][A-Za-zÀ-ÖØ-öø-ÿĀ-ſ'’-]+$")
_PARTICLES = {"de", "del", "della", "la", "las", "los", "van", "von", "der", "den", "da", "di", "du", "le", "bin",
              "ibn", "al", "el", "y", "e", "mac", "st", "ter", "ten", "dos", "das"}

# Everyday words that are also names in some locale: a name only with a cue. Written here
# (not taken from a dictionary package) because the big English word lists mark rare
# senses too ("ruth", "kim") and would hide real names; this list holds the words that
# come up in therapy talk.
AMBIGUOUS = set("""
will may hope grace joy faith mark bill rose art dawn park bank summer autumn winter spring june april august
frank sue pat patience charity honor honour constance prudence trust harmony destiny heaven angel
sunny sky star bright brown green white black gray grey young long little short small king queen
prince duke earl lord price best good love hall wood woods hill field fields lane rice ward house
church bush bell cook baker miller taylor turner walker hunter fisher mason carter page ray sterling
chase drew wade miles gene guy jack jimmy bob rob robin sandy penny ruby amber crystal pearl ivy
holly daisy lily iris violet olive hazel jade sage rain river lake ocean storm cliff dale glen heath
moss forest brook bay beach shore stone rock flint steel gold silver chance major minor noble earnest
ernest willing may-be can sun son so do ho lo ma man moon park kim lee gay lea le an in on at no
said hakim love lucky happy merry bliss ebony gem lane ash ford bird wolf fox lamb swan crane
rich rick nick bud buck colt dean deacon bishop pope judge marshal sheriff porter cole cash chip
dusty rusty misty stormy cherry candy honey ginger pepper sugar brandy sherry tequila whisky
christian christmas easter god jesus allah lord buddha mary
monday tuesday wednesday thursday friday saturday sunday january february march july september
october november december
english irish spanish french german british american african indian nigerian scottish welsh
""".split())

# Capitalised words that are never taken as names, even after a cue ("Hi Mum,", "I'm Irish").
NEVER = set("""
i i'm i've i'd i'll okay ok yeah yes no nope yep hey hi hello bye goodbye thanks thank sorry please
well so oh ah um uh mm hmm mhm right sure alright fine great good bad really just like
mum mom mummy mommy dad daddy papa mama nana gran granny grandma grandpa grandad grandmother grandfather
auntie aunty aunt uncle sir madam maam ma'am doc doctor nurse miss mister missus sister brother
therapist counselor counsellor client patient everyone everybody anyone guys folks all there
god jesus christ lord allah buddha bible church mosque temple christmas easter ramadan diwali eid
monday tuesday wednesday thursday friday saturday sunday
january february march april may june july august september october november december
english irish spanish french german british american african indian nigerian scottish welsh
catholic protestant christian muslim hindu sikh jewish buddhist
facebook instagram whatsapp zoom google youtube tiktok twitter netflix amazon uber
dr mr mrs ms mx prof professor pastor judge deacon deputy officer coach congressman senator señor señora señorita
don doña sra srta chief captain sergeant reverend rev father mother
ma pa maw paw mamaw papaw mami papi mama papa amma appa amá apá baba babe umma athai abba ammi abbu bhai didi
bueno buena bien día el la los las río san santa grande für und der die das
africa america asia europe australia antarctica india china japan korea vietnam france germany spain italy poland
ukraine russia mexico canada brazil nigeria ghana kenya pakistan ireland england scotland wales britain iraq iran
syria turkey egypt philippines cuba haiti jamaica colombia peru chile argentina
county court heights hills valley memorial mount fort st ave street road beach hospital
school college university center centre clinic presbyterian methodist baptist general high elementary middle
academy institute mart store market depot greater north south east west new congrats congratulations
alabama alaska arizona arkansas california colorado connecticut delaware florida hawaii idaho illinois indiana iowa
kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi missouri montana nebraska
nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont washington wisconsin wyoming
""".split())

# Name-words that are names when capitalised inside a sentence ("I told Will", "Lily's mum")
# and everyday words at its start ("Will you…", "Hope is…"): no cue needed mid-sentence.
MIDSENTENCE_NAMES = set("""
will hope grace joy faith mark bill rose dawn frank sue pat patience charity constance prudence harmony destiny angel
sunny robin sandy penny ruby amber crystal pearl ivy holly daisy lily iris violet olive hazel jade sage chase drew
wade miles gene guy jack jimmy bob rob ray cliff dale glen heath ernest earnest rick nick dean colt buck bud dusty
rusty misty ginger candy honey sherry brandy kim lee ruth maria
""".split())


def _folded(words: set[str]) -> set[str]:
    return {fold(w) for w in words}


def fold(word: str) -> str:
    """Lower-case without accents, so 'José' and 'Jose' are one name."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().replace("’", "'")


def _names_of(provider: type) -> set[str]:
    names: set[str] = set()
    for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary",
                 "last_names", "last_names_male", "last_names_female",
                 "first_romanized_names", "first_romanized_names_male", "first_romanized_names_female",
                 "last_romanized_names"):  # Chinese and Japanese names in Latin letters
        values = getattr(provider, attr, None)
        if not isinstance(values, (tuple, list, dict)):  # some locales compute these as properties
            continue
        for value in values:  # tuples, or OrderedDicts of name → weight
            for part in str(value).split():
                if _LATIN_NAME.match(part) and part[0].isupper() and fold(part) not in _PARTICLES:
                    names.add(fold(part))
    return names


@lru_cache(maxsize=1)
def name_lexicon() -> frozenset[str]:
    """Folded first names and surnames from every Latin-script Faker locale."""
    try:
        from faker.providers import person
    except ImportError:  # pragma: no cover - the deid extra is missing
        raise MissingDependency("de-identification needs Faker's name lists: pip install 'rupture-nlp[deid]'") from None
    names: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        except (ImportError, AttributeError):  # pragma: no cover - a broken locale is skipped, not fatal
            continue
        names |= _names_of(provider)
    return frozenset(n for n in names if len(n) >= 2)


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Words that need a cue to be a name: the lists above, common_words.txt and stop words."""
    from importlib.resources import files

    text = files("rupture_nlp.deid").joinpath("common_words.txt").read_text(encoding="utf-8")
    listed = {w for line in text.splitlines() if not line.startswith("#") for w in line.split()}
    return frozenset(listed | AMBIGUOUS | NEVER | stop_words())


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English function words (spaCy's list): never names on their own."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(fold(w) for w in STOP_WORDS)


NEVER, AMBIGUOUS, MIDSENTENCE_NAMES = _folded(NEVER), _folded(AMBIGUOUS), _folded(MIDSENTENCE_NAMES)
