"""Commitments: how binding each measure is, the money and deadlines it names, and who is responsible.

Strength follows eval/GUIDELINES.md: the wording that carries the action decides (``binding`` etablere,
innføre …; ``intention`` styrke, legge til rette for …; ``exploratory`` vurdere, utrede …), and a binding verb
wrapped around an investigation ("gi i oppdrag å utrede", "legge fram en vurdering") is exploratory. The word
lists live in ``extractors/data/commitments.yaml``. Beyond the word lists (the data card corpus/annotations/README.md
"Strength"): a decided quantity (a sum in millions, a percentage, "økes til 45.000") makes a directional or verbless
measure binding, so do presenting or proposing something ("legger nå fram", "gjer framlegg om"), a concrete action
coordinated after a directional one, and a passive change to a tax or grant ("Sukkeravgifta skal reduserast").
Amounts are normalised to NOK with their period; deadlines
keep their year and kind (by / during / from / in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path

import yaml

from pipeline.schema import Amount, Deadline, Strength

DEFAULT_RULES = Path(__file__).parent / "data" / "commitments.yaml"
_WORD = re.compile(r"[\wæøåÆØÅ]+(?:-[\wæøåÆØÅ]+)*")


@dataclass(frozen=True)
class StrengthRules:
    version: int
    phrases: tuple[tuple[tuple[str, ...], Strength], ...]  # longest first
    wrappers: frozenset[tuple[str, ...]]
    investigation: tuple[tuple[str, ...], ...]
    wrapper_window: int
    verbless: dict[str, Strength]
    default: Strength
    search_window: int
    verbless_endings: tuple[tuple[str, Strength], ...] = ()
    amount_binding: frozenset[tuple[str, ...]] = frozenset()
    deliverable_verbs: frozenset[tuple[str, ...]] = frozenset()
    deliverables: tuple[str, ...] = ()
    deliverable_window: int = 0


@cache
def load_strength_rules(path: Path = DEFAULT_RULES) -> StrengthRules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    phrases: dict[tuple[str, ...], Strength] = {}
    for strength in Strength:
        for phrase in data[strength.value]:
            phrases.setdefault(tuple(phrase.lower().split()), strength)
    ordered = tuple(sorted(phrases.items(), key=lambda item: -len(item[0])))
    verbless = {word.lower(): Strength(strength) for strength, words in data["verbless"].items() for word in words}
    return StrengthRules(
        version=int(data["version"]),
        phrases=ordered,
        wrappers=frozenset(tuple(p.lower().split()) for p in data["wrappers"]),
        investigation=tuple(tuple(p.lower().split()) for p in data["investigation_words"]),
        wrapper_window=int(data["wrapper_window"]),
        verbless=verbless,
        default=Strength(data["default"]),
        search_window=int(data["search_window"]),
        verbless_endings=tuple((ending.lower(), Strength(strength))
                               for strength, endings in (data.get("verbless_endings") or {}).items()
                               for ending in endings),
        amount_binding=frozenset(tuple(p.lower().split()) for p in data.get("amount_binding") or []),
        deliverable_verbs=frozenset(tuple(p.lower().split())
                                    for p in (data.get("deliverable_binding") or {}).get("verbs", [])),
        deliverables=tuple((data.get("deliverable_binding") or {}).get("deliverables", [])),
        deliverable_window=int((data.get("deliverable_binding") or {}).get("deliverable_window", 0)),
    )


@dataclass(frozen=True)
class StrengthVerdict:
    strength: Strength
    modality: str | None  # the deciding wording, as written
    verb_start: int | None  # char offset (in the measure text) of that wording
    verb_end: int | None


def _words(text: str, count: int, start: int = 0) -> list[re.Match[str]]:
    """The first ``count`` words of ``text`` from offset ``start``: the rules read a few words, and a measure can be
    a whole page long."""
    return list(islice(_WORD.finditer(text, start), count))


def _phrase_at(words: list[str], index: int, phrase: tuple[str, ...]) -> bool:
    return tuple(words[index : index + len(phrase)]) == phrase


_ASSIGNMENT = re.compile(r"\b(?:gi|gje|gis|be|bes)\b(?:\s+[^\s]+){1,6}?\s+(?:i oppdrag|om)\b", re.IGNORECASE)
_ARTICLES = frozenset({"en", "et", "ei", "ein", "eit", "den", "det", "de", "dei"})


def _investigation(text: str, after: int, rules: StrengthRules) -> StrengthVerdict | None:
    """The study a wrapping verb commits to ("gi … i oppdrag å utrede", "legge fram en vurdering"), if any, up to
    a coordinated second action ("legge fram X og vurdere Y" keeps the main verb)."""
    matches = _words(text, rules.wrapper_window, after)
    window = [m.group(0).lower() for m in matches]
    cut = next((i for i in range(1, len(window) - 1) if window[i] == "og" and
                any(p[0] == window[i + 1] for p, _s in rules.phrases)), len(window))
    for i in range(cut):
        for study in rules.investigation:
            if _phrase_at(window[:cut], i, study):
                start, end = matches[i].start(), matches[i + len(study) - 1].end()
                return StrengthVerdict(Strength.EXPLORATORY, text[start:end], start, end)
    return None


# A prose measure opens with who commits ("Regjeringen vil …", "HOD skal også …"): the action follows it. Both
# are used with ``match(text, offset)``, which anchors them at the offset (they have no "^" for that reason).
_FRONTED_CLAUSE = re.compile(r"(?:for å|for at|gjennom|med|ved å|når|hvis|dersom)\b[^.]{0,200}?,\s*(?:vil|skal)\s+"
                             r"(?:regjeringen|regjeringa|vi|departementet)\s+"
                             r"(?:(?:også|derfor|nå|no|dessuten|fortsatt|framleis)\s+)*", re.IGNORECASE)
_COMMITTING_SUBJECT = re.compile(r"(?=(?-i:[A-ZÆØÅ]))(?:[\wæøåÆØÅ-]+\s+){1,5}?"
                                 r"(?:vil|skal|tar sikte på å|tek sikte på å|foreslår|føreslår|gjer framlegg om)\s+"
                                 r"(?:(?:også|derfor|nå|no|dessuten|fortsatt|framleis)\s+)*", re.IGNORECASE)


def _action_start(text: str) -> int:
    """Where the action starts after the fronted clauses and committing subjects that open ``text`` ("For å …,
    vil regjeringen også | etablere …"), 0 when none does; never at the very end. A loop, not a recursion: "Regjeringen
    vil Regjeringen vil …" repeated must not run out of stack or copy the text at every step."""
    offset = 0
    while True:
        leads = (_FRONTED_CLAUSE.match(text, offset), _COMMITTING_SUBJECT.match(text, offset))
        lead = next((lead for lead in leads if lead and lead.end() < len(text)), None)
        if lead is None:
            return offset
        offset = lead.end()


# The author presents or proposes something concrete: "Regjeringen legger nå fram en handlingsplan …", "I dag legger
# vi fram …", "Departementet gjer framlegg om at …", "I tillegg foreslår regjeringen …". Searched in the opening
# words only (``_OPENING_CHARS``), so that a proposal quoted later in a long measure does not decide it.
_PRESENTING = re.compile(r"\b(?:legger|legg)\s+(?:(?:nå|no|derfor|også|i dag|vi|regjeringen|regjeringa)\s+){0,3}"
                         r"(?:fram|frem)\b", re.IGNORECASE)
_PROPOSING = re.compile(r"\b(?:foreslår|føreslår|foreslås|føreslås|gjer framlegg om|gjør framlegg om|"
                        r"fremmer forslag om|fremjar forslag om)\b", re.IGNORECASE)
_OPENING_CHARS = 80
# A decided quantity makes a directional or verbless measure concrete (the data card: budget decisions are binding):
# a sum in millions or billions with or without "kroner" ("15 millioner til …", "3 milliardar ekstra"), a
# percentage, or a target number after til/med/fra ("Heimevernet økes til 45.000", "fra én til tre brigader").
# A bare year ("til 2030") is no quantity.
_COUNT = (r"(?!(?:19|20)\d\d(?![\d.,]))\d{1,3}(?:[ \u00a0.]\d{3})+(?:,\d+)?|(?!(?:19|20)\d\d(?![\d.,]))\d+(?:,\d+)?|"
          r"én|éin|eitt|ett|to|tre|fire|fem|seks|sju|syv|åtte|ni|ti|tolv|femten|tjue|tretti|femti|hundre")
_DECIDED_QUANTITY = re.compile(
    rf"\b(?:{_COUNT})\s*(?:millioner|millionar|million|milliarder|milliardar|milliard|mill\.?|mrd\.?|prosent)"
    rf"(?![\wæøå])|\d\s*%|\b(?:til|med|fra|frå)\s+(?:over\s+|minst\s+|om lag\s+)?(?:{_COUNT})(?![\wæøå])",
    re.IGNORECASE)
# Verbs that, coordinated after a directional one, make the measure concrete ("styrke lokaldemokratiet og
# gjennomføre en kommunereform"); the all-purpose ones (gi, be, sende …) do not.
_WEAK_BINDING = frozenset({"gi", "gje", "be", "be om", "sende", "samle", "lage", "laga", "sikre at", "sikra at"})
_COORDINATION_WINDOW = 30
# A passive change to a tax, fee or grant is a budget decision ("Sukkeravgifta skal reduserast"), where the same
# verb about a state of things is direction ("Utsleppa skal reduserast").
_FISCAL_NOUN = re.compile(r"avgift|skatt|fradrag|sats|takst|budsjett|bevilgning|løyving|tilskudd|tilskot|"
                          r"egenandel|eigendel|gebyr", re.IGNORECASE)
_CHANGE_PASSIVE = re.compile(r"(?:reduser|øk|auk|senk|hev|halver|dobl|kutt|trapp)(?:es|ast)", re.IGNORECASE)
_PASSIVE_AUXILIARIES = frozenset({"skal", "vil", "bli", "blir"})


def _fiscal_passive(text: str) -> bool:
    """Word by word (no pattern over the whole text): a fiscal noun among the first four words, then at most the
    auxiliaries, then a passive change verb."""
    words = [m.group(0) for m in _words(text, 8)]
    for index, word in enumerate(words[:4]):
        if _FISCAL_NOUN.search(word):
            rest = words[index + 1:]
            while rest and rest[0].lower() in _PASSIVE_AUXILIARIES:
                rest = rest[1:]
            return bool(rest) and _CHANGE_PASSIVE.fullmatch(rest[0]) is not None
    return False


def _opening_proposal(text: str, rules: StrengthRules, verdict: StrengthVerdict) -> StrengthVerdict | None:
    """Binding when the measure opens by presenting or proposing something and no stronger wording decided before."""
    presenting = _PRESENTING.search(text, 0, _OPENING_CHARS)
    if presenting and (verdict.verb_start is None or presenting.start() <= verdict.verb_start) \
            and verdict.strength != Strength.EXPLORATORY:
        study = _investigation(text, presenting.end(), rules)
        return study or StrengthVerdict(Strength.BINDING, presenting.group(0), presenting.start(), presenting.end())
    proposing = _PROPOSING.search(text, 0, _OPENING_CHARS)
    if proposing and verdict.modality is None and verdict.strength == rules.default:
        return StrengthVerdict(Strength.BINDING, proposing.group(0), proposing.start(), proposing.end())
    return None


def _coordinated_binding(text: str, rules: StrengthRules, verdict: StrengthVerdict) -> StrengthVerdict | None:
    """A concrete action coordinated after a directional one ("Styrkje X og gjeninnføre Y")."""
    matches = _words(text, _COORDINATION_WINDOW, verdict.verb_end or 0)
    words = [m.group(0).lower() for m in matches]
    for index, word in enumerate(words[:-1]):
        if word != "og":
            continue
        for phrase, strength in rules.phrases:
            if _phrase_at(words, index + 1, phrase):
                if strength != Strength.BINDING or " ".join(phrase) in _WEAK_BINDING or phrase in rules.wrappers:
                    break
                start, end = matches[index + 1].start(), matches[index + len(phrase)].end()
                return StrengthVerdict(Strength.BINDING, text[start:end], start, end)
    return None


def assess_strength(text: str, rules: StrengthRules) -> StrengthVerdict:
    """The strength of one measure from its wording."""
    verdict = _assess_wording(text, rules)
    verdict = _opening_proposal(text, rules, verdict) or verdict
    if verdict.strength == Strength.INTENTION and verdict.verb_end is not None:
        verdict = _coordinated_binding(text, rules, verdict) or verdict
    if verdict.strength == Strength.INTENTION and verdict.verb_start is None and _fiscal_passive(text):
        return StrengthVerdict(Strength.BINDING, verdict.modality, None, None)
    if verdict.strength == Strength.INTENTION and (
            verdict.verb_start is None or tuple(verdict.modality.lower().split()) in rules.amount_binding) \
            and _DECIDED_QUANTITY.search(text):
        return StrengthVerdict(Strength.BINDING, verdict.modality, verdict.verb_start, verdict.verb_end)
    if (verdict.strength == Strength.INTENTION and verdict.verb_end is not None and verdict.modality
            and tuple(verdict.modality.lower().split()) in rules.deliverable_verbs):
        following = [m.group(0).lower() for m in _words(text, rules.deliverable_window, verdict.verb_end)]
        if any(word.endswith(rules.deliverables) for word in following):
            return StrengthVerdict(Strength.BINDING, verdict.modality, verdict.verb_start, verdict.verb_end)
    return verdict


def _assess_wording(text: str, rules: StrengthRules) -> StrengthVerdict:
    # "For å hindre …, vil regjeringen forby …", "HOD skal også …": the action after who commits decides.
    offset = _action_start(text)
    if offset:
        verdict = _assess_action(text[offset:], rules)
        if verdict.verb_start is None:
            return verdict
        return StrengthVerdict(verdict.strength, verdict.modality, verdict.verb_start + offset,
                               verdict.verb_end + offset)
    return _assess_action(text, rules)


def _assess_action(text: str, rules: StrengthRules) -> StrengthVerdict:
    # The words a phrase starting in the search window can reach.
    longest = max((len(phrase) for phrase in (*(p for p, _s in rules.phrases), *rules.wrappers)), default=0)
    matches = _words(text, rules.search_window + longest + 1)
    words = [m.group(0).lower() for m in matches]
    assignment = _ASSIGNMENT.match(text.lstrip())
    if assignment:  # "gi Forskningsrådet i oppdrag å …", "be Siva om …": binding unless it asks for a study
        offset = len(text) - len(text.lstrip())
        wrapper_end = offset + assignment.end()
        study = _investigation(text, wrapper_end, rules)
        if study:
            return study
        return StrengthVerdict(Strength.BINDING, text[offset:wrapper_end], offset, wrapper_end)
    for index in range(min(len(words), rules.search_window)):
        for phrase, strength in rules.phrases:
            if not _phrase_at(words, index, phrase):
                continue
            end = index + len(phrase)
            start_char, end_char = matches[index].start(), matches[end - 1].end()
            wraps = phrase in rules.wrappers or any(words[index: index + len(w)] == list(w) for w in rules.wrappers)
            if wraps and strength != Strength.EXPLORATORY:
                study = _investigation(text, end_char, rules)
                if study:
                    return study
            return StrengthVerdict(strength, text[start_char:end_char], start_char, end_char)
    first = 1 if len(words) > 1 and words[0] in _ARTICLES else 0
    if len(words) > first and words[first] in rules.verbless:
        return StrengthVerdict(rules.verbless[words[first]], matches[first].group(0), None, None)
    if len(words) > first:
        for ending, strength in rules.verbless_endings:
            if words[first].endswith(ending):
                return StrengthVerdict(strength, matches[first].group(0), None, None)
    return StrengthVerdict(rules.default, None, None, None)


def decided_by_amount(verdict: StrengthVerdict, amounts: list[Amount], rules: StrengthRules) -> StrengthVerdict:
    """A directional verb with a decided sum is a concrete action: "øke bevilgningen med 15 millioner kroner"."""
    if (verdict.strength == Strength.INTENTION and amounts and rules.amount_binding
            and (verdict.modality is None or tuple(verdict.modality.lower().split()) in rules.amount_binding)):
        return StrengthVerdict(Strength.BINDING, verdict.modality, verdict.verb_start, verdict.verb_end)
    return verdict


# ---- amounts ---------------------------------------------------------------------------------------------

_NUMBER_WORDS = {"en": 1, "ett": 1, "ein": 1, "eitt": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6,
                 "sju": 7, "syv": 7, "åtte": 8, "ni": 9, "ti": 10, "tolv": 12, "femten": 15, "tjue": 20,
                 "tretti": 30, "førti": 40, "femti": 50, "hundre": 100, "et hundre": 100}
_APPROXIMATE = {"ti-tall": 10, "titalls": 10, "tital": 10, "ti-talls": 10, "hundretalls": 100, "hundre-talls": 100,
                "flere": 2, "fleire": 2, "noen": 2, "nokre": 2}
_SCALES = {"mill.": 1e6, "mill": 1e6, "millioner": 1e6, "million": 1e6, "millionar": 1e6, "mnok": 1e6,
           "mrd.": 1e9, "mrd": 1e9, "milliarder": 1e9, "milliard": 1e9, "milliardar": 1e9, "tusen": 1e3,
           "tusener": 1e3}
_NUMBER = r"\d{1,3}(?:[ \u00a0.]\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
_WORD_NUMBER = "|".join(sorted(map(re.escape, {**_NUMBER_WORDS, **_APPROXIMATE}), key=len, reverse=True))
_SCALE = "|".join(sorted(map(re.escape, _SCALES), key=len, reverse=True))
AMOUNT = re.compile(
    rf"(?:(?P<nok_prefix>NOK|kr\.?)\s*)?(?P<number>{_NUMBER}|\b(?:{_WORD_NUMBER})\b)\s*(?:-\s*)?"
    rf"(?:(?P<scale>{_SCALE})(?![\wæøå])\s*)?(?P<currency>kroner|kr\b\.?|NOK\b)?",
    re.IGNORECASE,
)
# Matched where the words after an amount start (``_after_space``), with ``match(text, offset)``: no "^", which
# would not hold there, and no leading "\s*", which tried every position of a long run of spaces again.
_PERIOD = re.compile(r"(?:(?P<yearly>i året|per år|pr\.? år|årleg|årlig|kvart år|hvert år|i år(?:et)?\b)|"
                     r"over (?P<years>\w+) år|i (?P<year>20\d\d)|fra (?P<from>20\d\d))", re.IGNORECASE)
_YEAR_WORDS = {"to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "sju": 7, "syv": 7, "åtte": 8, "ti": 10}


def _after_space(text: str, offset: int) -> int:
    while offset < len(text) and text[offset].isspace():
        offset += 1
    return offset


def _number_value(raw: str) -> tuple[float | None, bool]:
    lowered = raw.lower()
    if lowered in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[lowered]), False
    if lowered in _APPROXIMATE:
        return float(_APPROXIMATE[lowered]), True
    digits = re.sub(r"[ \u00a0.]", "", raw).replace(",", ".")
    try:
        return float(digits), False
    except ValueError:
        return None, False


def find_amounts(text: str, base: int = 0, page: int | None = None) -> list[Amount]:
    """Sums of money in ``text`` (offsets shifted by ``base``), normalised to NOK."""
    amounts: list[Amount] = []
    for match in AMOUNT.finditer(text):
        scale_text, currency, prefix = match.group("scale"), match.group("currency"), match.group("nok_prefix")
        abbreviated = scale_text is not None and scale_text.lower() in {"mill.", "mrd.", "mnok"}
        if not (currency or prefix or abbreviated):
            continue
        if match.group("number").isalpha() and not (scale_text or prefix):
            continue  # "to kroner" is rare in policy text; "to" alone is a preposition
        value, approximate = _number_value(match.group("number"))
        if value is None:
            continue
        nok = value * (_SCALES[scale_text.lower()] if scale_text else 1.0)
        end = match.end()
        period = None
        year = None
        if period_match := _PERIOD.match(text, _after_space(text, end)):
            if period_match.group("yearly"):
                period = "per_year"
            elif years := period_match.group("years"):
                count = int(years) if years.isdigit() else _YEAR_WORDS.get(years.lower())
                period = f"over_{count}_years" if count else "multi_year"
            elif period_match.group("year") or period_match.group("from"):
                year = int(period_match.group("year") or period_match.group("from"))
                period = "from_year" if period_match.group("from") else "in_year"
            end = period_match.end()
        surface = text[match.start() : end].rstrip(" ,.;")
        amounts.append(Amount(text=surface, start=base + match.start(), end=base + match.start() + len(surface),
                              page=page, nok=nok, approximate=approximate, period=period, year=year))
    return amounts


# ---- deadlines -------------------------------------------------------------------------------------------

DEADLINE = re.compile(
    r"\b(?:(?P<by>(?:innen|innan)(?: utgangen av)?(?: år(?:et)?)?|seinast|senest|"
    r"før(?: utgangen av)?)|"
    r"(?P<during>i løpet av)|(?P<from>fra(?: og med)?|frå(?: og med)?|f\.o\.m\.)|"
    r"(?P<in>i|høsten|våren|hausten|sommeren|(?:ferdig\w* )?i))\s+(?P<year>(?:19|20)\d\d)\b",
    re.IGNORECASE,
)


def find_deadlines(text: str, base: int = 0, page: int | None = None) -> list[Deadline]:
    deadlines = []
    for match in DEADLINE.finditer(text):
        kind = next(name for name in ("by", "during", "from", "in") if match.group(name))
        deadlines.append(Deadline(text=match.group(0), start=base + match.start(), end=base + match.end(),
                                  page=page, year=int(match.group("year")), kind=kind))
    return deadlines
