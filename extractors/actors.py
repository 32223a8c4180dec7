"""Actors: organisations and public bodies named in a document, under canonical names, with every mention.

Two sources, merged: the project's gazetteer of Norwegian public bodies (``extractors/data/actors.yaml``:
canonical name, type, aliases, abbreviations, Nynorsk forms, former names) and the NER model's ORG/GPE_ORG
entities for everything the gazetteer does not know (companies, new bodies). People (PER entities, "statsråd
Ola Nordmann") are kept apart from organisations. A body that was renamed or merged maps to the name the text
uses, with its successor noted in the gazetteer.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from pipeline.io import parse_yaml
from pipeline.rule_patterns import check_rule, check_rules
from pipeline.schema import Actor, Measure, Mention

DEFAULT_GAZETTEER = Path(__file__).parent / "data" / "actors.yaml"
_LETTER = r"\wæøåÆØÅ"
# A name may carry a genitive s ("Innovasjon Norges") or head a hyphenated compound ("EU-programmene").
_SUFFIX = rf"(?:s(?![{_LETTER}])|-[{_LETTER}]+)?"
# GPE_ORG (a country or city acting, "Danmark har …") is a place, not an organisation (eval/GUIDELINES.md).
NER_ORG_LABELS = frozenset({"ORG"})
NER_PERSON_LABELS = frozenset({"PER"})
NER_PLACE_LABELS = frozenset({"GPE_LOC", "GPE_ORG", "LOC"})
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_ACRONYM_BEFORE = re.compile(r"(?<![\wæøåÆØÅ])[A-ZÆØÅ]{2,4} $")


class GazetteerError(ValueError):
    pass


@dataclass(frozen=True)
class GazetteerEntry:
    name: str
    type: str
    abbreviation: str | None
    successor: str | None


@dataclass
class Gazetteer:
    version: int
    entries: dict[str, GazetteerEntry]
    surface: dict[str, str]  # written form -> canonical name
    pattern: re.Pattern[str] = field(repr=False)
    name_patterns: tuple[tuple[re.Pattern[str], str], ...] = ()
    person: re.Pattern[str] | None = None
    not_actors: frozenset[str] = frozenset()
    document_words: frozenset[str] = frozenset()
    not_actor_endings: tuple[str, ...] = ()
    company_names: re.Pattern[str] | None = None
    company_word_set: frozenset[str] = frozenset()
    appositions: re.Pattern[str] | None = None
    apposition_types: dict[str, str] = field(default_factory=dict)
    plural_nouns: frozenset[str] = frozenset()
    party_letters: dict[str, str] = field(default_factory=dict)  # "H" -> "Høyre", read only in lists of parties
    generic: frozenset[str] = frozenset()  # "Statsforvalteren": one office, named in full elsewhere on the page
    organisation_suffixes: tuple[str, ...] = ()
    organisation_heads: frozenset[str] = frozenset()
    not_actor_first_words: frozenset[str] = frozenset()
    place_endings: tuple[str, ...] = ()
    place_names: frozenset[str] = frozenset()  # municipalities and counties by their bare names ("Harstad")

    def rejects(self, written: str) -> bool:
        """Whether a NER span is not an organisation: a known non-actor, a cut-off compound ("Den norske
        helse-"), or the title of a document or scheme ("Veikartet for helsenæringen")."""
        words = written.split()
        last = words[-1].lower() if words else ""
        # "Det norske markedet": a determiner and common words, not a name.
        determined = len(words) > 1 and words[0] in ("Det", "Den", "De") and all(w.islower() for w in words[1:])
        return (not words or determined or written.lower() in self.not_actors or written.endswith("-")
                or words[0].lower() in self.document_words
                or any(last.endswith(word) for word in self.document_words if len(word) > 5)
                or last.endswith(self.not_actor_endings))

    def canonical(self, written: str) -> str | None:
        return self.surface.get(written) or self.surface.get(_strip_suffix(written))


def _strip_suffix(written: str) -> str:
    if "-" in written and not written.endswith("-"):
        head = written.rsplit("-", 1)[0]
        return head
    return written[:-1] if written.endswith("s") else written


@cache
def load_gazetteer(path: Path = DEFAULT_GAZETTEER) -> Gazetteer:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise GazetteerError(f"{path}: cannot read the actor gazetteer: {exc}") from exc
    types = set(data.get("types", {}))
    entries: dict[str, GazetteerEntry] = {}
    surface: dict[str, str] = {}
    try:
        listed = [*(data.get("actors") or []), *_regional_entries(data)]
    except (AttributeError, TypeError, KeyError) as exc:
        raise GazetteerError(f"{path}: the counties, county_governors or municipalities lists are malformed: {exc}"
                             ) from exc
    generic: set[str] = set()
    for raw in listed:
        name, kind = raw.get("name"), raw.get("type")
        if not name or kind not in types:
            raise GazetteerError(f"{path}: actor {name!r} needs a name and one of the types {sorted(types)}")
        abbreviations = [a for a in raw.get("abbreviations") or [] if a]
        entries[name] = GazetteerEntry(name, kind, abbreviations[0] if abbreviations else None,
                                       raw.get("successor"))
        if raw.get("generic"):
            generic.add(name)
        for form in [name, *abbreviations, *(raw.get("aliases") or []), *(raw.get("nynorsk") or []),
                     *(raw.get("former_names") or [])]:
            form = " ".join(str(form).split())
            if form and surface.setdefault(form, name) != name:
                raise GazetteerError(f"{path}: {form!r} is given for both {surface[form]!r} and {name!r}")
    alternatives = _trie_alternation(surface)
    pattern = re.compile(rf"(?<![{_LETTER}-])(?P<name>{alternatives}){_SUFFIX}(?![{_LETTER}])")
    name_patterns = []
    for index, item in enumerate(data.get("patterns") or []):
        if item.get("type") not in types:
            raise GazetteerError(f"{path}: pattern {item.get('regex')!r} needs one of the types {sorted(types)}")
        check_rule(str(item.get("regex")), path, f"patterns[{index}]")
        canonical = item.get("canonical")
        if canonical is not None and canonical not in entries:
            raise GazetteerError(f"{path}: pattern {item.get('regex')!r} names {canonical!r}, which is not an entry")
        name_patterns.append((re.compile(rf"(?<![{_LETTER}-])(?P<name>{item['regex']})s?(?![{_LETTER}])"),
                              canonical or item["type"]))
    titles = "|".join(check_rules(data.get("person_titles"), path, "person_titles", re.IGNORECASE))
    # Titles in any case ("Næringsminister", "næringsminister"); the name itself must be capitalised.
    person = re.compile(rf"\b(?i:{titles})\s+(?P<name>[A-ZÆØÅ][{_LETTER}-]+(?:\s+[A-ZÆØÅ][{_LETTER}-]+){{1,3}})"
                        ) if titles else None
    company_names, appositions, apposition_types = _company_patterns(data, types, path)
    company_words = frozenset(data.get("company_words") or [])
    letters = {str(k): v for k, v in (data.get("party_letters") or {}).items()}
    for letter, party in letters.items():
        if party not in entries:
            raise GazetteerError(f"{path}: party_letters {letter!r} names {party!r}, which is not an entry")
    return Gazetteer(int(data.get("version", 1)), entries, surface, pattern, tuple(name_patterns), person,
                     frozenset(w.lower() for w in [*(data.get("not_actors") or []),
                                                   *(data.get("technology_acronyms") or [])]),
                     frozenset(w.lower() for w in data.get("document_words") or []),
                     tuple(w.lower() for w in data.get("not_actor_endings") or []),
                     company_names, company_words, appositions, apposition_types,
                     frozenset(data.get("plural_nouns") or []),
                     party_letters=letters, generic=frozenset(generic),
                     organisation_suffixes=tuple(w.lower() for w in data.get("organisation_suffixes") or []),
                     organisation_heads=frozenset(w.lower() for w in data.get("organisation_heads") or []),
                     not_actor_first_words=frozenset(data.get("not_actor_first_words") or []),
                     place_endings=tuple(w.lower() for w in data.get("place_endings") or []),
                     place_names=frozenset(_place_names(data)))


def _place_names(data: dict) -> set[str]:
    counties = data.get("counties") or {}
    return {*(counties.get("current") or []), *(counties.get("former") or {}),
            *(name for names in (data.get("municipalities") or {}).values() for name in names),
            *(data.get("former_municipalities") or {})}


def _trie_alternation(forms: Iterable[str]) -> str:
    """One regular expression for a set of literal strings, factorised by common prefixes ("EU", "EU-domstolen",
    "EUs" share "EU"): the engine walks the prefix tree instead of trying every form at every offset (a flat
    alternation of two thousand names took seconds on a long text). Longer forms are tried first."""
    trie: dict = {}
    for form in forms:
        node = trie
        for char in form:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return "(?:" + body + ")?"
        return body

    return build(trie)


def _regional_entries(data: dict) -> list[dict]:
    """The entries of the compact regional lists: county authorities ("Vestland fylkeskommune"), county governors
    ("Statsforvalteren i Vestland", earlier "Fylkesmannen i …"), municipalities ("Luster kommune") and the former
    ones of each, with ``successor`` the body of the reference date that took over."""
    out: list[dict] = []
    counties = data.get("counties") or {}
    other = counties.get("other_names") or {}
    for county in counties.get("current") or []:
        out.append({"name": f"{county} fylkeskommune", "type": "county", "aliases": other.get(county) or []})
    for county, successor in (counties.get("former") or {}).items():
        out.append({"name": f"{county} fylkeskommune", "type": "county", "successor": f"{successor} fylkeskommune"})
    governors = data.get("county_governors") or {}
    for office in governors.get("current") or []:
        out.append({"name": f"Statsforvalteren i {office}", "type": "county_governor",
                    "nynorsk": [f"Statsforvaltaren i {office}"]})
    former_offices = governors.get("former") or {}
    for office in [*(governors.get("current") or []), *former_offices]:
        successor = former_offices.get(office, office)
        if office in (governors.get("former_statsforvalter") or []):  # "Statsforvalteren i Oslo og Viken" (2021–23)
            out.append({"name": f"Statsforvalteren i {office}", "type": "county_governor",
                        "nynorsk": [f"Statsforvaltaren i {office}"], "successor": f"Statsforvalteren i {successor}"})
        out.append({"name": f"Fylkesmannen i {office}", "type": "county_governor",
                    "successor": f"Statsforvalteren i {successor}"})
    out.append({"name": "Statsforvalteren", "type": "county_governor", "nynorsk": ["Statsforvaltaren"],
                "generic": True})
    out.append({"name": "Fylkesmannen", "type": "county_governor", "successor": "Statsforvalteren", "generic": True})
    other = data.get("municipality_other_names") or {}
    current = {name for names in (data.get("municipalities") or {}).values() for name in names}
    for name in sorted(current):
        out.append({"name": f"{name} kommune", "type": "municipality", "aliases": other.get(name) or []})
    for name, successor in (data.get("former_municipalities") or {}).items():
        if name not in current:
            out.append({"name": f"{name} kommune", "type": "municipality", "successor": f"{successor} kommune"})
    return out


# A capitalised name word: "Nykode", "GE", "Boston", "3M", "B&W", "Bayer-konsernet" is not one (lower-case part).
_NAME_WORD = rf"[A-ZÆØÅ0-9][{_LETTER}&/]*"
_NAME = rf"{_NAME_WORD}(?:[ ]{_NAME_WORD}){{0,3}}"


def _company_patterns(data: dict, types: set[str], path: Path):
    """The two general company rules of the gazetteer: names ending in a company word, and names in apposition
    after an organisation noun (see ``company_words`` and ``organisation_nouns`` in actors.yaml)."""
    words = data.get("company_words") or []
    company_names = re.compile(
        rf"(?<![{_LETTER}&/-])(?P<name>(?:{_NAME_WORD}[ ]){{1,3}}(?:{'|'.join(map(re.escape, words))}))"
        rf"(?:s|')?(?![{_LETTER}&/-])") if words else None
    nouns: dict[str, str] = {}
    for kind, listed in (data.get("organisation_nouns") or {}).items():
        if kind not in types:
            raise GazetteerError(f"{path}: organisation_nouns type {kind!r} is not one of {sorted(types)}")
        nouns.update({noun: kind for noun in listed})
    heads = "|".join(map(re.escape, sorted(nouns, key=len, reverse=True)))
    appositions = re.compile(
        rf"(?<![{_LETTER}-])(?P<noun>[A-ZÆØÅ]?[a-zæøå-]*?(?P<head>(?i:{heads})))"
        rf" (?P<names>{_NAME}(?:(?:, | og ){_NAME})*)") if nouns else None
    return company_names, appositions, nouns


@dataclass
class _Found:
    name: str
    type: str
    source: str
    abbreviation: str | None = None
    mentions: list[Mention] = field(default_factory=list)


def _page(pages, offset: int) -> int | None:
    return pages(offset) if pages else None


class _Taken:
    """The characters of a text that mentions already hold. Asking whether a span overlaps one costs the span's
    length, not the number of mentions (comparing with every mention so far was quadratic in long documents)."""

    def __init__(self, length: int) -> None:
        self._marks = bytearray(length + 1)

    def overlaps(self, start: int, end: int) -> bool:
        return 1 in self._marks[start:end]

    def add(self, start: int, end: int) -> None:
        self._marks[start:end] = b"\x01" * (end - start)


_LETTER_RUN = re.compile(rf"[{_LETTER}]+")


class _TextWords:
    """What the name rules ask of the whole text, answered from one pass over it instead of a search per name."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = frozenset(_LETTER_RUN.findall(text))
        self._standing: dict[str, bool] = {}
        self._before_lower: dict[str, bool] = {}

    def stands(self, form: str) -> bool:
        """Whether ``form`` occurs in the text between non-letters."""
        if _LETTER_RUN.fullmatch(form):
            return form in self.words
        if form not in self._standing:
            self._standing[form] = bool(re.search(rf"(?<![{_LETTER}]){re.escape(form)}(?![{_LETTER}])", self.text))
        return self._standing[form]

    def before_lower_case_word(self, form: str) -> bool:
        """Whether ``form`` occurs, after a non-letter, followed by a space and a lower-case letter."""
        if form not in self._before_lower:
            self._before_lower[form] = bool(re.search(rf"(?<![{_LETTER}]){re.escape(form)} [a-zæøå]", self.text))
        return self._before_lower[form]


def find_actors(text: str, gazetteer: Gazetteer, entities: Iterable[tuple[int, int, str]] = (),
                page_at=None) -> tuple[list[Actor], list[Actor]]:
    """Organisations and persons in ``text``: (actors, persons), each with all its mentions in text order.

    ``entities`` are NER spans (start, end, label) from the spaCy Doc; gazetteer matches win where they overlap.
    """
    found: dict[str, _Found] = {}
    words = _TextWords(text)
    # Web addresses name sites, not actors ("https://www.regjeringen.no/…").
    covered, urls = _Taken(len(text)), _Taken(len(text))
    for match in _URL.finditer(text):
        covered.add(match.start(), match.end())
        urls.add(match.start(), match.end())
    for match in gazetteer.pattern.finditer(text):
        if urls.overlaps(match.start(), match.start() + 1):
            continue
        canonical = gazetteer.surface[match.group("name")]
        entry = gazetteer.entries[canonical]
        actor = found.setdefault(canonical, _Found(canonical, entry.type, "gazetteer", entry.abbreviation))
        start, end = match.start(), match.end()
        actor.mentions.append(Mention(start=start, end=end, page=_page(page_at, start), text=text[start:end]))
        covered.add(start, end)
    for start, end, canonical in _party_letter_mentions(text, gazetteer, covered):
        entry = gazetteer.entries[canonical]
        actor = found.setdefault(canonical, _Found(canonical, entry.type, "gazetteer", entry.abbreviation))
        actor.mentions.append(Mention(start=start, end=end, page=_page(page_at, start), text=text[start:end]))
        covered.add(start, end)
    for name_pattern, kind in gazetteer.name_patterns:
        for match in name_pattern.finditer(text):
            start, end = match.start(), match.end()
            if covered.overlaps(start, end):
                continue
            name = match.group("name")
            if gazetteer.rejects(name):  # a council's own organs ("Fylkesutvalet") are not actors of their own
                continue
            if kind in gazetteer.entries:  # a pattern for a known body ("Solberg-regjeringen" is Regjeringen)
                entry = gazetteer.entries[kind]
                actor = found.setdefault(kind, _Found(kind, entry.type, "gazetteer", entry.abbreviation))
            else:
                actor = found.setdefault(name, _Found(name, kind, "pattern"))
            actor.mentions.append(Mention(start=start, end=end, page=_page(page_at, start), text=text[start:end]))
            covered.add(start, end)
    persons = _titled_persons(text, gazetteer, page_at)
    person_spans = _Taken(len(text))
    for person in persons.values():
        for mention in person.mentions:
            person_spans.add(mention.start, mention.end)
    places = _Taken(len(text))
    for start, end, label in entities:
        if label in NER_PLACE_LABELS:
            places.add(start, end)
    for start, end, name, kind in _company_mentions(text, gazetteer, places, words):
        if covered.overlaps(start, end) or person_spans.overlaps(start, end):
            continue
        actor = found.setdefault(name, _Found(name, kind, "pattern"))
        actor.mentions.append(Mention(start=start, end=end, page=_page(page_at, start), text=text[start:end]))
        covered.add(start, end)
    for start, end, label in entities:
        if covered.overlaps(start, end):
            continue
        # "GE Healthcare": the model often leaves out a leading acronym (read from just before the entity).
        if label in NER_ORG_LABELS and (acronym := _ACRONYM_BEFORE.search(text, max(0, start - 5), start)):
            start = acronym.start()
        written = text[start:end].strip(" .,;:«»\"'")
        if not written or not written[:1].isupper() or _common_noun(written, words):
            continue
        if label in NER_ORG_LABELS and (gazetteer.rejects(written) or person_spans.overlaps(start, end)):
            continue  # a document or scheme ("Katapultordningen"), or a person the model took for an organisation
        if label in NER_ORG_LABELS and _GOVERNMENT_NUMBER.fullmatch(written) and "Regjeringen" in gazetteer.entries:
            written = "Regjeringen"  # "Stoltenberg II": a government by its prime minister's name and number
        elif label in NER_ORG_LABELS and not gazetteer.canonical(written) \
                and not _looks_like_organisation(written, text, gazetteer):
            continue
        if label in NER_ORG_LABELS:
            canonical = gazetteer.canonical(written) or _strip_genitive(written, words)
            if canonical not in gazetteer.entries and gazetteer.rejects(canonical):
                continue  # "Noregs": a known non-actor with a genitive s
            entry = gazetteer.entries.get(canonical)
            actor = found.setdefault(canonical, _Found(canonical, entry.type if entry else "organisation",
                                                       "gazetteer" if entry else "ner",
                                                       entry.abbreviation if entry else None))
        elif label in NER_PERSON_LABELS:
            if person_spans.overlaps(start, end) or gazetteer.rejects(written):
                continue
            name = _strip_genitive(written, words)
            actor = persons.setdefault(name, _Found(name, "person", "ner"))
        else:
            continue
        actor.mentions.append(Mention(start=start, end=end, page=_page(page_at, start), text=text[start:end]))

    _merge_generic(found, gazetteer)
    for name in [n for n in persons if " " not in n]:
        # "Bjørgum" after "Tarje Bjørgum": the surname of a person named in full is that person.
        full = [other for other in persons if " " in other and other.split()[-1] == name]
        if len(full) == 1:
            persons[full[0]].mentions.extend(persons.pop(name).mentions)
    for name in set(found) & set(persons):
        # One name, one referent in a document: a company the model also tagged as a person elsewhere.
        found[name].mentions.extend(persons.pop(name).mentions)

    def build(items: dict[str, _Found]) -> list[Actor]:
        ordered = sorted(items.values(), key=lambda a: min(m.start for m in a.mentions))
        return [Actor(name=a.name, type=a.type, source=a.source, abbreviation=a.abbreviation,
                      mentions=sorted(a.mentions, key=lambda m: m.start)) for a in ordered]

    return build(found), build(persons)


_GOVERNMENT_NUMBER = re.compile(r"[A-ZÆØÅ][a-zæøå]+(?:-[A-ZÆØÅ][a-zæøå]+)? I{1,3}")
_ACRONYM = re.compile(r"[A-ZÆØÅ0-9][A-ZÆØÅa-zæøå0-9&-]*")
_TITLE_ENDINGS = ("minister", "ministeren", "statsråd", "statsråden", "direktør", "direktøren", "ordfører")


def _is_acronym(word: str) -> bool:
    """"NTNU", "IMDi", "HK-dir": at least two capitals and no run of three lower-case letters after them."""
    capitals = sum(c.isupper() for c in word)
    return capitals >= 2 and not re.search(r"[a-zæøå]{4}", word) and bool(_ACRONYM.fullmatch(word))


_SPELLED_OUT_WORD = re.compile(r"[^\s()]{1,40}")
_SPELLED_OUT_INSIDE = re.compile(r"[^()]{3,120}\)")


def _spelled_out_candidates(acronym: str, text: str) -> Iterator[str]:
    """The words around each place the text may spell the acronym out: up to eight words (single spaces, no
    brackets) right before "(ACRONYM)", and the bracket after "ACRONYM (" (3–120 characters). Found with
    ``str.find``, not a regular expression tried at every position: a 419-page document has a million characters
    and hundreds of acronyms."""
    marker = f"({acronym})"
    index = text.find(marker)
    while index != -1:
        words: list[str] = []
        end = index
        while len(words) < 8 and end > 0 and text[end - 1] == " ":
            start = end - 1
            while start > 0 and end - 1 - start < 40 and not text[start - 1].isspace() and text[start - 1] not in "()":
                start -= 1
            if not _SPELLED_OUT_WORD.fullmatch(text[start:end - 1]):
                break
            words.append(text[start:end - 1])
            end = start
        if words:
            yield " ".join(reversed(words))
        index = text.find(marker, index + 1)
    opening = f"{acronym} ("
    index = text.find(opening)
    while index != -1:
        before = text[index - 1] if index else ""
        inside = _SPELLED_OUT_INSIDE.match(text, index + len(opening))
        if inside and not (before and (before.isalnum() or before == "_")):
            yield inside.group()[:-1]
        index = text.find(opening, index + 1)


def _defined(acronym: str, text: str, gazetteer: Gazetteer) -> bool:
    """Whether the text spells the acronym out as an organisation's name: "Kystens tankesmie (KT)", "NCSC (National
    Cyber Security Centre)"; not a technology's ("Global Navigation Satellite System (GNSS)")."""
    for candidate in _spelled_out_candidates(acronym, text):
        for word in candidate.lower().split():
            word = word.strip(",.")
            if word.endswith(gazetteer.organisation_suffixes) or word in gazetteer.organisation_heads:
                return True
    return False


