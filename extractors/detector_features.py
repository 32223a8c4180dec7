"""Features of measure candidates (``extractors.candidates``) for the trained detector.

Per candidate, one row of three fields, all turned into numbers by hashing in the model (no vocabulary is kept,
so no text of a training document is stored in the artifact):

- ``signals``: a dict of named features: the rule extractor's signals (does a rule take this span, and which; is
  the list's intro a commitment by list_intros.yaml; does a prose pattern match the text; the strength verdict of
  commitments.py), the parse (root lemma, modal and which, tense, passive "-s"/"bli", the subject's type via the
  actor gazetteer, negation, first person plural, an infinitive opening) and the structure (block kind, depth,
  position in its list, list length, heading depth, the intro's last words);
- ``text``: the candidate's words, lower-cased, Nynorsk function words mapped to Bokmål ("regjeringa" →
  "regjeringen", "ikkje" → "ikke", "me" → "vi"), for word and character n-grams;
- ``context``: the list intro's last sentence and the nearest heading, for word n-grams.

Language-neutral by construction: the signals name lemmas and types, not spellings, where the parse allows.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass

from spacy.tokens import Doc

from extractors.actors import Gazetteer
from extractors.candidates import KIND_LIST_ITEM, KIND_REPORTED, Candidate
from extractors.commitments import StrengthRules, assess_strength
from extractors.measures import (
    _QUOTE_START,
    ListIntroRules,
    ProseRules,
    StructuredText,
    _match_sentence,
    _Speakers,
    last_sentence,
)
from pipeline.analysis.evaluation import overlap
from pipeline.schema import BlockKind, Measure

FIELDS = ("signals", "text", "context")
_WORD = re.compile(r"[\wæøåÆØÅ]+")
# Nynorsk → Bokmål for the words that carry a commitment's frame; content words are left to character n-grams.
NYNORSK_TO_BOKMAAL = {
    "regjeringa": "regjeringen", "ikkje": "ikke", "me": "vi", "dei": "de", "ein": "en", "eit": "et", "ei": "en",
    "korleis": "hvordan", "òg": "også", "og": "og", "vidare": "videre", "difor": "derfor", "framleis": "fortsatt",
    "no": "nå", "gje": "gi", "føreslår": "foreslår", "framlegg": "forslag", "løyving": "bevilgning",
    "løyvinga": "bevilgningen", "skal": "skal", "vil": "vil", "kan": "kan", "må": "må", "bør": "bør",
    "blir": "blir", "vert": "blir", "verte": "bli", "vart": "ble", "setje": "sette", "leggje": "legge",
    "arbeide": "arbeide", "sjå": "se", "utgreie": "utrede", "vurdere": "vurdere", "styrkje": "styrke",
    "auke": "øke", "aukar": "øker", "etablere": "etablere", "innføre": "innføre", "kommunane": "kommunene",
    "fylkeskommunane": "fylkeskommunene", "tiltaka": "tiltakene", "fleire": "flere", "mykje": "mye",
    "berre": "bare", "heile": "hele", "sjølv": "selv", "kva": "hva", "kven": "hvem", "kor": "hvor",
    "dette": "dette", "desse": "disse", "denne": "denne", "også": "også", "frå": "fra", "mellom": "mellom",
    "hjå": "hos", "ved": "ved", "til": "til", "om": "om", "for": "for", "at": "at", "å": "å",
}
MODALS = frozenset({"skal", "vil", "må", "bør", "kan", "skulle", "ville", "måtte", "burde", "kunne", "skul"})
NEGATIONS = frozenset({"ikke", "ikkje", "aldri", "ingen", "inga", "intet", "ingenting"})
FIRST_PERSON_PLURAL = frozenset({"vi", "me", "oss", "vår", "vårt", "våre", "vårs"})
GOVERNMENT_WORDS = ("regjering", "statsråd", "minister", "statsminister")
PARLIAMENT_WORDS = ("storting", "komite", "komité", "odelsting", "lagting")
MINISTRY_WORDS = ("departement",)
AGENCY_WORDS = ("direktorat", "tilsyn", "etat", "verket", "kommune", "fylkeskommun", "helseforetak", "rådet")
_GAZETTEER_TYPE_CLASS = {
    "government": "government", "ministry": "ministry", "parliament": "parliament", "directorate": "agency",
    "state_enterprise": "agency", "regional_health_authority": "agency", "research_council": "agency",
    "municipal": "agency", "other_public": "agency", "company": "third_party", "interest_organisation": "third_party",
    "research_institution": "third_party", "eu_body": "third_party", "international": "third_party",
    "county": "agency", "county_governor": "agency", "municipality": "agency", "health_trust": "agency",
}


@dataclass(frozen=True)
class FeatureRules:
    """The rule data the features read (loaded by the caller from the PipelineConfig)."""

    list_rules: ListIntroRules
    prose_rules: ProseRules
    strength_rules: StrengthRules
    gazetteer: Gazetteer


def normalised_words(text: str) -> list[str]:
    return [NYNORSK_TO_BOKMAAL.get(w, w) for w in (m.group().lower() for m in _WORD.finditer(text))]


def _bucket(value: int, edges: tuple[int, ...]) -> str:
    for edge in edges:
        if value <= edge:
            return f"<={edge}"
    return f">{edges[-1]}"


def subject_class(written: str, gazetteer: Gazetteer) -> str:
    """government / ministry / parliament / agency / third_party / first_person / pronoun / other / none."""
    words = written.split()
    if not words:
        return "none"
    lowered = written.lower()
    if lowered in FIRST_PERSON_PLURAL:
        return "first_person"
    if lowered in ("de", "dei", "han", "hun", "ho", "den", "det", "jeg", "eg"):
        return "pronoun"
    for size in range(min(len(words), 6), 0, -1):  # the longest known name in the subject phrase
        for first in range(len(words) - size + 1):
            name = gazetteer.canonical(" ".join(words[first:first + size]).strip(",.:;"))
            if name and name in gazetteer.entries:
                return _GAZETTEER_TYPE_CLASS.get(gazetteer.entries[name].type, "other")
    for group, stems in (("government", GOVERNMENT_WORDS), ("parliament", PARLIAMENT_WORDS),
                         ("ministry", MINISTRY_WORDS), ("agency", AGENCY_WORDS)):
        if any(stem in lowered for stem in stems):
            return group
    return "other"


def _parse_signals(doc: Doc, start: int, end: int, gazetteer: Gazetteer) -> dict[str, float]:
    out: dict[str, float] = {}
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or len(span) == 0:
        return {"parse=none": 1.0}
    tokens = list(span)
    roots = [t for t in tokens if t.head == t or t.head.i < span.start or t.head.i >= span.end]
    root = roots[0] if roots else tokens[0]
    out[f"root_lemma={root.lemma_.lower() or root.lower_}"] = 1.0
    out[f"root_pos={root.pos_}"] = 1.0
    for key, value in (("Tense", "tense"), ("VerbForm", "verbform"), ("Voice", "voice"), ("Mood", "mood")):
        for item in root.morph.get(key):
            out[f"root_{value}={item}"] = 1.0
    first = tokens[0]
    out[f"first_pos={first.pos_}"] = 1.0
    out[f"first_word={NYNORSK_TO_BOKMAAL.get(first.lower_, first.lower_)}"] = 1.0
    if first.pos_ == "VERB" and "Inf" in first.morph.get("VerbForm"):
        out["opens_with_infinitive"] = 1.0
    modals = [t for t in tokens[:12] if t.lower_ in MODALS]
    if modals:
        out["modal"] = 1.0
        out[f"modal={modals[0].lower_}"] = 1.0
        out[f"modal_position={_bucket(modals[0].i - span.start, (0, 1, 2, 4, 8))}"] = 1.0
    for t in tokens:
        lower = t.lower_
        if lower in NEGATIONS or "Neg" in t.morph.get("Polarity"):
            out["negation"] = 1.0
        if lower in FIRST_PERSON_PLURAL:
            out["first_person_plural"] = 1.0
        if t.pos_ in ("VERB", "AUX") and ("Pass" in t.morph.get("Voice") or (lower.endswith("s") and
                                                                               t.pos_ == "VERB" and len(lower) > 4)):
            out["passive_s"] = 1.0
        if (t.lemma_.lower() in ("bli", "verte") or lower in ("blir", "bli", "vert", "verte", "blitt", "vorte")):
            out["passive_bli"] = 1.0
        if lower in ("har", "hadde", "har") and t.pos_ == "AUX":
            out["perfect_aux"] = 1.0
        if "Past" in t.morph.get("Tense") and t.pos_ in ("VERB", "AUX"):
            out["past_tense"] = 1.0
        if lower in ("ønsker", "ønskjer", "forventer", "forventar", "mener", "meiner", "målet", "mål"):
            out[f"goal_word={NYNORSK_TO_BOKMAAL.get(lower, lower)}"] = 1.0
    subjects = [t for t in tokens if t.dep_ in ("nsubj", "nsubj:pass") and (t.head == root or t.head.head == root)]
    if subjects:
        subject = subjects[0]
        written = doc.text[subject.left_edge.idx:subject.right_edge.idx + len(subject.right_edge)]
        out[f"subject={subject_class(written, gazetteer)}"] = 1.0
        out[f"subject_before_root={subject.i < root.i}"] = 1.0
    else:
        out["subject=none"] = 1.0
    out[f"tokens={_bucket(len(tokens), (3, 6, 10, 20, 35, 60))}"] = 1.0
    return out


def _list_shape(structured: StructuredText) -> dict[str, tuple[int, int]]:
    """Block id → (position in its list, list length)."""
    members: dict[str, list[str]] = defaultdict(list)
    for block in structured.blocks:
        if block.kind == BlockKind.LIST_ITEM and block.list_id:
            members[block.list_id].append(block.id)
    shape = {}
    for ids in members.values():
        for position, block_id in enumerate(ids):
            shape[block_id] = (position, len(ids))
    return shape


def candidate_rows(structured: StructuredText, doc: Doc, candidates: list[Candidate], rule_measures: list[Measure],
                   rules: FeatureRules) -> list[dict]:
    """One row ({signals, text, context}) per candidate, in order."""
    text = structured.text
    shape = _list_shape(structured)
    # Who speaks in each paragraph of a news text (the rules' reading): "vi skal …" counts from the government only.
    speakers = _Speakers(text, rules.prose_rules)
    voice = {block.id: speakers.government_voice(text[block.start:block.end])
             for block in structured.blocks if block.kind == BlockKind.PARAGRAPH}
    title = next((text[b.start:b.end] for b in structured.blocks if b.kind == BlockKind.HEADING), "")
    title_words = ["title:" + word for word in normalised_words(title)[:12]]
    previous_block: dict[str, str] = {}
    for before, after in zip(structured.blocks, structured.blocks[1:], strict=False):
        previous_block[after.id] = text[before.start:before.end][-200:]
    document_signals = {f"document_rule_measures={_bucket(len(rule_measures), (0, 1, 3, 8, 20))}": 1.0,
                        f"title_subject={subject_class(title, rules.gazetteer)}": 1.0,
                        f"document_blocks={_bucket(len(structured.blocks), (5, 15, 40, 100))}": 1.0}
    intro_verdicts: dict[str, tuple[bool, str]] = {}
    ordered_rules = sorted(rule_measures, key=lambda m: m.start)
    rule_starts = [m.start for m in ordered_rules]
    longest_rule = max((m.end - m.start for m in ordered_rules), default=0)
    rows = []
    for candidate in candidates:
        block = candidate.block
        signals: dict[str, float] = {f"kind={candidate.kind}": 1.0, f"block={block.kind}": 1.0, **document_signals}
        if block.kind == BlockKind.PARAGRAPH:
            signals["government_voice"] = float(voice.get(block.id, True))
            signals["quote_paragraph"] = float(text[block.start:block.end].lstrip().startswith(_QUOTE_START))
        # Rule signals.
        for method in candidate.rule_methods:
            signals["rule_span"] = 1.0
            signals[f"rule_method={method}"] = 1.0
        # Only the rule measures whose span meets the candidate's: compared with all, long documents were quadratic.
        first = bisect.bisect_left(rule_starts, candidate.start - longest_rule)
        last = bisect.bisect_left(rule_starts, candidate.end)
        near = [(overlap(candidate.text, m.text), m.method) for m in ordered_rules[first:last]
                if m.end > candidate.start]
        best = max(near, default=(0.0, None))
        if best[0] >= 0.8:
            signals["rule_match"] = 1.0
            signals[f"rule_match_method={best[1]}"] = 1.0
        elif best[0] >= 0.4:
            signals["rule_partial"] = 1.0
        verdict = _match_sentence(candidate.text.lstrip("–—-«\"“„ "), rules.prose_rules, rules.strength_rules, True,
                                  rules.prose_rules.antecedent_before(text, candidate.start))
        if verdict is not None:
            signals["prose_pattern"] = 1.0
            signals[f"prose_pattern={verdict[1]}"] = 1.0
            signals[f"prose_pattern_at_start={verdict[0] == 0}"] = 1.0
        strength = assess_strength(candidate.text, rules.strength_rules)
        signals[f"rule_strength={strength.strength}"] = 1.0
        if strength.verb_start is not None:
            signals["action_wording"] = 1.0
            signals[f"action_wording_at={_bucket(strength.verb_start, (0, 15, 40, 80))}"] = 1.0
            signals[f"action={' '.join(normalised_words(strength.modality or ''))}"] = 1.0
        # Parse.
        signals.update(_parse_signals(doc, candidate.start, candidate.end, rules.gazetteer))
        # Structure.
        intro_text = ""
        if block.kind == BlockKind.LIST_ITEM:
            position, length = shape.get(block.id, (0, 1))
            signals[f"list_position={_bucket(position, (0, 1, 3, 7, 15))}"] = 1.0
            signals[f"list_length={_bucket(length, (1, 2, 4, 8, 16, 30))}"] = 1.0
            signals["list_last"] = float(position == length - 1)
            signals[f"list_depth={block.level or 0}"] = 1.0
            if block.intro_block:
                if block.intro_block not in intro_verdicts:
                    intro = structured.block_by_id(block.intro_block)
                    intro_full = text[intro.start:intro.end]
                    lead = intro.start + max(0, intro_full.rfind(last_sentence(intro_full)))
                    named = rules.prose_rules.antecedent_before(text, lead)
                    intro_verdicts[block.intro_block] = (
                        rules.list_rules.introduces_measures(intro, intro_full, named),
                        last_sentence(intro_full)[-300:])
                matched, intro_text = intro_verdicts[block.intro_block]
                intro_kind = structured.block_by_id(block.intro_block).kind
                signals["intro_commitment"] = float(matched)
                signals[f"intro_kind={intro_kind}"] = 1.0
                intro_words = normalised_words(intro_text)
                for n in (1, 2, 3):
                    if len(intro_words) >= n:
                        signals[f"intro_last{n}={' '.join(intro_words[-n:])}"] = 1.0
                signals["intro_colon"] = float(intro_text.rstrip(" »”\"'").endswith(":"))
                signals[f"intro_subject={subject_class(' '.join(intro_text.split()[:4]), rules.gazetteer)}"] = 1.0
            else:
                signals["no_intro"] = 1.0
        section = structured.section_path(block)
        signals[f"heading_depth={min(len(section), 5)}"] = 1.0
        heading = section[-1] if section else ""
        if candidate.sentence is not None:
            sentence_start = candidate.sentence[0]
            signals["paragraph_first_sentence"] = float(sentence_start == block.start)
        if candidate.kind == KIND_REPORTED:
            signals["reported"] = 1.0
        words = normalised_words(candidate.text)
        signals[f"words={_bucket(len(words), (2, 4, 8, 15, 25, 40, 70))}"] = 1.0
        signals["ends_question"] = float(candidate.text.rstrip().endswith("?"))
        signals["ends_colon"] = float(candidate.text.rstrip().endswith(":"))
        signals["has_digit"] = float(any(ch.isdigit() for ch in candidate.text))
        signals["starts_lower"] = float(candidate.text[:1].islower())
        signals["item"] = float(candidate.kind == KIND_LIST_ITEM)
        if candidate.sentence is not None and candidate.sentence[0] > block.start:
            previous = text[max(block.start, candidate.sentence[0] - 200):candidate.sentence[0]]
        else:
            previous = previous_block.get(block.id, "")
        context = " ".join([*normalised_words(intro_text)[-12:], "||", *normalised_words(heading)[-8:], "||",
                            *("before:" + word for word in normalised_words(previous)[-8:]), *title_words])
        rows.append({"signals": signals, "text": " ".join(words), "context": context})
    return rows
