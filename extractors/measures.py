"""Measures (tiltak) from document structure: the items of a list that a government intro line introduces.

A list holds measures when the line right before it commits the author to them: a paragraph ending with ":"
whose last sentence says "vil regjeringen:", "Regjeringa vil:", "Komiteen ber regjeringen:" and so on, or a
heading that names the list as measures ("Tolv utvalgte tiltak fra veikartet", "Tiltak"). Lists introduced by
goals, wishes or areas ("Komiteen ønsker …", "innsatsområder") are not. The patterns live in
``extractors/data/list_intros.yaml``.

Span rule (eval/GUIDELINES.md): the whole item without its marker, final period dropped.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import yaml

from pipeline.reading.structure import is_contents_line
from pipeline.rule_patterns import check_rules, compile_rule
from pipeline.schema import Block, BlockKind, Measure

METHOD_LIST_UNDER_INTRO = "list_under_intro"

# The last sentence of an intro paragraph is the one that introduces the list ("… områder. For å … vil
# regjeringen:"); earlier sentences may say anything ("Regjeringen mener …").
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\s»”\"']+(?=[«„\"A-ZÆØÅ0-9])")
# What may trail a list item without belonging to the measure: punctuation and a dangling conjunction ("… og").
# Matched with ``match`` on the reversed item, so it reads only the trailing run, once: searched for with "…$"
# from every offset, the nested form "(?:[\s.;,:]+|\s+(?:og|eller|samt)\b)+$" backtracked exponentially on the
# dotted leader of a table of contents ("1. juli 2026 ……… 12" never returned). Reversed, "og" must follow
# whitespace (``(?=\s)``) and end a word (``(?<!\w)``); each character has one reading, so ``*+`` gives nothing up.
_TRAILING_REVERSED = re.compile(r"(?:[\s.;,:]|(?<!\w)(?:go|relle|tmas)(?=\s))*+")


class StructuredText(Protocol):
    """What the extractor needs from a structured document (see pipeline.reading.structure)."""

    text: str
    blocks: list[Block]

    def block_by_id(self, block_id: str) -> Block: ...

    def section_path(self, block: Block) -> list[str]: ...


@dataclass(frozen=True)
class ListIntroRules:
    version: int
    commitment_intros: tuple[re.Pattern[str], ...]
    measure_headings: tuple[re.Pattern[str], ...]
    not_commitments: tuple[re.Pattern[str], ...]
    pronoun_intros: tuple[re.Pattern[str], ...] = ()
    not_measure_items: tuple[re.Pattern[str], ...] = ()

    def introduces_measures(self, intro: Block, intro_text: str, government_named_before: bool = False) -> bool:
        """Whether the list under ``intro`` holds measures; ``government_named_before``: the government was named
        just before the intro, so "De vil:" is its commitment."""
        if intro.kind == BlockKind.HEADING:
            wording, patterns = intro_text, self.measure_headings
        elif intro.kind == BlockKind.PARAGRAPH and intro_text.rstrip(" »”\"'").endswith(":"):
            wording = last_sentence(intro_text)
            patterns = (*self.commitment_intros, *self.pronoun_intros) if government_named_before \
                else self.commitment_intros
        else:
            return False
        return _any(patterns, wording) and not _any(self.not_commitments, wording)

    def is_measure_item(self, item_text: str) -> bool:
        return not _any(self.not_measure_items, item_text)


def _any(patterns: Iterable[re.Pattern[str]], text: str) -> bool:
    return any(p.search(text) for p in patterns)


@cache
def load_list_intro_rules(path: Path, gazetteer_path: Path | None = None) -> ListIntroRules:
    """The list rules; with a gazetteer, an intro opening with an organisation of ``third_party_types`` is not a
    commitment."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def compile_all(key: str) -> tuple[re.Pattern[str], ...]:
        return tuple(compile_rule(p, re.IGNORECASE, path, f"{key}[{i}]") for i, p in enumerate(data[key]))

    not_commitments = compile_all("not_commitments")
    if gazetteer_path is not None and data.get("third_party_types"):
        from extractors.actors import load_gazetteer

        gazetteer = load_gazetteer(gazetteer_path)
        kinds = set(data["third_party_types"])
        names = [re.escape(form) for form, name in gazetteer.surface.items() if gazetteer.entries[name].type in kinds]
        if names:  # case-sensitive: "LMI", "Kreftforeningen" as written, not a common word that shares the letters
            not_commitments += (re.compile(rf"^\W*(?:{'|'.join(sorted(names, key=len, reverse=True))})\b"),)

    return ListIntroRules(
        version=int(data["version"]),
        commitment_intros=compile_all("commitment_intros"),
        measure_headings=compile_all("measure_headings"),
        not_commitments=not_commitments,
        pronoun_intros=compile_all("pronoun_intros") if data.get("pronoun_intros") else (),
        not_measure_items=compile_all("not_measure_items") if data.get("not_measure_items") else (),
    )


def last_sentence(text: str) -> str:
    return _SENTENCE_BREAK.split(text.strip())[-1]