def _looks_like_organisation(written: str, text: str, gazetteer: Gazetteer) -> bool:
    """Whether a span the NER model tags ORG, unknown to the gazetteer, has the shape of an organisation's name.

    Not: heading words in capitals ("KJØNN", "FOR BUDSJETTÅRET"), acronyms the text never spells out ("VPN",
    "LTP"), one common word ("Kartlegg", "Visjon", "Groruddalen"), titles ("Næringsminister"), numbered things
    ("Bolk 2", "Storgata 5"), or lower-case phrases ("Strategisk plan"). Yes: one word with an organisation's
    ending ("Kvotedirektoratet"), capitalised words ("Kluge Advokatfirma"), a phrase around an organisation
    noun ("Nasjonalt senter for flerkulturell opplæring"), an acronym the text defines."""
    words = written.split()
    if not words or words[0] in gazetteer.not_actor_first_words or any(c.isdigit() for c in written):
        return False  # a street address, a numbered part or a year: "Storgata 5", "Bolk 2", "Plan 2019-2020"
    if words[-1].lower().endswith(_TITLE_ENDINGS) or words[-1].lower().endswith(gazetteer.place_endings):
        return False  # a title ("Næringsminister") or a place ("Groruddalen", "Vestfoldbanen")
    letters = [c for c in written if c.isalpha()]
    if written in gazetteer.place_names:
        return False  # "Harstad": a municipality's or county's name is the place; its authority is "… kommune"
    if len(words) == 1:
        word = words[0]
        if _is_acronym(word):
            return _defined(word, text, gazetteer)
        return word.lower().endswith(gazetteer.organisation_suffixes) or _named_mid_sentence(word, text)
    if all(c.isupper() for c in letters) or any(len(w) >= 5 and w.isupper() for w in words):
        return False  # a heading line in capitals ("FOR DISPENSASJONSBEHANDLING Boligformål")
    if all(w[:1].isupper() for w in words):
        return True
    return any(w.lower().strip(",.") in gazetteer.organisation_heads for w in words[1:])


