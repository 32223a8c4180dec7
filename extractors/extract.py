"""All extraction for one document: measures (lists and prose), actors, and each measure's commitment.

A plain function over the structured text and the spaCy Doc, configured by the data files named in the
PipelineConfig; ``pipeline.analysis.process`` calls it, Prefect never sees it directly.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from spacy.tokens import Doc

from extractors.actors import MentionIndex, attach_actors, find_actors, load_gazetteer
from extractors.commitments import (
    StrengthRules,
    assess_strength,
    decided_by_amount,
    find_amounts,
    find_deadlines,
    load_strength_rules,
)
from extractors.measures import (
    METHOD_TABLE,
    Restatements,
    StructuredText,
    extract_item_sentences,
    extract_list_measures,
    extract_prose_measures,
    extract_table_measures,
    load_list_intro_rules,
    load_prose_rules,
    minority_request,
)
from pipeline.config import PipelineConfig
from pipeline.schema import Actor, Block, Commitment, Measure

_GOVERNMENT_SUBJECT = re.compile(r"\b(?:regjeringen|regjeringa)\b", re.IGNORECASE)
# Who is given a task: "gi Forskningsrådet i oppdrag …", "Siva gis i oppdrag …". Read by scanning for the openers
# and the task words once each (see _assigned_phrase): one pattern with an unanchored lazy ".+?" before
# "i oppdrag" searched from every offset of the measure, quadratic in its length (21 s for 40,000 characters).
_GIVE = re.compile(r"\b(?:gi|gje)\s++", re.IGNORECASE)
_TASK = re.compile(r"(?<!\s)\s++i oppdrag", re.IGNORECASE)
_GIVEN_TASK = re.compile(r"(?<!\s)\s++(?:gis|gjevast|får) i oppdrag", re.IGNORECASE)
_ASKS_GOVERNMENT = re.compile(r"\bber\s+(?:regjeringen|regjeringa)\b", re.IGNORECASE)
_OBJECT_END = re.compile(r"[,.;:]|\s(?:for å|slik at|ved at|og (?=\w+e\b))\s")
OBJECT_MAX_WORDS = 14


@dataclass
class Extraction:
    measures: list[Measure]
    actors: list[Actor]
    persons: list[Actor]
    commitments: list[Commitment]


def _sentences(doc: Doc) -> list[tuple[int, int]]:
    return [(sent.start_char, sent.end_char) for sent in doc.sents] if doc.has_annotation("SENT_START") or len(doc) \
        else []


_NOT_NAME_POS = frozenset({"VERB", "AUX", "ADV", "ADP", "SCONJ", "CCONJ", "PRON"})


def _entities(doc: Doc) -> list[tuple[int, int, str]]:
    """NER spans, without leading words that cannot open a name ("Innrette FORNY …" at the start of an item) and
    without whitespace at either end, cut at a blank line: a name does not run on into the next block (a model may
    take the blank line after a heading into the name, "Stoltenberg II\n\n")."""
    spans = []
    for ent in doc.ents:
        tokens = list(ent)
        block_end = next((i for i, token in enumerate(tokens) if token.is_space and token.text.count("\n") >= 2), None)
        if block_end is not None:
            tokens = tokens[:block_end]
        while tokens and (tokens[0].is_space or tokens[0].pos_ in _NOT_NAME_POS):
            tokens = tokens[1:]
        while tokens and tokens[-1].is_space:
            tokens = tokens[:-1]
        if tokens:
            spans.append((tokens[0].idx, tokens[-1].idx + len(tokens[-1].text), ent.label_))
    return spans


def _verb_lemma(doc: Doc, start: int, end: int, written: str, lemmatised: bool) -> str:
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is not None and lemmatised:
        return " ".join(token.lemma_.lower() or token.text.lower() for token in span)
    return written.lower()


def _object_phrase(text: str) -> str | None:
    rest = text.lstrip(" ,")
    if not rest:
        return None
    cut = _OBJECT_END.search(rest)
    phrase = rest[: cut.start()] if cut else rest
    words = phrase.split()
    return " ".join(words[:OBJECT_MAX_WORDS]) or None


def _assigned_phrase(text: str) -> str | None:
    """What names the assignee: X in "gi X i oppdrag" or the line before "gis/gjevast/får i oppdrag", whichever
    starts first (the first when both start together), within one line; None when the text assigns no task.

    Linear in the text: each opener is paired with the first task after it by bisection."""
    newlines = [index for index, char in enumerate(text) if char == "\n"] if "\n" in text else []
    tasks = [match.start() for match in _TASK.finditer(text)]
    candidates: list[tuple[int, str]] = []
    for opener in _GIVE.finditer(text):
        following = bisect.bisect_right(tasks, opener.end())
        if following == len(tasks):
            break  # no task after this opener, nor after any later one
        line_end = bisect.bisect_left(newlines, opener.end())
        if line_end == len(newlines) or newlines[line_end] >= tasks[following]:
            candidates.append((opener.start(), text[opener.end():tasks[following]]))
            break
    for given in _GIVEN_TASK.finditer(text):
        line_start = text.rfind("\n", 0, given.start()) + 1
        if line_start < given.start():
            candidates.append((line_start, text[line_start:given.start()]))
            break
    return min(candidates, key=lambda candidate: candidate[0])[1] if candidates else None


def _responsible(measure: Measure, mentions: MentionIndex, gazetteer, row: Block | None) -> str | None:
    if row is not None:  # a table row: the first actor named after the measure cell (the "Ansvar" column)
        later = mentions.first_after(measure.end, row.end)
        if later:
            return later
    if named := _assigned_phrase(measure.text):
        for actor in measure.actors:
            if actor in named or any(written in named for written in mentions.written[actor]):
                return actor
    if _ASKS_GOVERNMENT.search(measure.text):  # "Stortinget ber regjeringa …": the government is to act
        return "Regjeringen" if "Regjeringen" in gazetteer.entries else None
    if opening := mentions.opening.get(measure.start):  # opens with its subject: "HOD skal …", "Siva gis i oppdrag …"
        return opening
    lead = measure.intro or measure.text
    if _GOVERNMENT_SUBJECT.search(lead):
        return "Regjeringen" if "Regjeringen" in gazetteer.entries else None
    return None


def _commitment(measure: Measure, doc: Doc, rules: StrengthRules, mentions: MentionIndex, gazetteer,
                structured: StructuredText, lemmatised: bool) -> Commitment:
    # A table row says more than its measure cell: who is responsible, by when, with how much money.
    context = structured.block_by_id(measure.block_id) if measure.method == METHOD_TABLE else None
    context_start = context.start if context else measure.start
    context_text = structured.text[context.start : context.end] if context else measure.text
    amounts = find_amounts(context_text, context_start, measure.page)
    in_measure = [a for a in amounts if measure.start <= a.start and a.end <= measure.end]
    verdict = decided_by_amount(assess_strength(measure.text, rules), in_measure, rules)
    measure.strength = verdict.strength
    if verdict.verb_start is not None:
        start, end = measure.start + verdict.verb_start, measure.start + verdict.verb_end
        measure.verb = _verb_lemma(doc, start, end, verdict.modality or "", lemmatised)
        measure.object = _object_phrase(measure.text[verdict.verb_end:])
    return Commitment(
        measure_id=measure.id,
        strength=verdict.strength,
        modality=verdict.modality,
        responsible=_responsible(measure, mentions, gazetteer, context),
        amounts=amounts,
        deadlines=find_deadlines(context_text, context_start, measure.page),
    )


def _drop_restated(measures: list[Measure], containment: float) -> list[Measure]:
    """A list item that restates an earlier measure of the document in other words counts once. Items of one list
    or rows of one table (same rule, same intro) are distinct by construction and never restate each other."""
    kept: list[Measure] = []
    index = Restatements(containment)
    for measure in measures:
        group = (measure.method, measure.intro) if measure.intro is not None else None
        if not index.restates(measure.text, skip_group=group):
            kept.append(measure)
            index.add(measure.text, group)
    return kept


def _rule_measures(structured: StructuredText, doc: Doc, config: PipelineConfig) -> list[Measure]:
    prose_rules = load_prose_rules(config.prose_measures, config.actors)
    strength_rules = load_strength_rules(config.commitments)
    list_rules = load_list_intro_rules(config.list_intros, config.actors)
    listed = _drop_restated([*extract_list_measures(structured, list_rules, prose_rules.antecedent_before),
                             *extract_table_measures(structured, list_rules)], containment=0.8)
    listed += extract_item_sentences(structured, prose_rules, strength_rules, listed, doc)
    prose = extract_prose_measures(structured, _sentences(doc), prose_rules, strength_rules, listed, doc)
    return sorted([m for m in (*listed, *prose) if not minority_request(structured.text, m)], key=lambda m: m.start)


def _model_measures(structured: StructuredText, doc: Doc, config: PipelineConfig, rule_measures: list[Measure],
                    min_confidence: float | None, policy: str = "model") -> tuple[list[Measure], dict[int, str]]:
    """The detector's measures (method "model", with its confidence), and the strength it gives each, by index.
    With policy "model" the rule measures are among its features and not output themselves; with "hybrid" every
    rule measure is kept (its rule's method, the model's confidence) and the model adds others."""
    from extractors.detector import METHOD_MODEL, detector_input, feature_rules, load_detector

    detector = load_detector(config.measure_model)
    data = detector_input(structured, doc, rule_measures, feature_rules(config))
    by_span = {(m.start, m.end): m for m in rule_measures}
    measures, strengths = [], {}
    for detection in detector.detect(data, min_confidence, policy):
        candidate = detection.candidate
        if policy == "hybrid" and (candidate.start, candidate.end) in by_span:
            # A rule's measure keeps the rules' strength (on the seeds they are right where the model's are not).
            kept = by_span[(candidate.start, candidate.end)]
            kept.confidence = detection.confidence
            measures.append(kept)
            continue
        strengths[len(measures)] = detection.strength
        measures.append(Measure(id="", text=candidate.text, start=candidate.start, end=candidate.end,
                                page=structured.page_at(candidate.start) if hasattr(structured, "page_at")
                                else candidate.block.page,
                                block_id=candidate.block.id, section=structured.section_path(candidate.block),
                                intro=structured.block_text(structured.block_by_id(candidate.block.intro_block))
                                if candidate.block.intro_block else None,
                                method=METHOD_MODEL, confidence=detection.confidence))
    return measures, strengths


def extract_with_rules(structured: StructuredText, doc: Doc, config: PipelineConfig) -> Extraction:
    """``extract`` with the rule extractor deciding, whatever the config says (the detector's training input)."""
    return _extract(structured, doc, config, "rules", None)


def extract(structured: StructuredText, doc: Doc, config: PipelineConfig, min_confidence: float | None = None
            ) -> Extraction:
    """Measures by ``config.measure_detector`` ("rules"; "model": the trained detector, keeping measures of at
    least ``min_confidence``, else ``config.min_confidence``, else its card's threshold; "hybrid": the rules'
    measures and the detector's above that bar, else its card's hybrid threshold), then actors and commitments."""
    threshold = min_confidence if min_confidence is not None else config.min_confidence
    return _extract(structured, doc, config, config.measure_detector, threshold)


def _extract(structured: StructuredText, doc: Doc, config: PipelineConfig, detector: str,
             min_confidence: float | None) -> Extraction:
    strength_rules = load_strength_rules(config.commitments)
    gazetteer = load_gazetteer(config.actors)
    page_at = getattr(structured, "page_at", None)

    measures = _rule_measures(structured, doc, config)
    model_strengths: dict[int, str] = {}
    if detector in ("model", "hybrid"):
        measures, model_strengths = _model_measures(structured, doc, config, measures, min_confidence, detector)
    for number, measure in enumerate(measures, start=1):
        measure.id = f"m{number}"

    actors, persons = find_actors(structured.text, gazetteer, _entities(doc), page_at)
    mentions = MentionIndex(actors)
    attach_actors(measures, mentions)
    lemmatised = doc.has_annotation("LEMMA")  # once: it reads every token of the document
    commitments = [_commitment(m, doc, strength_rules, mentions, gazetteer, structured, lemmatised)
                   for m in measures]
    for index, strength in model_strengths.items():  # the model's strength, learned with the rule verdict as a feature
        measures[index].strength = commitments[index].strength = strength
    return Extraction(measures, actors, persons, commitments)