def trim_measure_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``start:end`` so it holds the item without surrounding space and trailing punctuation."""
    item = text[start:end]
    stripped_left = len(item) - len(item.lstrip())
    cut_right = _TRAILING_REVERSED.match(item[::-1]).end()
    return start + stripped_left, max(start + stripped_left, end - cut_right)


def _dedupe_key(text: str) -> str:
    return " ".join(text.casefold().split())


def extract_list_measures(doc: StructuredText, rules: ListIntroRules,
                          government_named_before: Callable[[str, int], bool] | None = None) -> list[Measure]:
    """Every item of a list introduced as measures, once each, in document order. ``government_named_before(text,
    offset)`` says whether "de"/"dei" in an intro at ``offset`` can be the government."""
    measures: list[Measure] = []
    seen: set[str] = set()
    verdicts: dict[str, bool] = {}
    intros: dict[str, str] = {}  # one string per list, shared by its items (an intro may be a page long)
    for block in doc.blocks:
        if block.kind != BlockKind.LIST_ITEM or not block.intro_block or not block.list_id:
            continue
        if block.list_id not in verdicts:
            intro = doc.block_by_id(block.intro_block)
            intro_text = intros[block.list_id] = doc.text[intro.start : intro.end]
            lead = intro.start + max(0, intro_text.rfind(last_sentence(intro_text)))
            named = bool(government_named_before and government_named_before(doc.text, lead))
            verdicts[block.list_id] = rules.introduces_measures(intro, intro_text, named)
        if not verdicts[block.list_id]:
            continue
        start, end = trim_measure_span(doc.text, block.start, block.end)
        text = doc.text[start:end]
        key = _dedupe_key(text)
        if not text or key in seen or not rules.is_measure_item(text):
            continue
        seen.add(key)
        measures.append(
            Measure(
                id=f"m{len(measures) + 1}",
                text=text,
                start=start,
                end=end,
                page=block.page,
                block_id=block.id,
                section=doc.section_path(block),
                intro=intros[block.list_id],
                method=METHOD_LIST_UNDER_INTRO,
            )
        )
    return measures


# ---- measures in running text ------------------------------------------------------------------------------

METHOD_PROSE = "prose_commitment"
METHOD_REQUEST = "prose_request"
METHOD_ANNOUNCEMENT = "prose_announcement"
METHOD_REPORTED = "reported_speech"
METHOD_PROPOSAL = "prose_proposal"
METHOD_LIST_SENTENCE = "list_item_sentence"
_QUOTE_START = ("–", "—", "-", "«", '"', "“", "„")
_ATTRIBUTION = re.compile(r"[,–-]\s*(?:sier|sa|seier|skriver|skriv|mener|meiner|forteller|understreker|påpeker)\s+"
                          r"(?P<who>[^,.;:!?]{1,80})", re.IGNORECASE)
_PRONOUNS = frozenset({"han", "hun", "ho", "de", "dei"})
_CONTENT_WORD = re.compile(r"[\wæøåÆØÅ]{4,}")
_STOPWORDS = frozenset({"regjeringen", "regjeringa", "skal", "blant", "annet", "også", "som", "eller", "samt",
                        "samtidig", "derfor", "dessuten", "tillegg", "videre", "vidare",
                        "for", "med", "til", "være", "vere", "hvordan", "korleis", "dette", "denne", "disse",
                        "kunne", "dermed", "slik", "under", "etter", "over", "inn", "mot", "ved", "gjennom",
                        # The frame of a budget proposal: two proposals differ in what the money is for.
                        "foreslår", "føreslår", "foreslås", "framlegg", "bevilge", "bevilgningen", "løyve",
                        "løyvinga", "kroner", "mill", "millioner", "millionar", "milliarder", "milliardar", "øke",
                        "auke"})


@dataclass(frozen=True)
class ProseRules:
    version: int
    direct: re.Pattern[str]
    inverted: re.Pattern[str]
    request: re.Pattern[str]
    announcement: re.Pattern[str]
    reported: re.Pattern[str]
    first_person: frozenset[str]
    government_speaker: re.Pattern[str]
    duplicate_containment: float
    proposal_modals: frozenset[str] = frozenset()
    present_actions: frozenset[str] = frozenset()
    pronoun_direct: re.Pattern[str] | None = None
    antecedent: re.Pattern[str] | None = None
    antecedent_window: int = 0
    impersonal: re.Pattern[str] | None = None
    reported_pronoun: re.Pattern[str] | None = None
    clauses: ClauseRules | None = None

    def antecedent_before(self, text: str, offset: int) -> bool:
        """Whether the sentence right before ``offset`` names the government, so that "de"/"dei" at ``offset`` can
        refer to it ("Regjeringen la fram meldingen. De vil også …"; not "Bedriftene er bekymret. De vil …")."""
        if not self.antecedent:
            return False
        before = text[max(0, offset - self.antecedent_window):offset].rstrip()
        previous = _SENTENCE_BREAK.split(before)[-1] if before else ""
        return bool(self.antecedent.search(previous))


@dataclass(frozen=True)
class ClauseRules:
    """What the parse-based clause reading accepts (extractors/data/prose_measures.yaml, ``clause_*``)."""

    subjects: re.Pattern[str]
    first_person: frozenset[str]
    modals: frozenset[str]
    not_actions: frozenset[str]
    present_actions: frozenset[str]
    passive_actions: frozenset[str]
    not_frames: tuple[re.Pattern[str], ...]
    not_topics: tuple[re.Pattern[str], ...] = ()
    pending_actions: frozenset[str] = frozenset()


def _load_clause_rules(data: dict, path: Path) -> ClauseRules | None:
    if not data.get("clause_subjects"):
        return None

    def words(key: str) -> frozenset[str]:
        return frozenset(str(w).lower() for w in data.get(key) or [])

    subjects = check_rules(data["clause_subjects"], path, "clause_subjects", re.IGNORECASE)
    return ClauseRules(
        subjects=re.compile(rf"\b(?:{_alternatives(subjects)})\b", re.IGNORECASE),
        first_person=words("clause_first_person"), modals=words("clause_modals"),
        not_actions=words("clause_not_actions"), present_actions=words("clause_present_actions"),
        passive_actions=words("clause_passive_actions"), pending_actions=words("clause_pending_actions"),
        not_frames=tuple(compile_rule(p, re.IGNORECASE, path, f"clause_not_frames[{i}]")
                         for i, p in enumerate(data.get("clause_not_frames") or [])),
        not_topics=tuple(compile_rule(p, re.IGNORECASE, path, f"clause_not_topics[{i}]")
                         for i, p in enumerate(data.get("clause_not_topics") or [])),
    )


_PROSE_PATTERN_KEYS = ("subjects", "modals", "adverbs", "fronted", "proposal_modals", "present_actions",
                       "pronoun_subjects", "antecedents", "impersonal_proposals", "requests", "announcements",
                       "speech_verbs", "government_speakers")


def _alternatives(items: Iterable[str]) -> str:
    return "|".join(sorted(items, key=len, reverse=True))


@cache
def load_prose_rules(path: Path, gazetteer_path: Path | None = None) -> ProseRules:
    """The prose rules; with a gazetteer, its public bodies of ``subject_types`` may also commit ("HOD skal …")."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in _PROSE_PATTERN_KEYS:  # each is a regular expression, joined into the patterns below
        check_rules(data.get(key), path, key, re.IGNORECASE)
    subjects = list(data["subjects"])
    if gazetteer_path is not None:
        from extractors.actors import load_gazetteer

        gazetteer = load_gazetteer(gazetteer_path)
        kinds = set(data.get("subject_types") or [])
        subjects += [re.escape(form) for form, name in gazetteer.surface.items()
                     if gazetteer.entries[name].type in kinds]
    subject = rf"(?P<subject>{_alternatives(subjects)})"
    proposal_modals = list(data.get("proposal_modals") or [])
    present_actions = list(data.get("present_actions") or [])
    modal = rf"(?P<modal>{_alternatives([*data['modals'], *proposal_modals, *present_actions])})"
    adverbs = rf"(?:\s+(?:{_alternatives(data['adverbs'])}))*"
    rest = r"\s+(?P<rest>\S.*)"
    flags = re.IGNORECASE | re.DOTALL
    speech = _alternatives(data["speech_verbs"])
    # Reported speech: "<speaker> sier … at <subject> <modal> …", the speaker up to the first speech verb for which
    # "at <subject>" follows before the next full stop. Only the first speech verb of each stretch between full
    # stops is tried (a later one sees less of the same stretch), so the speaker is whole stretches plus the
    # words before that verb; the lazy "^(?P<speaker>.*?)" read the rest of the stretch again at every speech verb,
    # quadratic on "sier … sier … sier …".
    speaker = rf"^(?P<speaker>(?:[^.]*+\.)*?(?:(?!\b(?:{speech})\b)[^.])*+)\b(?:{speech})\b[^.]*?\bat\s+"
    return ProseRules(
        version=int(data["version"]),
        direct=re.compile(rf"^{subject}\s+{modal}{adverbs}{rest}", flags),
        inverted=re.compile(rf"^(?:{_alternatives(data['fronted'])})\s*{modal}\s+{subject}{adverbs}{rest}", flags),
        request=re.compile(rf"^(?:{_alternatives(data['requests'])}){rest}", flags),
        announcement=re.compile(rf"\b(?:{_alternatives(data['announcements'])}){rest}", flags),
        reported=re.compile(rf"{speaker}{subject}\s+{modal}{adverbs}{rest}", flags),
        first_person=frozenset(data["first_person"]),
        government_speaker=re.compile(rf"\b(?:{_alternatives(data['government_speakers'])})\b", re.IGNORECASE),
        duplicate_containment=float(data["duplicate_containment"]),
        proposal_modals=frozenset(m.lower() for m in proposal_modals),
        present_actions=frozenset(m.lower() for m in present_actions),
        pronoun_direct=re.compile(rf"^(?P<subject>{_alternatives(data['pronoun_subjects'])})\s+{modal}{adverbs}{rest}",
                                  flags) if data.get("pronoun_subjects") else None,
        antecedent=re.compile(rf"\b(?:{_alternatives(data['antecedents'])})\b", re.IGNORECASE)
        if data.get("antecedents") else None,
        antecedent_window=int(data.get("antecedent_window") or 0),
        impersonal=re.compile(_alternatives(data["impersonal_proposals"]), re.IGNORECASE)
        if data.get("impersonal_proposals") else None,
        reported_pronoun=re.compile(
            rf"{speaker}(?P<subject>{_alternatives(data['pronoun_subjects'])})\s+{modal}{adverbs}{rest}", flags)
        if data.get("pronoun_subjects") else None,
        clauses=_load_clause_rules(data, path),
    )