def _named_mid_sentence(word: str, text: str) -> bool:
    """Whether the text writes ``word`` capitalised inside a sentence, after a lower-case word ("… selskapet
    Regeneron og …"): Norwegian capitalises names there, not common nouns; a word seen only at the start of a
    line or sentence ("Visjon", "Kartlegg") may be a heading or an imperative."""
    return bool(re.search(rf"[a-zæøå] {re.escape(word)}(?![{_LETTER}])", text))


def _party_letter_mentions(text: str, gazetteer: Gazetteer, covered: _Taken) -> list[tuple[int, int, str]]:
    """(start, end, party) of one-letter party abbreviations in a list of party abbreviations ("Ap, H og Sp",
    "H, FrP, KrF og V") or alone in brackets ("(H)"); free-standing "H" or "V" is never read as a party."""
    if not gazetteer.party_letters:
        return []
    abbreviations = {form for form, name in gazetteer.surface.items()
                     if gazetteer.entries[name].type == "political_party" and len(form) <= 4 and form[:1].isupper()}
    tokens = "|".join(re.escape(t) for t in sorted(abbreviations | set(gazetteer.party_letters), key=len,
                                                     reverse=True))
    token = rf"(?<![{_LETTER}-])(?:{tokens})(?![{_LETTER}-])"
    run = re.compile(rf"{token}(?:(?:, ?| og | \+ ?|/| ?- ?){token}){{1,10}}+|\((?:{tokens})\)")
    named = re.search(rf"(?<![{_LETTER}-])(?:{'|'.join(map(re.escape, sorted(abbreviations, key=len, reverse=True)))})"
                      rf"(?![{_LETTER}-])", text) if abbreviations else None
    out = []
    for match in run.finditer(text):
        parts = list(re.finditer(token, match.group(0)))
        if named is None or (not match.group(0).startswith("(")
                             and all(p.group(0) in gazetteer.party_letters for p in parts)):
            continue  # "H og V" in a zoning plan: letters alone, with no party named, are not parties
        for part in parts:
            start, end = match.start() + part.start(), match.start() + part.end()
            if part.group(0) in gazetteer.party_letters and not covered.overlaps(start, end):
                out.append((start, end, gazetteer.party_letters[part.group(0)]))
    return out


