"""Measure candidates: every stretch of a structured document that could be one measure, with its span by
eval/GUIDELINES.md, for the trained detector (``extractors/detector.py``) to accept or reject.

- a list item: the whole item without its marker, final period dropped;
- a table row: its first cell (the measure column; the rest of the row is who, when and how much);
- a sentence of a paragraph: the whole sentence, final period dropped, without a leading quote dash;
- a quote without its attribution: "– Vi skal bygge …, sier statsråden" → "Vi skal bygge …";
- a reported clause: in "… sier statsråden at regjeringen vil …" the clause from its subject ("regjeringen vil
  …"), found in the parse (the subject of the verb that "at" introduces after a speech verb);
- a rule span: what the rule extractor took, when it is none of the above (an announcement "Ett av tiltakene er å
  …" starts inside its sentence).

Candidates are in document order, each span once.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from spacy.tokens import Doc

from extractors.measures import _SENTENCE_BREAK, StructuredText, trim_measure_span
from pipeline.schema import Block, BlockKind, Measure

KIND_LIST_ITEM = "list_item"
KIND_TABLE_ROW = "table_row"
KIND_SENTENCE = "sentence"
KIND_REPORTED = "reported_clause"
KIND_QUOTE = "quote"
KIND_RULE = "rule_span"
KINDS = (KIND_LIST_ITEM, KIND_TABLE_ROW, KIND_SENTENCE, KIND_REPORTED, KIND_QUOTE, KIND_RULE)

_CELL_SEPARATOR = " | "
_LEADING_QUOTES = "–—-«\"“„ "
_TRAILING_QUOTES = "»”\"' "
# Lemmas (and written forms, for a parse without lemmas) of verbs that report speech or writing, Bokmål and Nynorsk.
SPEECH_VERBS = frozenset({
    "si", "sier", "sa", "seier", "skrive", "skriver", "skriv", "svare", "svarer", "svarar", "opplyse", "opplyser",
    "opplyste", "varsle", "varsler", "varslet", "varsla", "kunngjøre", "kunngjør", "kunngjorde", "fortelle",
    "forteller", "fortalte", "bekrefte", "bekrefter", "bekreftet", "love", "lover", "lovet", "lovar", "lova",
    "understreke", "understreker", "understreket", "annonsere", "annonserer", "annonserte", "mene", "mener",
    "meiner", "påpeke", "påpeker", "peke", "peker", "legge", "slå", "slår", "melde", "melder", "uttale", "uttaler",
})
# A quote's attribution at the end of its sentence ("…, sier statsråden"): the quote is the candidate without it.
# Not a speech verb with "at" after it ("…, og statsråden understrekar at …"): that reports, it does not attribute.
# "(?<!\s)": the run of spaces before the verb is read from its first space only (from every space of a long run,
# "\s+" re-read the rest of the run each time: quadratic).
_ATTRIBUTION_END = re.compile(r"(?<!\s)(?:\s*[,–])?\s+(?:sier|sa|seier|skriver|skriv|forteller|fortel|understreker|"
                              r"understrekar|mener|meiner|påpeker|peikar|legger til|legg til)"
                              r"\s(?!at\b)[^,.;:!?]{1,80}$",
                              re.IGNORECASE)
_ATTRIBUTION_TAIL = 120
_SUBJECT_DEPS = frozenset({"nsubj", "nsubj:pass", "expl"})
MIN_CHARS = 3


@dataclass
class Candidate:
    start: int
    end: int
    text: str
    kind: str
    block: Block
    sentence: tuple[int, int] | None = None  # the sentence a reported clause (or a sentence) belongs to
    rule_methods: list[str] = field(default_factory=list)  # rule measures with this span (filled by the caller)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """GUIDELINES span: no surrounding space, leading quote dash, trailing quote or final punctuation."""
    while start < end and text[start] in _LEADING_QUOTES:
        start += 1
    start, end = trim_measure_span(text, start, end)
    while end > start and text[end - 1] in _TRAILING_QUOTES + ".":
        end -= 1
    return start, end


def _reported_start(doc: Doc, sent_start: int, sent_end: int) -> int | None:
    """Where the clause a speech verb reports starts: at the subject of the verb "at" introduces (or right after
    "at" when the parse names no subject). None when the sentence reports nothing."""
    span = doc.char_span(sent_start, sent_end, alignment_mode="expand")
    if span is None:
        return None
    for token in span:
        if token.lower_ != "at" or token.i == span.start:
            continue
        before = doc[max(span.start, token.i - 8):token.i]
        if not any((t.lemma_ or t.lower_).lower() in SPEECH_VERBS or t.lower_ in SPEECH_VERBS for t in before):
            continue
        head = token.head if token.head.i > token.i else None
        subjects = [c for c in head.children if c.dep_ in _SUBJECT_DEPS and c.i > token.i] if head is not None else []
        if subjects:
            return subjects[0].left_edge.idx
        if token.i + 1 < span.end:
            return doc[token.i + 1].idx
    return None


def _sentence_spans(structured: StructuredText, doc: Doc, paragraphs: list[Block]) -> list[tuple[int, int]]:
    """The parse's sentences; without a parser (a blank pipeline), each paragraph cut at its full stops."""
    if doc.has_annotation("SENT_START"):
        return [(sent.start_char, sent.end_char) for sent in doc.sents]
    spans = []
    for block in paragraphs:
        start = block.start
        for cut in _SENTENCE_BREAK.finditer(structured.text, block.start, block.end):
            spans.append((start, cut.start()))
            start = cut.end()
        spans.append((start, block.end))
    return spans