def _content_words(text: str) -> set[str]:
    # Six-letter prefixes: "katapultordningen" and "Katapultordningen", "helsenæringen" and "helsenæring" meet.
    return {w.lower()[:6] for w in _CONTENT_WORD.findall(text) if w.lower() not in _STOPWORDS}


class Restatements:
    """The measures taken so far, to tell whether a new one restates one of them: most of its content words, and
    at least two, are in one of them ("De foreslår 90 milliarder kroner til Forsvaret" does not restate "… penger på
    forsvaret og Ukraina"). Indexed by content word, so that only the measures sharing a word with the new one are
    counted: comparing it with every measure made documents with many measures quadratic. A measure may belong to
    a ``group`` (one list or table) whose members are not compared with each other."""

    def __init__(self, containment: float) -> None:
        self.containment = containment
        self._by_word: dict[str, dict[object, list[int]]] = defaultdict(dict)
        self._count = 0

    def add(self, text: str, group: object = None) -> None:
        number = self._count
        self._count += 1
        for word in _content_words(text):
            self._by_word[word].setdefault(group, []).append(number)

    def restates(self, text: str, skip_group: object = None) -> bool:
        """Whether ``text`` restates a measure added outside ``skip_group`` (None skips nothing)."""
        words = _content_words(text)
        if not words:
            return False
        shared: Counter[int] = Counter()
        for word in words:
            for group, numbers in self._by_word.get(word, {}).items():
                if skip_group is None or group != skip_group:
                    shared.update(numbers)
        return any(count >= 2 and count / len(words) >= self.containment for count in shared.values())


# "næringsminister Ola Nordmann": a government speaker's name, to recognise the surname in later attributions.
_MINISTER_NAME = re.compile(r"(?:minister|statsråd|statsminister|statssekretær)\w*+\s+((?:[A-ZÆØÅ][\wæøå-]+\s+){0,3}"
                            r"[A-ZÆØÅ][\wæøå-]+)")
_WORD = re.compile(r"[\wæøåÆØÅ]+")


class _Speakers:
    """Who speaks in each quote paragraph of a news text, to trust "vi skal …" only from the government."""

    def __init__(self, text: str, rules: ProseRules) -> None:
        self.rules = rules
        names = _MINISTER_NAME.findall(text)
        self.government_names = {name.split()[-1] for name in names}
        self.last_is_government = True

    def government_voice(self, block_text: str) -> bool:
        if not block_text.lstrip().startswith(_QUOTE_START):
            return True
        attribution = _ATTRIBUTION.search(block_text)
        if attribution:
            who = attribution.group("who").strip()
            if who.split()[0].lower() not in _PRONOUNS:
                self.last_is_government = bool(self.rules.government_speaker.search(who)) or any(
                    name in who.split() for name in self.government_names)
        return self.last_is_government

    def government_attribution(self, sentence: str) -> bool:
        """Whether ``sentence`` closes with an attribution to a government speaker (", sier statsminister …",
        ", seier Støre"): what it says in the first person is then the government's."""
        attribution = _TRAILING_ATTRIBUTION.search(sentence.rstrip(" .»”\"'"))
        if not attribution:
            return False
        who = attribution.group(0)
        return bool(self.rules.government_speaker.search(who)) or any(
            name in _WORD.findall(who) for name in self.government_names)


# Words that may stand between a modal and its action ("vil regjeringa i endå større grad enn før leggje til rette"),
# and words that end that search: the action is then someone else's or not one ("vil at …", "vil ikke …").
_ADVERBIAL_SKIP = 7
_NOT_BEFORE_ACTION = frozenset({"at", "som", "ikke", "ikkje", "være", "vere", "ha", "bli", "verte", "om", "når",
                                "hvis", "dersom", "viss", "kunne", "måtte", "kan", "må", "bør", "der", "og", "eller",
                                "å"})


def _infinitive_forms(word: str) -> tuple[str, ...]:
    """The word, and for a Nynorsk a-infinitive ("halda", "leggja", "føra") its e-form, as the word lists write it."""
    return (word, word[:-1] + "e") if len(word) > 3 and word.endswith("a") else (word,)


def _starts_with_action(text: str, strength_rules, adverbials: bool = False) -> bool:
    """Whether ``text`` opens with an action of the strength lists; with ``adverbials``, after at most a few
    adverbial words."""
    words = [w.lower() for w in _WORD.findall(text[:240])]
    for skip in range(min(_ADVERBIAL_SKIP if adverbials else 0, len(words)) + 1):
        if skip and words[skip - 1] in _NOT_BEFORE_ACTION:
            return False
        if skip < len(words):
            for first in _infinitive_forms(words[skip]):
                following = (first, *words[skip + 1:skip + 6])
                if any(following[: len(phrase)] == phrase for phrase, _strength in strength_rules.phrases):
                    return True
    return False


def _commits(match: re.Match[str], rules: ProseRules, strength_rules) -> bool:
    """A modal followed by an action verb; a proposal ("foreslår 15 milliarder kroner til …") with or without one;
    a decided action in the present tense ("lanserer regjeringen et råd"), not said by "vi" (the parse reads "vi" in
    a government speaker's quote: clause_verdict)."""
    modal = " ".join(match.group("modal").lower().split())
    if modal in rules.present_actions:
        return match.group("subject").lower() not in rules.first_person
    # Adverbials between modal and action only after a named government ("vil regjeringa i endå større grad …"):
    # after "vi" they let in the writer's own plans ("vil vi i <organisation> øke …").
    return modal in rules.proposal_modals or _starts_with_action(
        match.group("rest"), strength_rules, adverbials=match.group("subject").lower() not in rules.first_person)