def _merge_generic(found: dict[str, _Found], gazetteer: Gazetteer) -> None:
    """"Statsforvalteren" on a page that names one office ("Statsforvalteren i Vestland") is that office."""
    for name in [n for n in found if n in gazetteer.generic]:
        kind = found[name].type
        specific = [other for other in found if other != name and other not in gazetteer.generic
                    and found[other].type == kind]
        if len(specific) == 1:
            found[specific[0]].mentions.extend(found.pop(name).mentions)


def _company_mentions(text: str, gazetteer: Gazetteer, places: _Taken, text_words: _TextWords
                      ) -> list[tuple[int, int, str, str]]:
    """(start, end, name, type) of companies and organisations found by the gazetteer's general rules: a name
    ending in a company word, a name in apposition after an organisation noun (unless the NER model reads it as
    a place: "produsentene Kina og India"), and every later mention of those names, also without their company
    word ("Nykode Therapeutics" … "Nykode er notert")."""
    candidates: list[tuple[str, str]] = []  # (written name, type)
    if gazetteer.appositions is not None:
        for match in gazetteer.appositions.finditer(text):
            head = match.group("head").lower()  # "Selskapet X" at a sentence start
            kind = gazetteer.apposition_types[head]
            plural = head.endswith(("ene", "ane")) or head in gazetteer.plural_nouns
            for part in re.finditer(_NAME, match.group("names")):
                name, start = part.group(0), match.start("names") + part.start()
                if places.overlaps(start, start + len(name)):
                    if not plural:
                        break
                    continue
                if name.endswith("s") and text_words.stands(name[:-1]):
                    name = name[:-1]  # "selskapet Nykodes fabrikk", when the text also writes "Nykode"
                candidates.append((name, kind))
                if not plural:
                    break
    if gazetteer.company_names is not None:
        for match in gazetteer.company_names.finditer(text):
            start, name = match.start("name"), match.group("name")
            words = name.split(" ")
            # "I Nykode Therapeutics …", "Konsernet Orkla ASA …": a capitalised first word of a sentence.
            while len(words) > 1 and _sentence_start(text, start) and (
                    words[0].lower() in _stop_words() or words[0].lower().endswith(tuple(gazetteer.apposition_types))):
                start += len(words[0]) + 1
                words = words[1:]
            if len(words) > 1:
                candidates.append((" ".join(words), "company"))
    names: dict[str, tuple[str, str]] = {}
    for name, kind in candidates:
        if name in gazetteer.surface or gazetteer.rejects(name) or _common_noun(name, text_words):
            continue
        names.setdefault(name, (name, kind))
        *rest, last = name.split(" ")
        short = " ".join(rest)
        if last in gazetteer.company_word_set and len(short) >= 3 and short.lower() not in _stop_words() \
                and not _common_noun(short, text_words) and short not in gazetteer.surface:
            names.setdefault(short, (name, kind))
    mentions = []
    taken = _Taken(len(text))
    for written in sorted(names, key=len, reverse=True):
        name, kind = names[written]
        for match in re.finditer(rf"(?<![{_LETTER}&/-]){re.escape(written)}(?:s|')?(?![{_LETTER}&/-])", text):
            if not taken.overlaps(match.start(), match.end()):
                mentions.append((match.start(), match.end(), name, kind))
                taken.add(match.start(), match.end())
    return sorted(mentions)