def _paragraph_sentences(structured: StructuredText, doc: Doc) -> list[tuple[Block, int, int]]:
    paragraphs = [b for b in structured.blocks if b.kind == BlockKind.PARAGRAPH]
    starts = [b.start for b in paragraphs]
    found = []
    for sent_start, sent_end in _sentence_spans(structured, doc, paragraphs):
        index = bisect.bisect_right(starts, sent_start) - 1
        if index < 0:
            continue
        block = paragraphs[index]
        if not block.start <= sent_start < block.end:
            continue
        found.append((block, sent_start, min(sent_end, block.end)))
    return found


def find_candidates(structured: StructuredText, doc: Doc, rule_measures: list[Measure] = ()) -> list[Candidate]:
    """Every candidate of the document, in order; a candidate whose span a rule measure has gets its method."""
    text = structured.text
    by_span: dict[tuple[int, int], Candidate] = {}

    def add(start: int, end: int, kind: str, block: Block, sentence: tuple[int, int] | None = None) -> None:
        start, end = _trimmed(text, start, end)
        if end - start >= MIN_CHARS and (start, end) not in by_span:
            by_span[(start, end)] = Candidate(start, end, text[start:end], kind, block, sentence)

    for block in structured.blocks:
        if block.kind == BlockKind.LIST_ITEM:
            add(block.start, block.end, KIND_LIST_ITEM, block)
        elif block.kind == BlockKind.TABLE:
            row = text[block.start:block.end]
            cut = row.find(_CELL_SEPARATOR)
            add(block.start, block.start + (cut if cut >= 0 else len(row)), KIND_TABLE_ROW, block)
    for block, start, end in _paragraph_sentences(structured, doc):
        if text[start:end].rstrip().endswith(":"):
            continue  # a list's intro, not a measure itself (the items are)
        add(start, end, KIND_SENTENCE, block, (start, end))
        sentence = text[start:end].rstrip(" .")
        # Only the sentence's tail can hold the attribution (a verb and at most 80 characters): searched from every
        # offset of a long sentence, "\s+" re-read a run of spaces once per start (quadratic).
        if attribution := _ATTRIBUTION_END.search(sentence, max(0, len(sentence) - _ATTRIBUTION_TAIL)):
            add(start, start + attribution.start(), KIND_QUOTE, block, (start, end))
        reported = _reported_start(doc, start, end)
        if reported is not None and reported > start:
            add(reported, end, KIND_REPORTED, block, (start, end))
    blocks = sorted(structured.blocks, key=lambda b: b.start)
    block_starts = [b.start for b in blocks]
    for measure in rule_measures:
        span = (measure.start, measure.end)
        if span not in by_span:
            index = bisect.bisect_right(block_starts, measure.start) - 1
            block = blocks[max(index, 0)]
            by_span[span] = Candidate(measure.start, measure.end, measure.text, KIND_RULE, block)
        by_span[span].rule_methods.append(measure.method)
    return sorted(by_span.values(), key=lambda c: (c.start, c.end))