def _framed(rules: ProseRules, before: str) -> bool:
    """Whether the words ``before`` a commitment make it a demand, a critic's reaction, a guess, an indirect question
    or an alternative weighed (prose_measures.yaml ``clause_not_frames``): "Kanskje vil regjeringen …", "Det er uklart
    hvordan regjeringen vil …"."""
    return bool(rules.clauses) and any(frame.search(before) for frame in rules.clauses.not_frames)


# A sentence closing with an opinion attributed to someone ("…, mener Frp-lederen", "…, meinte ho"): a view of what
# the government will do, not the government's word, unless a government speaker holds it.
_OPINION_ATTRIBUTION = re.compile(r"[,–-]\s*(?:mener|meiner|mente|meinte|hevder|hevdar|hevdet|hevda|påstår|påstod|tror|"
                                  r"trur|trudde|trodde|frykter|fryktar|fryktet|frykta)\s+(?P<who>[^,.!?]{1,80})\W*$",
                                  re.IGNORECASE)


def _opinion(sentence: str, rules: ProseRules, speakers: _Speakers) -> bool:
    match = _OPINION_ATTRIBUTION.search(sentence.rstrip())
    if not match:
        return False
    who = match.group("who")
    return not (rules.government_speaker.search(who) or any(name in _WORD.findall(who)
                                                            for name in speakers.government_names))


def _match_sentence(sentence: str, rules: ProseRules, strength_rules, government_voice: bool,
                    government_named_before: bool = False) -> tuple[int, str] | None:
    """(offset in the sentence where the measure starts, method), or None. ``government_named_before``: the
    government was named just before, so "De vil …" may be its commitment."""
    if match := rules.request.match(sentence):
        return 0, METHOD_REQUEST
    for pattern in (rules.direct, rules.inverted):
        match = pattern.match(sentence)
        # the frame before the action: the words up to the modal and the first words after it ("vil truleg …")
        if match and _commits(match, rules, strength_rules) and not _framed(
                rules, " ".join([sentence[:match.start("rest")], *match.group("rest").split()[:3]])):
            if match.group("subject").lower() in rules.first_person and not government_voice:
                return None
            return 0, METHOD_PROSE
    if rules.pronoun_direct and government_named_before and government_voice:
        match = rules.pronoun_direct.match(sentence)
        if match and _commits(match, rules, strength_rules):
            return 0, METHOD_PROSE
    if rules.impersonal and government_voice and (match := rules.impersonal.search(sentence)) \
            and not _framed(rules, sentence[:match.start()]):
        return 0, METHOD_PROPOSAL
    match = rules.reported.search(sentence)
    if match and _starts_with_action(match.group("rest"), strength_rules):
        # "…, sier statsråden, at vi skal …": "vi" is the government only when a government speaker says it.
        speaker = match.group("speaker")
        first_person = match.group("subject").lower() in rules.first_person
        if not first_person or (rules.government_speaker.search(speaker) if speaker.strip() else government_voice):
            return match.start("subject"), METHOD_REPORTED
    # "Regjeringen svarer at de vil legge fram …": "de" is the government when the government is the speaker.
    match = rules.reported_pronoun.search(sentence) if rules.reported_pronoun else None
    if match and _commits(match, rules, strength_rules) and rules.antecedent \
            and rules.antecedent.search(sentence[: match.start("subject")]):
        return match.start("subject"), METHOD_REPORTED
    match = rules.announcement.search(sentence)
    if match and _starts_with_action(match.group("rest"), strength_rules):
        return match.start("rest"), METHOD_ANNOUNCEMENT
    return None


# The government committing in the author's own voice, at a sentence's start: "Regjeringen vil …", "Regjeringa skal …".
_GOVERNMENT_COMMITS = re.compile(r"(?:^|[.!?]\s+)(?:regjeringen|regjeringa)\s+(?:vil|skal)\s", re.IGNORECASE)


def extract_prose_measures(doc: StructuredText, sentences: Iterable[tuple[int, int]], rules: ProseRules,
                           strength_rules, taken: list[Measure], parsed=None) -> list[Measure]:
    """Measures stated in paragraphs: "Regjeringen vil etablere …", "Komiteen ber regjeringen …", "Ett av tiltakene
    er å …", "…, sier statsråden, at regjeringen vil …". ``sentences`` are (start, end) offsets into the text.
    A sentence that restates a measure already ``taken`` (from a list) is not counted again. With ``parsed`` (the
    spaCy Doc of the text), a sentence no pattern matches is read by ``clause_verdict``."""
    parsed_sentences = {s.start_char: s for s in parsed.sents} if parsed is not None and rules.clauses else {}
    paragraphs = [b for b in doc.blocks if b.kind == BlockKind.PARAGRAPH]
    starts = [b.start for b in paragraphs]
    speakers = _Speakers(doc.text, rules)
    voice: dict[str, bool] = {}
    found: list[Measure] = []
    seen = Restatements(rules.duplicate_containment)
    for measure in taken:
        seen.add(measure.text)
    budget_page = bool(_BUDGET.search(doc.text))
    government_page = any(_GOVERNMENT_COMMITS.search(doc.text[b.start:b.end].lstrip()) for b in paragraphs
                          if not doc.text[b.start:b.end].lstrip().startswith(_QUOTE_START))
    for sent_start, sent_end in sentences:
        index = bisect.bisect_right(starts, sent_start) - 1
        if index < 0 or not (paragraphs[index].start <= sent_start < paragraphs[index].end):
            continue
        block = paragraphs[index]
        if block.id not in voice:
            voice[block.id] = speakers.government_voice(doc.text[block.start : block.end])
        sentence = doc.text[sent_start:min(sent_end, block.end)]
        if sentence.rstrip().endswith(":"):
            continue  # "Regjeringen vil arbeide for å:" introduces the measures that follow; it is not one
        stripped = sentence.lstrip("–—-«\"“„ ")
        lead = len(sentence) - len(stripped)
        if rules.clauses and any(topic.search(stripped) for topic in rules.clauses.not_topics):
            continue  # areas, priorities, what a plan builds on: not a measure, whatever its subject
        if _opinion(stripped, rules, speakers):
            continue
        named_before = rules.antecedent_before(doc.text, sent_start)
        verdict = _match_sentence(stripped, rules, strength_rules, voice[block.id], named_before)
        if verdict is None and sent_start in parsed_sentences:
            # A quote: the paragraph opens with a dash or quotation mark, or the sentence closes with a government
            # speaker's attribution ("Derfor setter vi av …, sier statsministeren") where the dash was lost
            quoted = doc.text[block.start:block.end].lstrip().startswith(_QUOTE_START) or (
                voice[block.id] and speakers.government_attribution(stripped))
            method = clause_verdict(parsed_sentences[sent_start], rules.clauses, voice[block.id], named_before,
                                    quoted=quoted, government_page=government_page,
                                    budget_context=budget_page)
            verdict = (0, method) if method else None
        if verdict is None:
            continue
        offset, method = verdict
        start, end = trim_measure_span(doc.text, sent_start + lead + offset, sent_start + len(sentence))
        end = start + len(doc.text[start:end].rstrip("»”\"' "))
        end = start + _without_attribution(doc.text[start:end])
        text = doc.text[start:end].rstrip(" .,")
        end = start + len(text)
        if not text or seen.restates(text):
            continue
        seen.add(text)
        found.append(Measure(
            id="", text=text, start=start, end=end, page=doc.page_at(start) if hasattr(doc, "page_at") else block.page,
            block_id=block.id, section=doc.section_path(block), intro=None, method=method,
        ))
    return found