def _sentence_start(text: str, offset: int) -> bool:
    end = offset  # reads back over spaces only, not the whole text before the offset
    while end and text[end - 1] == " ":
        end -= 1
    return not end or text[end - 1] in ".!?:\n–-«\"•"


@cache
def _stop_words() -> frozenset[str]:
    from spacy.lang.nb.stop_words import STOP_WORDS
    return frozenset(STOP_WORDS)


def _common_noun(written: str, words: _TextWords) -> bool:
    """A one-word name the text also writes in lower case is a common noun capitalised at a sentence or list
    start ("Helsenæringen", "Handlingsplanen", "Kommunane"), not a name."""
    return " " not in written and words.stands(written[:1].lower() + written[1:])


def _titled_persons(text: str, gazetteer: Gazetteer, page_at) -> dict[str, _Found]:
    """People named with a title ("næringsminister Ola Nordmann"), and later mentions of their surname."""
    persons: dict[str, _Found] = {}
    if gazetteer.person is None:
        return persons
    for match in gazetteer.person.finditer(text):
        name = match.group("name")
        if not all(part[:1].isupper() for part in name.split()) or name in gazetteer.surface:
            continue
        person = persons.setdefault(name, _Found(name, "person", "pattern"))
        start, end = match.start("name"), match.end("name")
        person.mentions.append(Mention(start=start, end=end, page=_page(page_at, start), text=name))
    for name, person in persons.items():
        surname = name.split()[-1]
        taken = {(m.start, m.end) for m in person.mentions}
        for match in re.finditer(rf"(?<![{_LETTER}]){re.escape(surname)}s?(?![{_LETTER}])", text):
            if not any(s <= match.start() < e for s, e in taken):
                person.mentions.append(Mention(start=match.start(), end=match.end(),
                                               page=_page(page_at, match.start()), text=match.group(0)))
    return persons