def extract_item_sentences(doc: StructuredText, rules: ProseRules, strength_rules, taken: list[Measure],
                           parsed=None) -> list[Measure]:
    """List items that state a measure by themselves, whatever line introduces their list: "1. Stortinget ber
    regjeringen …" under "rår Stortinget til å gjøre følgende vedtak:", "Regjeringen vil …" in a plain list.
    The span is the whole item, as for every list item."""
    found: list[Measure] = []
    seen = {_dedupe_key(m.text) for m in taken}
    intros: dict[str, str] = {}  # one string per intro, shared by the items under it
    _lists, action_items = _action_lists(doc, strength_rules)
    for block in doc.blocks:
        if block.kind != BlockKind.LIST_ITEM:
            continue
        start, end = trim_measure_span(doc.text, block.start, block.end)
        text = doc.text[start:end]
        key = _dedupe_key(text)
        if not text or key in seen:
            continue
        named_before = rules.antecedent_before(doc.text, start)
        verdict = _match_sentence(text, rules, strength_rules, True, named_before)
        if verdict is None and (_ALLOCATION.match(text.lstrip(" •-–*·\t"))
                                or _item_clause(parsed, start, end, rules, named_before)
                                or action_items.get(block.id, False)):
            verdict = (0, METHOD_LIST_SENTENCE)
        if verdict is None or verdict[0] != 0:
            continue
        seen.add(key)
        if block.intro_block and block.intro_block not in intros:
            intro = doc.block_by_id(block.intro_block)
            intros[block.intro_block] = doc.text[intro.start:intro.end]
        found.append(Measure(id="", text=text, start=start, end=end, page=block.page, block_id=block.id,
                             section=doc.section_path(block), intro=intros.get(block.intro_block or ""),
                             method=METHOD_LIST_SENTENCE))
    return found


# An item that allocates money without a verb: "20,5 millioner til …", "25 millionar kroner til ei ny satsing …".
# A figure is at most a few groups long ("1 400", "20,5"): a bounded run, so that a search over a long run of digit
# groups or dots does not read the rest of the run again from every offset.
_ALLOCATION = re.compile(r"\d[\d .,]{0,16}+\s*(?:mill(?:ion|iard)\w*|mrd\.?|mill\.?)\s+(?:kroner\s+|kr\.?\s+)?"
                         r"(?:mer\s+|meir\s+|ekstra\s+|til\s+sammen\s+)?til\b", re.IGNORECASE)


# A plan's own lists: the document's title names it a plan, strategy or programme ("HANDLINGSPLAN", "Tiltaksplan for
# …"), or the list sits under a heading that names measures ("Tiltak", "Tiltak for …"). Only the title counts: a
# page that mentions a plan ("… ligger til grunn for langtidsplanen", "miljøtiltak") is not one.
_PLAN_DOCUMENT = re.compile(r"\b(?:\w*plan|\w*strategi|tiltak|handlingsprogram|plattform)\w*", re.IGNORECASE)
_TITLE_BLOCKS = 4
_TITLE_CHARS = 100
_MEASURE_HEADING = re.compile(r"^\W*(?:\d+(?:\.\d+)*\.?\s+)?(?:tiltak|tiltaka|tiltakene|handlingsplan|oppfølging)\b",
                              re.IGNORECASE)
_PLAN_HEAD_CHARS = 400
ACTION_LIST_MIN_ITEMS = 3
ACTION_LIST_SHARE = 0.5
# Words after which a capitalised -e/-a word opening an item is a noun or a subject, not an infinitive ("Tiltakene
# skal …", "Kunnskapen er …").
_NOT_AFTER_INFINITIVE = frozenset({"skal", "vil", "må", "er", "blir", "kan", "bør", "har", "var", "og", "eller",
                                   "ble", "vert", "burde", "trengs"})
_PASSIVE_MODALS = frozenset({"må", "skal"})


_NOT_INFINITIVES = frozenset({"flere", "fleire", "andre", "mange", "store", "gode", "bedre", "betre", "nye", "økte",
                              "auka", "alle", "hele", "heile", "første", "siste", "unge", "eldre", "ekstra", "disse",
                              "desse", "dette", "denne", "samme", "same", "egne", "eigne", "rundt"})


def _looks_infinitive(words: list[str]) -> bool:
    """An item opening with a bare infinitive the word lists do not know ("Optimalisere ruter …", "Ansette flere
    …"): a capitalised word ending in -e (Bokmål) or -a (Nynorsk) that is no common adjective or determiner,
    followed by a lower-case word that is not a verb of its own ("Tiltakene skal …" is a subject)."""
    if len(words) < 2 or not words[0][:1].isupper() or not words[1][:1].islower():
        return False
    first = words[0].lower()
    return (len(first) >= 4 and first.endswith(("e", "a")) and first not in _NOT_INFINITIVES
            and words[1].lower() not in _NOT_AFTER_INFINITIVE)


def _passive_demand(words: list[str]) -> bool:
    """"Laget rundt eleven må styrkes": a subject, then må/skal and a passive verb that ends the item."""
    for index, word in enumerate(words[1:6], start=1):
        if word.lower() in _PASSIVE_MODALS:
            rest = words[index + 1:]
            return len(rest) == 1 and rest[0].lower().endswith(("es", "ast"))
    return False


def _plan_action(text: str, strength_rules) -> bool:
    """Whether a list item of a plan states an action: it opens with an action of the word lists or a bare
    infinitive, with a directional noun of the verbless list ("Bedre oppfølging …"), with who acts and "skal"/"vil"
    and an action ("Ungdomsrådet skal jobbe for …"), or demands a passive change ("… må styrkes")."""
    from extractors.commitments import _action_start

    text = text.lstrip(" •-–*·\t")
    words = _WORD.findall(text[:240])
    if not words:
        return False
    if _starts_with_action(text, strength_rules) or _looks_infinitive(words):
        return True
    first = words[0].lower()
    if first in strength_rules.verbless or any(first == ending for ending, _s in strength_rules.verbless_endings):
        return True
    offset = _action_start(text)
    # "Det skal være trygt …" states a goal: being and having are no action of the one who commits.
    if offset and _WORD.findall(text[offset:offset + 40])[:1] not in (["være"], ["vere"], ["ha"], ["bli"]) \
            and _starts_with_action(text[offset:], strength_rules, adverbials=True):
        return True
    return _passive_demand(words)


def _action_lists(doc: StructuredText, strength_rules) -> tuple[set[str], dict[str, bool]]:
    """The lists of a plan whose items mostly state actions ("Øke antall nattbusser …", "Optimalisere ruter …",
    "Ungdomsrådet skal jobbe for …"): a plan's list of actions holds its measures whatever line introduces it
    ("Derfor trenger ungdom:"). Returns those lists and, by block id, whether each of their items is an action."""
    plan = any(_PLAN_DOCUMENT.search(doc.text[block.start:block.end]) for block in doc.blocks[:_TITLE_BLOCKS]
               if block.start < _PLAN_HEAD_CHARS and (block.kind == BlockKind.HEADING
                                                      or block.end - block.start <= _TITLE_CHARS))
    items: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for block in doc.blocks:
        if block.kind == BlockKind.LIST_ITEM and block.list_id:
            if not plan and not any(_MEASURE_HEADING.match(heading) for heading in doc.section_path(block)[-1:]):
                continue
            items[block.list_id].append((block.id, _plan_action(doc.text[block.start:block.end], strength_rules)))
    lists = {list_id for list_id, actions in items.items() if len(actions) >= ACTION_LIST_MIN_ITEMS
             and sum(action for _block, action in actions) >= ACTION_LIST_SHARE * len(actions)}
    return lists, {block_id: action for list_id in lists for block_id, action in items[list_id]}


def _item_clause(parsed, start: int, end: int, rules: ProseRules, named_before: bool) -> bool:
    """Whether the first sentence of the list item ``start:end`` states a measure by ``clause_verdict``."""
    if parsed is None or rules.clauses is None:
        return False
    span = parsed.char_span(start, end, alignment_mode="expand")
    if span is None or not len(span):
        return False
    first = next(iter(span.sents))
    sentence = parsed[max(first.start, span.start):min(first.end, span.end)]
    return clause_verdict(sentence, rules.clauses, True, named_before, in_list=True) is not None


_TRAILING_ATTRIBUTION = re.compile(r"[,–]\s*(?:sier|sa|seier|skriver|skriv|forteller|understreker|opplyser)\s+"
                                   r"[^.;:!?«»]{1,160}$", re.IGNORECASE)


def _without_attribution(text: str) -> int:
    """The length of ``text`` without a closing attribution (", sier statsråden"), which is not part of a measure."""
    stripped = text.rstrip(" .")
    match = _TRAILING_ATTRIBUTION.search(stripped)
    return match.start() if match and match.start() > 0 else len(text)


# ---- measures in tables ------------------------------------------------------------------------------------

METHOD_TABLE = "table_row"
_CELL_SEPARATOR = " | "
_MEASURE_COLUMN = re.compile(r"^\s*(?:tiltak|tiltaket|measure)\b", re.IGNORECASE)


def extract_table_measures(doc: StructuredText, rules: ListIntroRules) -> list[Measure]:
    """Rows of a table of measures: the header's first column says "Tiltak" or "Regjeringen vil:", or the heading
    right above the table names it as measures. The measure is the row's first cell; the row keeps the rest
    (responsible, deadline, funding) for the commitment."""
    measures: list[Measure] = []
    blocks = doc.blocks
    index = 0
    while index < len(blocks):
        if blocks[index].kind != BlockKind.TABLE:
            index += 1
            continue
        end = index
        while end < len(blocks) and blocks[end].kind == BlockKind.TABLE:
            end += 1
        rows = blocks[index:end]
        header = doc.text[rows[0].start : rows[0].end]
        before = blocks[index - 1] if index else None
        titled = before is not None and before.kind == BlockKind.HEADING and _any(
            rules.measure_headings, doc.text[before.start : before.end])
        # The first header cell names the column of measures: "Tiltak", or "Regjeringen vil:" as in roadmaps.
        first_cell = header.split(_CELL_SEPARATOR)[0]
        measure_column = (bool(_MEASURE_COLUMN.match(header)) or _any(rules.measure_headings, first_cell)) and not \
            is_contents_line(header)  # a contents entry "1 Tiltak for … . . . 5" heads no column of measures
        if measure_column or titled:
            body = rows[1:] if measure_column else rows
            for row in body:
                row_text = doc.text[row.start : row.end]
                cell_end = row.start + (row_text.find(_CELL_SEPARATOR) if _CELL_SEPARATOR in row_text
                                        else len(row_text))
                start, stop = trim_measure_span(doc.text, row.start, cell_end)
                if stop > start:
                    measures.append(Measure(id="", text=doc.text[start:stop], start=start, end=stop, page=row.page,
                                            block_id=row.id, section=doc.section_path(row), intro=header,
                                            method=METHOD_TABLE))
        index = end
    return measures


# ---- measures read from the parse: a main clause's subject, modal, tense and voice -------------------------------

# A Storting request ("Stortinget ber regjeringen …") proposed by a minority or the opposition is not a measure (data
# card: opposition proposals, proposals in voting records): the nearest of these markers before it names a party's
# members or a proposal from a party or representative, and no majority or committee recommendation is named there.
_STORTING_REQUEST = re.compile(r"^\W*(?:forslag\s+(?:nr\.\s*)?\d+\W+)?stortinget\s+(?:ber|bed|samtykker|samtykkjer|"
                               r"vedtar|vedtek|gir|gjev)\b", re.IGNORECASE)
_MINORITY_MARKER = re.compile(
    r"\b(?:medlem(?:mer|mene|en)?|mindretal+\w*)(?:\s+i\s+komiteen)?\s+(?:fra|frå)\s+(?=[A-ZÆØÅ])"
    # "Forslag nr. 3 fra …", "Forslag nr. 1, frå …", "Forslagene nr. 2 og 3, fra …"
    r"|\bforslag(?:ene|a)?\s+(?:nr\.\s*)?(?:\d+(?:\s*(?:og|,)\s*\d+)*\s*,?\s+)?(?:fra|frå)\s+(?=[A-ZÆØÅ]|stortingsrepresentant)"
    # A member's or party's proposal: "Representantforslag fra …", "… på vegne av Høyre", "Høyre fremmer følgende
    # forslag:" (the committee's and the majority's own are majority markers below)
    r"|\brepresentantforslag\w*|\bdokument\s+8\b|\bpå\s+vegne\s+av\s+(?!komiteen|regjering|fleirtal|flertal)\w"
    r"|\b(?:fremmer|fremmar|fremjar|fremja|fremmet|setter\s+fram|set\s+fram)\s+(?:følgende|følgjande|dette|slikt|"
    r"et|eit|ett|eitt)?\s*forslag", re.IGNORECASE)
_MAJORITY_MARKER = re.compile(r"\b(?:flertall\w*|fleirtal\w*|tilråding\w*|tilrådning\w*|rår\s+stortinget|"
                              r"innstiller|komiteens\s+tilråding|komiteen\s+(?:fremmer|fremjar|legger\s+fram|"
                              r"legg\s+fram|tilrår|ber)|vedtak\s+(?:nr\.\s*)?\d+)\b", re.IGNORECASE)