def _strip_genitive(name: str, words: _TextWords) -> str:
    """The name without a genitive ending ("Roches fabrikk" → "Roche", "Nykode Therapeutics'" → "Nykode
    Therapeutics"): when the text also writes it without one, or a lower-case noun follows it, as a Norwegian
    genitive needs. Names that end in s themselves stay whole."""
    if name.endswith("'"):
        return name[:-1]
    if name.endswith("s") and len(name) > 3:
        bare = name[:-1]
        if words.stands(bare) or words.before_lower_case_word(name):
            return bare
    return name


class MentionIndex:
    """The actors' mentions in text order, so that the mentions in a span are found by bisection instead of by a
    scan of every mention for every measure (quadratic in long documents)."""

    def __init__(self, actors: list[Actor]) -> None:
        # (start, actor's rank, end, name): in text order, and at one offset in the order of ``actors``.
        self._mentions = sorted((m.start, rank, m.end, actor.name)
                                for rank, actor in enumerate(actors) for m in actor.mentions)
        self._starts = [mention[0] for mention in self._mentions]
        self.opening: dict[int, str] = {}  # offset -> the first actor with a mention starting there
        for start, _rank, _end, name in self._mentions:
            self.opening.setdefault(start, name)
        self.written: dict[str, set[str]] = defaultdict(set)  # name -> how its mentions are written
        for actor in actors:
            self.written[actor.name].update(m.text for m in actor.mentions)

    def _from(self, start: int, end: int):
        """The mentions that start in ``start:end``, in text order."""
        index = bisect.bisect_left(self._starts, start)
        while index < len(self._mentions) and self._mentions[index][0] < end:
            yield self._mentions[index]
            index += 1

    def in_span(self, start: int, end: int) -> list[str]:
        """Canonical names of the actors mentioned inside ``start:end``, in order of first mention there."""
        names: dict[str, None] = {}
        for _start, _rank, mention_end, name in self._from(start, end):
            if mention_end <= end:
                names.setdefault(name)
        return list(names)

    def first_after(self, start: int, end: int) -> str | None:
        """The actor mentioned inside ``start:end`` whose first mention from ``start`` on comes first."""
        inside = {name for _start, _rank, mention_end, name in self._from(start, end) if mention_end <= end}
        return next((name for _start, _rank, _end, name in self._from(start, end) if name in inside), None)


def actors_in_span(actors: list[Actor], start: int, end: int) -> list[str]:
    """Canonical names of the actors mentioned inside ``start:end``, in order of first mention there."""
    firsts: dict[str, int] = {}
    for actor in actors:
        inside = [m.start for m in actor.mentions if start <= m.start and m.end <= end]
        if inside:
            firsts[actor.name] = min(inside)
    return sorted(firsts, key=firsts.__getitem__)


def attach_actors(measures: list[Measure], actors: list[Actor] | MentionIndex) -> None:
    index = actors if isinstance(actors, MentionIndex) else MentionIndex(actors)
    for measure in measures:
        measure.actors = index.in_span(measure.start, measure.end)


def mention_index(actors: list[Actor]) -> dict[str, list[tuple[int, int]]]:
    index: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for actor in actors:
        index[actor.name].extend((m.start, m.end) for m in actor.mentions)
    return index