# A proposal in a voting record that the vote turned down: "Forslaget ble med 60 mot 40 stemmer ikke bifalt."
_REJECTED = re.compile(r"\b(?:ble|blei|vart|er|vert)\s+(?:[\w.]+\s+){0,6}?(?:ikke|ikkje)\s+"
                       r"(?:bifalt|vedtatt|vedteke\w*|vedtekne)\b|\b(?:forslaget|forslagene|forslaga)\s+(?:[\w.]+\s+){0,6}?(?:falt|fall|"
                       r"forkastet|forkasta)\b|\b(?:ble|blei|vart)\s+forkast(?:et|a)\b", re.IGNORECASE)
_MINORITY_WINDOW = 2000
_MAJORITY_REACH = 120
_REJECTION_REACH = 400


def minority_request(text: str, measure: Measure) -> bool:
    """Whether ``measure`` is a Storting request proposed by a minority or the opposition, or turned down in the
    vote that follows it (see above)."""
    if not _STORTING_REQUEST.match(measure.text):
        return False
    after = text[measure.end:measure.end + _REJECTION_REACH]
    next_request = re.search(r"\bstortinget\s+(?:ber|bed)\b", after, re.IGNORECASE)
    if _REJECTED.search(after[:next_request.start()] if next_request else after):
        return True
    start = max(0, measure.start - _MINORITY_WINDOW)
    before = text[start:measure.start]
    markers = list(_MINORITY_MARKER.finditer(before))
    if not markers:
        return False
    # Not after "Komiteens flertall, medlemmene fra …", nor a recommendation after the minority's words.
    return not _MAJORITY_MARKER.search(before, max(0, markers[-1].start() - _MAJORITY_REACH))


METHOD_CLAUSE = "prose_clause"
METHOD_PASSIVE = "prose_passive"
# An amount makes a passive clause a budget decision ("… økes med 50 millioner", "308 millioner kroner bevilges").
_AMOUNT = re.compile(r"\d[\d .,]{0,16}+\s*(?:mill(?:ion|iard)\w*|mrd\b|mill\b|kroner|kr\b|prosent)", re.IGNORECASE)
# A year makes a present passive a dated decision ("Ordningen forlenges ut 2027", "… innføres fra 2026"); a past
# year goes with a past form, which is refused before the year is looked at.
_YEAR = re.compile(r"\b(?:fra|frå|i|innen|innan|ut|til|for|fom\.?|f\.o\.m\.)\s+(?:\d{1,2}\.\s+\w+\s+)?20\d\d\b",
                   re.IGNORECASE)
# Auxiliaries that make a clause not a decision: done ("har innført"), past ("ble innført", "ville"), a demand or a
# possibility ("må økes", "bør", "kan").
_MONEY = re.compile(r"\b(?:kroner|kr|mill(?:ion|iard)\w*|mrd|pengar|penger|midler|midlar)\b", re.IGNORECASE)
_NOT_DECIDING_AUX = frozenset({"har", "hadde", "ha", "hatt", "ble", "blei", "vart", "ville", "skulle", "kunne",
                               "måtte", "burde", "må", "bør", "kan", "lyt"})
_PASSIVE_AUX = frozenset({"blir", "bli", "vert", "verte", "vil", "skal"})
_NEGATIONS = frozenset({"ikke", "ikkje", "aldri", "neppe"})
_MAIN = frozenset({"ROOT", "conj"})
# A verb's particle that makes "legge"/"sette" a decision ("legger fram", "setter av", "set ned", "setter i gang").
_DECIDING_PARTICLES = {"legge": ("fram", "frem"), "leggje": ("fram",), "sette": ("av", "ned", "i"),
                       "setje": ("av", "ned", "i"), "setter": ("av", "ned", "i")}


def _main_clause_verbs(sent) -> list:
    """The sentence's root and the verbs coordinated with it (not the verbs of subordinate clauses)."""
    verbs = []
    for token in sent:
        head = token
        while head.dep_ == "conj" and head.head.i != head.i:
            head = head.head
        if token.dep_ in _MAIN and head.dep_ == "ROOT":
            verbs.append(token)
    return verbs


def _subject(verb):
    for child in verb.children:
        if child.dep_.startswith("nsubj") or child.dep_ == "expl":
            return child
    if verb.dep_ == "conj" and verb.head.i != verb.i:  # "Vi styrker Forsvaret og vil bruke …": the shared subject
        return _subject(verb.head)
    return None


def _passive_lemma(verb, passive_actions: frozenset[str]) -> str | None:
    """The lemma of a passive verb ("økes", "blir fjernet", Nynorsk "reduserast"), or None when it is not passive."""
    text = verb.text.lower()
    if "Pass" in verb.morph.get("Voice"):
        return verb.lemma_.lower()
    if any(child.dep_ == "aux:pass" or (child.dep_ == "aux" and child.lower_ in ("blir", "bli", "vert", "verte"))
           for child in verb.children) and "Part" in verb.morph.get("VerbForm"):
        return verb.lemma_.lower()
    for ending in ("ast", "est"):  # Nynorsk s-passive, often not recognised by a Bokmål-trained parser
        if text.endswith(ending) and len(text) > 5:
            return text[:-3] + "e"
    if text.endswith("es") and text[:-1] in passive_actions:
        return text[:-1]
    return None


def _participle_lemmas(word: str) -> tuple[str, ...]:
    """The infinitives a past participle may come from: "utvikla"/"innført" → "utvikle"/"innføre", "fjernet" →
    "fjerne"."""
    word = word.lower()
    forms = [word[:-1] + "e"] if word.endswith(("a", "t")) else []
    if word.endswith("et"):
        forms.append(word[:-2] + "e")
    return tuple(forms)


def _bli_participle(sent, verb, passive_actions: frozenset[str]) -> str | None:
    """"skal det bli utvikla …", "vil lov … bli oppheva": a modal's "bli"/"verte" and the participle right after it,
    which the parser often reads as a noun in Nynorsk. The participle's lemma, or None. After "vil" the participle
    must close its clause: "Det vil bli auka press på tenestene" foretells, its "auka" describes a noun."""
    modals = {c.lower_ for c in verb.children if c.dep_.startswith("aux")}
    if verb.lemma_.lower() not in ("bli", "verte") or not modals & {"vil", "skal"}:
        return None
    for token in sent.doc[verb.i + 1:min(verb.i + 3, sent.end)]:
        lemma = next((form for form in _participle_lemmas(token.text) if form in passive_actions), None)
        if lemma:
            following = sent.doc[token.i + 1] if token.i + 1 < sent.end else None
            closes = following is None or following.is_punct or following.pos_ == "ADP"
            return lemma if "skal" in modals or closes else None
    return None


def _names_government(subject, rules: ClauseRules) -> bool:
    """Whether the subject's head word (with its compound and name parts: "Støre-regjeringen", "Den nye
    regjeringen") names the government; not a word deeper in the subject ("Planen om hva regjeringa vil …")."""
    words = [subject.text, *(c.text for c in subject.children
                              if c.dep_ in ("compound", "flat", "flat:name", "nmod:poss"))]
    return bool(rules.subjects.search(" ".join(words)))


_COMMISSION = frozenset({"oppdrag", "oppdraget", "mandat"})


def _pending_decision(verb, children: list, auxes: list, rules: ClauseRules, government_named_before: bool) -> bool:
    """A decision the government took that is still pending, told in the perfect or past tense (data card, "Time":
    pending proposals count, past achievements do not): "Regjeringen har foreslått å …", "fremja regjeringa ein
    proposisjon …", "Kunnskapsministeren har gitt direktoratet i oppdrag å …", "Regjeringa har bestemt at det skal
    …". Only with a subject that names the government (or "de"/"dei" right after it is named), not negated."""
    if not rules.pending_actions or any(c.lower_ in _NEGATIONS for c in children):
        return False
    subject = _subject(verb)
    if subject is None:
        return False
    pronoun = subject.lower_ in _PRONOUNS and subject.lower_ not in ("han", "hun", "ho")
    if not (_names_government(subject, rules) or (pronoun and government_named_before)):
        return False
    perfect_or_past = any(a.lower_ in ("har", "hadde") for a in auxes) or "Past" in verb.morph.get("Tense")
    if not perfect_or_past:
        return False  # the present tense is the other rules' ("foreslår", "gir i oppdrag")
    lemma = verb.lemma_.lower()
    if lemma in rules.pending_actions:
        return True
    if lemma == "gi":  # "har gitt X i oppdrag å …"
        return any(c.lower_ in _COMMISSION for c in children)
    if lemma in ("bestemme", "vedta"):  # "har bestemt at det skal …": a decision about the future
        # to act, not a status ("har bestemt at byen skal være sete for instituttet")
        return any(c.dep_ == "ccomp" and any(a.lower_ in ("skal", "vil") for a in c.children if a.dep_ == "aux")
                   and c.lemma_.lower() not in rules.not_actions and not any(a.dep_ == "cop" for a in c.children)
                   for c in children)
    return False


_BUDGET = re.compile(r"\b(?:\w*budsjett\w*|løyving\w*|løyver|løyvd|bevilg\w*|bevilling\w*|tildel\w*)\b", re.IGNORECASE)
_REFUSALS = frozenset({"avslag", "nei", "ingenting", "ingen"})


def clause_verdict(sent, rules: ClauseRules, government_voice: bool, government_named_before: bool,
                   quoted: bool = False, in_list: bool = False, government_page: bool = False,
                   budget_context: bool = False) -> str | None:
    """METHOD_CLAUSE or METHOD_PASSIVE when a main clause of the spaCy sentence ``sent`` states a measure (see
    prose_measures.yaml, ``clause_*``), else None. ``quoted``: the sentence is a quote in the government's voice,
    where "vi" is the government ("Nå bygger vi …"); elsewhere "vi" is whoever wrote the page. ``in_list``: a list
    item, whose list is its context ("- Redusert sats for sjøfart avvikles"): a passive decision needs no amount."""
    text = sent.text.rstrip()
    if not government_voice or text.endswith("?") or any(frame.search(text) for frame in rules.not_topics):
        return None
    amount = bool(_AMOUNT.search(text))
    budget_context = budget_context or bool(_BUDGET.search(text))
    dated = bool(_YEAR.search(text))
    government_named = bool(rules.subjects.search(text))
    for verb in _main_clause_verbs(sent):
        children = list(verb.children)
        auxes = [c for c in children if c.dep_.startswith("aux")]
        if _pending_decision(verb, children, auxes, rules, government_named_before):
            return METHOD_CLAUSE
        if any(a.lower_ in _NOT_DECIDING_AUX for a in auxes) or "Past" in verb.morph.get("Tense"):
            continue  # done already, or a past plan ("ville", "skulle")
        if "Part" in verb.morph.get("VerbForm") and not any(a.lower_ in _PASSIVE_AUX for a in auxes):
            continue  # a participle without "blir"/"skal": a description ("Innført i 2020")
        if any(c.lower_ in _NEGATIONS for c in children):
            continue
        before = sent.text[:max(0, verb.idx - sent.start_char)]  # not doc.text: it joins the whole document
        if any(frame.search(before) for frame in rules.not_frames):
            continue
        modal = next((a for a in auxes if a.lower_ in rules.modals), None)
        subject = _subject(verb)
        lemma = verb.lemma_.lower()
        if subject is not None:
            first_person = subject.lower_ in rules.first_person
            pronoun = subject.lower_ in _PRONOUNS and subject.lower_ not in ("han", "hun", "ho")
            named = _names_government(subject, rules) or (pronoun and government_named_before)
            # On a page where the government itself commits in the author's voice ("Regjeringen vil …" opening a
            # sentence outside quotes), the author's "vi"/"me" is the government too.
            own = first_person and government_page and not quoted
            if named or (first_person and quoted) or own:
                # "vi vil/skal" with any verb is too often the writer's own plan or a slogan ("Vi skal kutte
                # utslippene"): the prose patterns take it with an action verb of the strength lists.
                if modal is not None and verb.pos_ == "VERB" and "Inf" in verb.morph.get("VerbForm") \
                        and lemma not in rules.not_actions and (not first_person or own):
                    return METHOD_CLAUSE
                if modal is None and "Pres" in verb.morph.get("Tense") and lemma in rules.present_actions:
                    particles = _DECIDING_PARTICLES.get(lemma)
                    # The particle as the verb's child, or right after the verb and its inverted subject ("setter
                    # vi av midler", where the parser hangs "av" on the noun)
                    if particles is None or any(c.lower_ in particles for c in children
                                                if c.dep_ in ("compound:prt", "advmod", "obl", "case")) \
                            or any(t.lower_ in particles for t in sent.doc[verb.i + 1:min(verb.i + 3, sent.end)]):
                        return METHOD_CLAUSE
                continue
        s_passive = _passive_lemma(verb, rules.passive_actions)
        passive = s_passive or _bli_participle(sent, verb, rules.passive_actions)
        # "vil" alone does not make an s-passive a decision: "Dermed vil bevegelsene overføres …" foretells
        decided_modal = modal is not None and not (s_passive and modal.lower_ == "vil")
        if passive is not None and passive in rules.passive_actions and (
                in_list or amount or dated or government_named or government_named_before or decided_modal):
            return METHOD_PASSIVE
        # "Forsvaret får 165 milliardar kroner meir", "Kongehuset får meir pengar": an allocation told by who gets it,
        # in a budget's or the government's context (not "Enkelte ansatte får summer på 300 000 kroner", nor a
        # refusal: "får avslag på …").
        if lemma == "få" and "Pres" in verb.morph.get("Tense") and subject is not None \
                and subject.lower_ not in rules.first_person and subject.lower_ not in _PRONOUNS \
                and (government_named or government_named_before or budget_context) \
                and not any(word.lower_ in _REFUSALS for word in verb.subtree) \
                and any(_MONEY.search(word.text) for child in verb.children if child.dep_ == "obj"
                        for word in child.subtree):
            return METHOD_PASSIVE
    return None
