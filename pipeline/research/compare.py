"""Comparing documents: which measures continue, which changed, which are new and which were dropped.

Documents are compared in the order given, each with the next (A→B, B→C, …). For a pair, every measure of A is
scored against every measure of B by the pair scorer (``pipeline/research/similarity.py``: lemmas, compound parts,
Nynorsk mapped to Bokmål, verbal nouns to verbs, character n-grams, amounts, actors and mutual-best closeness, combined
by a logistic regression fitted on real document pairs), and the measures are aligned one-to-one by the assignment that
maximises the total score (``scipy.optimize.linear_sum_assignment``); pairs below ``similarity.MIN_PROBABILITY`` are
not aligned. An aligned pair is ``continued`` when its wording is near-identical (``CONTINUED_OVERLAP``) and it keeps
its action verb, strength and actors, otherwise ``modified``, with what changed; it carries the evidence that decided
it. B's unaligned measures are ``new``, A's are ``dropped``. The aligned pairs chain into measure histories across all
the documents. Per document: the focus-area distribution, the strength profile and the actors; per pair their deltas.

The comparison JSON has its own versioned schema (``pipeline/schemas/tiltak-comparison-<version>.schema.json``),
generated from the models below like the document schema.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline import __version__
from pipeline.config import EXTRACTOR_DATA
from pipeline.errors import TiltakError
from pipeline.io import atomic_write_text, parse_yaml
from pipeline.research import similarity
from pipeline.schema import DocumentResult, Measure

COMPARISON_SCHEMA_VERSION = "1.1.0"
COMPARISON_SCHEMA_ID = (
    f"https://tiltak.invalid/schemas/tiltak-comparison-{COMPARISON_SCHEMA_VERSION}.schema.json")
COMPARISON_SCHEMA_FILE = f"tiltak-comparison-{COMPARISON_SCHEMA_VERSION}.schema.json"
COMMITMENT_WORDS = EXTRACTOR_DATA / "commitments.yaml"

# --- Thresholds ----------------------------------------------------------------------------------------------------
# Alignment is decided by the pair scorer of ``pipeline/research/similarity.py`` (weights and ``MIN_PROBABILITY`` fitted
# and cross-validated on real document pairs, ``benchmarks/compare_real.py``).
# CONTINUED_OVERLAP, on the whole texts (action wording included): near-identical. The development set's
# near-identical pairs (``benchmarks/compare_dev.py``: one word changed in a long sentence, "Regjeringen vil" in
# front) overlap 0.89 and 1.0, a Bokmål sentence and its Nynorsk translation 1.0; its reworded pairs 0.77–0.90, the
# one above 0.8 with a new action verb ("styrke" → "videreutvikle"), which ``status_of`` also requires to be the same.
CONTINUED_OVERLAP = 0.8

# The earlier method, kept as the baseline the benchmarks compare against (``similarity_matrix``): TF-IDF cosine
# over character and word n-grams plus token overlap, calibrated on the development set (benchmarks/compare_dev.py):
# the restated pairs scored 0.21–0.83, the 766 pairs of different measures at most 0.39; MIN_SIMILARITY 0.2 gave its
# best F1 there (P 0.90, R 1.00). On the real document pairs it reaches P 0.91, R 0.48 (F1 0.63), on the seeds
# P 0.50, R 0.25.
MIN_SIMILARITY = 0.2
CONTINUED_SIMILARITY = 0.82
WEIGHT_CHAR, WEIGHT_WORD, WEIGHT_OVERLAP = 0.5, 0.25, 0.25
CHAR_NGRAMS = (3, 5)
WORD_NGRAMS = (1, 2)

# Norwegian (Bokmål and Nynorsk) function words: they carry no content for telling measures apart.
_FUNCTION_WORDS = """
    og i på til for av med som at en et ei den det de dei dem der her om å er var vil skal kan må bli blir blitt
    være vere har ha hadde ved fra frå eller men så seg sin sitt sine hans hennes deres vår våre vårt
    denne dette disse desse også ikke ikkje inn ut opp ned over under mot mellom gjennom etter før når hvor kor
    hvordan korleis hva kva slik slike sånn både enn mer meir mest andre annen anna annet noe noko noen nokon alle
    all alt hele heile samt herunder blant innen innanfor innenfor samme same sammen saman
"""
STOP_WORDS = frozenset(_FUNCTION_WORDS.split())

_TOKEN = re.compile(r"\w+", re.UNICODE)

Status = Literal["continued", "modified"]
Change = Literal["wording", "strength", "actors", "focus_area"]
CHANGE_ORDER: tuple[Change, ...] = ("wording", "strength", "actors", "focus_area")
STRENGTHS = ("binding", "intention", "exploratory")


# --- The comparison JSON -----------------------------------------------------------------------------------------

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrengthProfile(_Model):
    """How a document's measures spread over the strengths; shares are of all its measures (they sum to 1)."""

    binding: float = Field(ge=0.0, le=1.0)
    intention: float = Field(ge=0.0, le=1.0)
    exploratory: float = Field(ge=0.0, le=1.0)
    unassessed: float = Field(ge=0.0, le=1.0, description="Measures without a strength.")
    counts: dict[str, int] = Field(description="Measures per strength (binding, intention, exploratory, "
                                               "unassessed).")


class FocusAreaShare(_Model):
    label: str = Field(description="Focus-area label; 'unclassified' for measures without one.")
    count: int = Field(ge=0)
    share: float = Field(ge=0.0, le=1.0)


class PolicyAreaShare(_Model):
    code: int | None = Field(description="CAP major topic code; null for measures without a policy area.")
    label: str = Field(description="The policy area's label; 'unclassified' for measures without one.")
    count: int = Field(ge=0)
    share: float = Field(ge=0.0, le=1.0)


class ComparedDocument(_Model):
    index: int = Field(ge=0, description="Position in the comparison (documents are compared in this order).")
    id: str
    title: str | None = None
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    file_name: str
    document_type: str
    measure_count: int = Field(ge=0)
    focus_areas: list[FocusAreaShare] = Field(description="The measures over focus areas, largest first; "
                                                          "shares sum to 1.")
    policy_areas: list[PolicyAreaShare] = Field(
        default_factory=list, description="The measures over policy areas (CAP major topics), largest first; shares "
        "sum to 1.")
    strength_profile: StrengthProfile
    actors: list[str] = Field(description="Canonical names of the document's actors (organisations), sorted.")
    measure_actors: list[str] = Field(description="Actors named inside the document's measures, sorted.")


class PairEvidence(_Model):
    """What decided an aligned pair: the pair scorer's signals, each signal's part of the score and what the two
    measures share."""

    signals: dict[str, float] = Field(description="The pair scorer's signals in [0, 1] (pipeline/similarity.py): "
                                      "char (character n-gram TF-IDF cosine), roots (IDF-weighted overlap of lemmas "
                                      "and compound parts), verb (same action verb), amounts (both name an amount), "
                                      "same_amount, actors (overlap of the actors named), best (how close the pair "
                                      "comes to each side's best candidate).")
    contributions: dict[str, float] = Field(description="Each signal's part of the score: weight × value, in "
                                            "log-odds (the intercept not included).")
    shared_roots: list[str] = Field(description="Lemmas and compound parts both measures contain (Nynorsk mapped to "
                                    "Bokmål, verbal nouns to their verbs), rarest first.")
    shared_amounts: list[float] = Field(description="Amounts both name (scaled by their unit word: millions, "
                                        "billions).")
    shared_actors: list[str] = Field(description="Actors both name.")
    a_action: str | None = Field(default=None, description="A's action verb (its root), when found.")
    b_action: str | None = Field(default=None, description="B's action verb (its root), when found.")


class AlignedMeasure(_Model):
    """A measure of A and the measure of B it continues or modifies."""

    a_id: str
    b_id: str
    a_text: str
    b_text: str
    similarity: float = Field(ge=0.0, le=1.0, description="What the alignment used: the pair scorer's probability "
                              "that the two are the same measure (on the texts without their leading action "
                              "wording).")
    text_similarity: float = Field(ge=0.0, le=1.0, description="Wording overlap of the whole texts: shared roots "
                                   "over the root count of the longer one (decides continued).")
    status: Status = Field(description="continued: near-identical, same strength and actors; modified: the same "
                                       "measure with changed wording, strength or actors.")
    changed: list[Change] = Field(description="What differs between the two: wording (the words, ignoring case "
                                              "and punctuation), strength, actors, focus_area.")
    a_strength: str | None = None
    b_strength: str | None = None
    actors_added: list[str] = Field(default_factory=list)
    actors_removed: list[str] = Field(default_factory=list)
    a_focus_area: str | None = None
    b_focus_area: str | None = None
    a_policy_area: int | None = None
    b_policy_area: int | None = None
    evidence: PairEvidence | None = Field(default=None, description="The signals that decided the pair.")


class UnalignedMeasure(_Model):
    """A measure only in B (new) or only in A (dropped); ``nearest`` is the closest measure of the other document
    (below the alignment threshold, or taken by a closer pair)."""

    id: str
    text: str
    strength: str | None = None
    focus_area: str | None = None
    policy_area: int | None = None
    nearest_id: str | None = None
    nearest_similarity: float | None = Field(default=None, ge=0.0, le=1.0)


class StatusCounts(_Model):
    continued: int = Field(ge=0)
    modified: int = Field(ge=0)
    new: int = Field(ge=0)
    dropped: int = Field(ge=0)


class FocusAreaDelta(_Model):
    label: str
    a_share: float = Field(ge=0.0, le=1.0)
    b_share: float = Field(ge=0.0, le=1.0)
    delta: float = Field(ge=-1.0, le=1.0, description="b_share - a_share.")


class StrengthDelta(_Model):
    binding: float = Field(ge=-1.0, le=1.0)
    intention: float = Field(ge=-1.0, le=1.0)
    exploratory: float = Field(ge=-1.0, le=1.0)
    unassessed: float = Field(ge=-1.0, le=1.0)


class PairComparison(_Model):
    """Document ``a`` (earlier) against document ``b`` (later), by their index in ``documents``."""

    a: int = Field(ge=0)
    b: int = Field(ge=0)
    a_id: str
    b_id: str
    counts: StatusCounts
    aligned: list[AlignedMeasure] = Field(description="In the order of B's measures.")
    new: list[UnalignedMeasure] = Field(description="Measures of B that align with none of A.")
    dropped: list[UnalignedMeasure] = Field(description="Measures of A that align with none of B.")
    focus_area_deltas: list[FocusAreaDelta] = Field(description="Every focus area of either document, largest "
                                                                "change first.")
    strength_deltas: StrengthDelta = Field(description="B's strength shares minus A's.")
    actors_gained: list[str] = Field(description="Actors of B that A does not name.")
    actors_lost: list[str] = Field(description="Actors of A that B does not name.")
    measure_actors_gained: list[str] = Field(description="Actors named in B's measures but in none of A's.")
    measure_actors_lost: list[str] = Field(description="Actors named in A's measures but in none of B's.")


class ComparisonMethod(_Model):
    similarity: str
    weights: dict[str, float]
    min_similarity: float
    continued_similarity: float


class HistoryStep(_Model):
    """One measure in one document of a history."""

    document: int = Field(ge=0, description="Index in ``documents``.")
    measure_id: str
    text: str
    status: Literal["first", "continued", "modified"] = Field(description="first: where the history starts (the "
                                                             "first document, or new there); otherwise how it "
                                                             "relates to the previous step.")
    strength: str | None = None
    amounts: list[float] = Field(default_factory=list, description="Amounts the measure names (scaled by their unit "
                                 "word: millions, billions).")
    similarity: float | None = Field(default=None, ge=0.0, le=1.0, description="The pair score with the previous "
                                     "step.")


class MeasureHistory(_Model):
    """The same measure across the documents, following the aligned pairs A→B→C…: one step per document it is in.
    A history ends where the measure is dropped; one that only appears later starts as new there."""

    id: str = Field(description="h<first document>-<measure id there>.")
    steps: list[HistoryStep] = Field(min_length=1)
    first_document: int = Field(ge=0)
    last_document: int = Field(ge=0)
    dropped_after: int | None = Field(default=None, description="The document after which it was dropped (None "
                                      "when it reaches the last document).")
    strengths: list[str | None] = Field(description="The strength at each step, in order.")


class ComparisonResult(_Model):
    """The comparison of two or more document JSONs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"$id": COMPARISON_SCHEMA_ID, "$schema": "https://json-schema.org/draft/2020-12/schema"},
        title="tiltak comparison",
    )

    schema_version: str = COMPARISON_SCHEMA_VERSION
    kind: Literal["comparison"] = Field(default="comparison", description="Tells a comparison from a document JSON.")
    tool: Literal["tiltak"] = "tiltak"
    tool_version: str = __version__
    created_at: str = Field(description="UTC timestamp (ISO 8601) of the comparison.")
    method: ComparisonMethod
    documents: list[ComparedDocument] = Field(min_length=2)
    pairs: list[PairComparison] = Field(description="Each document against the next, in the order given.")
    histories: list[MeasureHistory] = Field(default_factory=list, description="Every measure's history across the "
                                            "documents (chained through the aligned pairs), longest first.")


def comparison_json_schema() -> dict:
    return ComparisonResult.model_json_schema(mode="serialization")


# --- Similarity ----------------------------------------------------------------------------------------------------

def content_tokens(text: str) -> list[str]:
    """Lower-cased word tokens (æøå kept), without function words."""
    words = _TOKEN.findall(unicodedata.normalize("NFC", text).lower())
    return [w for w in words if w not in STOP_WORDS]


@cache
def action_phrases() -> tuple[str, ...]:
    """The action wordings that set a measure's strength (the extractor's vocabulary), longest first."""
    data = parse_yaml(COMMITMENT_WORDS.read_text(encoding="utf-8"))
    phrases = {phrase.lower() for key in STRENGTHS for phrase in data.get(key, [])}
    return tuple(sorted(phrases, key=lambda phrase: (-len(phrase), phrase)))


def alignment_text(text: str) -> str:
    """The text measures are aligned on: without its leading action wording ("etablere", "legge til rette for",
    "vurdere"), which says how binding the measure is (compared on its own, as strength) rather than what it is
    about. With it, "legge til rette for X" and "legge til rette for Y" look alike, and "vurdere X" and
    "etablere X" look less alike than they are."""
    text = unicodedata.normalize("NFC", text).strip()
    lowered = text.lower()
    for phrase in action_phrases():
        if lowered.startswith(phrase) and not lowered[len(phrase):len(phrase) + 1].isalnum():
            rest = text[len(phrase):].strip()
            return rest if _TOKEN.search(rest) else text
    return text


def _word_tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFC", text).lower())


def _overlap(a: list[str], b: list[str]) -> float:
    """Shared tokens over the token count of the longer side (the evaluation's rule, on content words)."""
    longer = max(len(a), len(b))
    return sum((Counter(a) & Counter(b)).values()) / longer if longer else 0.0


def similarity_matrix(a_texts: list[str], b_texts: list[str]):
    """``len(a) × len(b)`` similarities in [0, 1] (numpy array); TF-IDF is fitted on both lists together."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not a_texts or not b_texts:
        return np.zeros((len(a_texts), len(b_texts)))
    a_tokens = [content_tokens(t) for t in a_texts]
    b_tokens = [content_tokens(t) for t in b_texts]
    corpus = [" ".join(tokens) for tokens in a_tokens + b_tokens]
    n = len(a_texts)
    total = np.zeros((len(a_texts), len(b_texts)))
    vectorizers = (
        (WEIGHT_CHAR, TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True)),
        (WEIGHT_WORD, TfidfVectorizer(analyzer="word", ngram_range=WORD_NGRAMS, token_pattern=r"\S+",
                                      sublinear_tf=True)),
    )
    for weight, vectorizer in vectorizers:
        try:
            matrix = vectorizer.fit_transform(corpus)
        except ValueError:  # every text empty after stop words
            continue
        total += weight * (matrix[:n] @ matrix[n:].T).toarray()
    overlap = np.array([[_overlap(a, b) for b in b_tokens] for a in a_tokens])
    total += WEIGHT_OVERLAP * overlap
    return np.clip(total, 0.0, 1.0)


def score_matrix(a_measures: list[Measure], b_measures: list[Measure]):
    """The pair scorer's probabilities (``len(a) × len(b)`` numpy array) and the context their evidence comes from,
    on the texts without their leading action wording."""
    context = similarity.signal_array([alignment_text(m.text) for m in a_measures],
                                      [alignment_text(m.text) for m in b_measures],
                                      [list(m.actors) for m in a_measures], [list(m.actors) for m in b_measures],
                                      [m.text for m in a_measures], [m.text for m in b_measures])
    return similarity.probabilities(context), context


def align(similarity, min_similarity: float = MIN_SIMILARITY) -> list[tuple[int, int, float]]:
    """One-to-one (a index, b index, similarity) pairs maximising the total similarity of pairs at or above
    ``min_similarity``; pairs below it never take part (they would otherwise displace better ones)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    if similarity.size == 0:
        return []
    eligible = np.where(similarity >= min_similarity, similarity, 0.0)
    rows, cols = linear_sum_assignment(eligible, maximize=True)
    return sorted((int(i), int(j), float(similarity[i, j])) for i, j in zip(rows, cols, strict=True)
                  if similarity[i, j] >= min_similarity)


# --- The comparison ------------------------------------------------------------------------------------------------

def _round(value: float) -> float:
    return round(float(value), 4)


def _strength_profile(measures: list[Measure]) -> StrengthProfile:
    counts = Counter(m.strength if m.strength in STRENGTHS else "unassessed" for m in measures)
    total = len(measures)
    shares = {key: _round(counts[key] / total) if total else 0.0 for key in (*STRENGTHS, "unassessed")}
    return StrengthProfile(**shares, counts={key: counts[key] for key in (*STRENGTHS, "unassessed")})


def _focus_areas(measures: list[Measure]) -> list[FocusAreaShare]:
    counts = Counter(m.focus_area or "unclassified" for m in measures)
    total = len(measures)
    return [FocusAreaShare(label=label, count=count, share=_round(count / total))
            for label, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _policy_areas(measures: list[Measure]) -> list[PolicyAreaShare]:
    counts = Counter((m.policy_area, m.policy_area_label or "unclassified") for m in measures)
    total = len(measures)
    return [PolicyAreaShare(code=code, label=label, count=count, share=_round(count / total))
            for (code, label), count in sorted(counts.items(), key=lambda item: (-item[1], item[0][0] or 0))]


def _measure_actors(measures: list[Measure]) -> set[str]:
    return {actor for m in measures for actor in m.actors}


def _describe(index: int, result: DocumentResult) -> ComparedDocument:
    doc = result.document
    return ComparedDocument(
        index=index, id=doc.id, title=doc.title, sha256=doc.sha256, file_name=doc.file_name,
        document_type=str(doc.document_type), measure_count=len(result.measures),
        focus_areas=_focus_areas(result.measures), policy_areas=_policy_areas(result.measures),
        strength_profile=_strength_profile(result.measures),
        actors=sorted({a.name for a in result.actors}), measure_actors=sorted(_measure_actors(result.measures)),
    )


def changes(a: Measure, b: Measure) -> list[Change]:
    """What differs between two aligned measures. A strength or focus area that one side did not assess is not
    counted as a change."""
    found: set[Change] = set()
    if _word_tokens(a.text) != _word_tokens(b.text):
        found.add("wording")
    if a.strength and b.strength and a.strength != b.strength:
        found.add("strength")
    if set(a.actors) != set(b.actors):
        found.add("actors")
    if a.focus_area and b.focus_area and a.focus_area != b.focus_area:
        found.add("focus_area")
    return [change for change in CHANGE_ORDER if change in found]


def wording_overlap(a_text: str, b_text: str) -> float:
    """Shared roots (lemmas, Bokmål for Nynorsk, compound parts) over the root count of the longer text: 1.0 for
    the same sentence in Bokmål and Nynorsk, or with only inflection changed."""
    a_roots, b_roots = similarity.roots(a_text), similarity.roots(b_text)
    longer = max(len(a_roots), len(b_roots))
    return sum((Counter(a_roots) & Counter(b_roots)).values()) / longer if longer else 0.0


def status_of(a_text: str, b_text: str, a_strength: str | None, b_strength: str | None,
              a_actors: list[str], b_actors: list[str]) -> Status:
    """continued: near-identical wording (``CONTINUED_OVERLAP`` of the roots), the same action verb (where both have
    one: "styrke" → "videreutvikle" is a change of what is done), the same strength and actors."""
    same_strength = not (a_strength and b_strength and a_strength != b_strength)
    a_verb, b_verb = similarity.action_verb(a_text), similarity.action_verb(b_text)
    same_action = a_verb is None or b_verb is None or a_verb == b_verb
    if (wording_overlap(a_text, b_text) >= CONTINUED_OVERLAP and same_action and same_strength
            and set(a_actors) == set(b_actors)):
        return "continued"
    return "modified"


def _evidence(signals: similarity.Signals) -> PairEvidence:
    return PairEvidence(
        signals={name: _round(value) for name, value in zip(similarity.Signals.FEATURES, signals.vector(),
                                                             strict=True)},
        contributions=similarity.contributions(signals), shared_roots=signals.shared_roots,
        shared_amounts=signals.shared_amounts, shared_actors=signals.shared_actors,
        a_action=signals.a_verb, b_action=signals.b_verb)


def classify_pair(a: Measure, b: Measure, score: float, signals: similarity.Signals | None = None) -> AlignedMeasure:
    """An aligned pair with its status, what changed and (given the signals) the evidence."""
    changed = changes(a, b)
    status = status_of(a.text, b.text, a.strength, b.strength, a.actors, b.actors)
    return AlignedMeasure(
        a_id=a.id, b_id=b.id, a_text=a.text, b_text=b.text, similarity=_round(score),
        text_similarity=_round(wording_overlap(a.text, b.text)), status=status,
        changed=changed, a_strength=a.strength, b_strength=b.strength,
        actors_added=sorted(set(b.actors) - set(a.actors)), actors_removed=sorted(set(a.actors) - set(b.actors)),
        a_focus_area=a.focus_area, b_focus_area=b.focus_area, a_policy_area=a.policy_area,
        b_policy_area=b.policy_area, evidence=_evidence(signals) if signals is not None else None,
    )


def _unaligned(measure: Measure, row, others: list[Measure]) -> UnalignedMeasure:
    nearest = int(row.argmax()) if len(row) else None
    return UnalignedMeasure(
        id=measure.id, text=measure.text, strength=measure.strength, focus_area=measure.focus_area,
        policy_area=measure.policy_area,
        nearest_id=others[nearest].id if nearest is not None else None,
        nearest_similarity=_round(row[nearest]) if nearest is not None else None,
    )


def compare_pair(a_index: int, a: DocumentResult, b_index: int, b: DocumentResult,
                 a_doc: ComparedDocument, b_doc: ComparedDocument) -> PairComparison:
    scores, context = score_matrix(a.measures, b.measures)
    pairs = align(scores, similarity.MIN_PROBABILITY)
    b_order = {m.id: j for j, m in enumerate(b.measures)}
    aligned = sorted((classify_pair(a.measures[i], b.measures[j], score, context.signals(i, j))
                      for i, j, score in pairs),
                     key=lambda pair: b_order[pair.b_id])
    used_a, used_b = {i for i, _, _ in pairs}, {j for _, j, _ in pairs}
    new = [_unaligned(m, scores[:, j], a.measures) for j, m in enumerate(b.measures) if j not in used_b]
    dropped = [_unaligned(m, scores[i, :], b.measures) for i, m in enumerate(a.measures) if i not in used_a]
    a_shares = {f.label: f.share for f in a_doc.focus_areas}
    b_shares = {f.label: f.share for f in b_doc.focus_areas}
    deltas = [FocusAreaDelta(label=label, a_share=a_shares.get(label, 0.0), b_share=b_shares.get(label, 0.0),
                             delta=_round(b_shares.get(label, 0.0) - a_shares.get(label, 0.0)))
              for label in a_shares.keys() | b_shares.keys()]
    deltas.sort(key=lambda d: (-abs(d.delta), d.label))
    sa, sb = a_doc.strength_profile, b_doc.strength_profile
    return PairComparison(
        a=a_index, b=b_index, a_id=a_doc.id, b_id=b_doc.id,
        counts=StatusCounts(continued=sum(p.status == "continued" for p in aligned),
                            modified=sum(p.status == "modified" for p in aligned), new=len(new), dropped=len(dropped)),
        aligned=aligned, new=new, dropped=dropped, focus_area_deltas=deltas,
        strength_deltas=StrengthDelta(**{key: _round(getattr(sb, key) - getattr(sa, key))
                                         for key in (*STRENGTHS, "unassessed")}),
        actors_gained=sorted(set(b_doc.actors) - set(a_doc.actors)),
        actors_lost=sorted(set(a_doc.actors) - set(b_doc.actors)),
        measure_actors_gained=sorted(set(b_doc.measure_actors) - set(a_doc.measure_actors)),
        measure_actors_lost=sorted(set(a_doc.measure_actors) - set(b_doc.measure_actors)),
    )


def measure_histories(results: list[DocumentResult], pairs: list[PairComparison]) -> list[MeasureHistory]:
    """Chain the aligned pairs of A→B, B→C, … into one history per measure (longest first, then by where it
    starts)."""
    open_histories: dict[str, list[HistoryStep]] = {}  # measure id in the current document -> its history's steps
    finished: list[tuple[list[HistoryStep], int | None]] = []

    def step(index: int, measure: Measure, status, score: float | None) -> HistoryStep:
        return HistoryStep(document=index, measure_id=measure.id, text=measure.text, status=status,
                           strength=measure.strength, amounts=sorted(similarity.amounts(measure.text)),
                           similarity=score)

    for measure in results[0].measures:
        open_histories[measure.id] = [step(0, measure, "first", None)]
    for pair in pairs:
        later = {m.id: m for m in results[pair.b].measures}
        following: dict[str, list[HistoryStep]] = {}
        for aligned in pair.aligned:
            steps = open_histories.pop(aligned.a_id)
            steps.append(step(pair.b, later[aligned.b_id], aligned.status, aligned.similarity))
            following[aligned.b_id] = steps
        finished.extend((steps, pair.a) for steps in open_histories.values())  # dropped in b
        for measure in results[pair.b].measures:
            following.setdefault(measure.id, [step(pair.b, measure, "first", None)])
        open_histories = following
    finished.extend((steps, None) for steps in open_histories.values())
    histories = [MeasureHistory(id=f"h{steps[0].document}-{steps[0].measure_id}", steps=steps,
                                first_document=steps[0].document, last_document=steps[-1].document,
                                dropped_after=dropped, strengths=[s.strength for s in steps])
                 for steps, dropped in finished]
    return sorted(histories, key=lambda h: (-len(h.steps), h.first_document, h.id))


def compare_documents(results: list[DocumentResult]) -> ComparisonResult:
    """Compare each document with the next, in the order given (at least two)."""
    if len(results) < 2:
        raise TiltakError("a comparison needs at least two documents")
    documents = [_describe(index, result) for index, result in enumerate(results)]
    pairs = [compare_pair(i, results[i], i + 1, results[i + 1], documents[i], documents[i + 1])
             for i in range(len(results) - 1)]
    return ComparisonResult(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        method=ComparisonMethod(
            similarity="pair scorer (pipeline/similarity.py): logistic regression over character n-gram TF-IDF, "
                       "IDF-weighted overlap of lemmas and compound parts (treebank lexicon; Nynorsk mapped to "
                       "Bokmål, verbal nouns to verbs), same action verb, amounts, shared actors and mutual-best "
                       "closeness (amounts and actors in proportion to the text similarity), fitted on real document "
                       "pairs, with a prior for the document pair's size; aligned on the texts without their leading "
                       "action wording, one-to-one by linear_sum_assignment",
            weights={name: _round(weight) for name, weight in similarity.WEIGHTS.items()},
            min_similarity=similarity.MIN_PROBABILITY, continued_similarity=CONTINUED_OVERLAP,
        ),
        documents=documents,
        pairs=pairs,
        histories=measure_histories(results, pairs),
    )


# --- Files ---------------------------------------------------------------------------------------------------------

def load_result(path: Path) -> DocumentResult:
    """A document JSON written by ``tiltak run``; a TiltakError naming the file and the reason otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TiltakError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise TiltakError(f"{path}: is a folder, not a document JSON") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TiltakError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        return DocumentResult.model_validate_json(text)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise TiltakError(f"{path}: not a tiltak document JSON: {first}") from exc


def render_comparison(comparison: ComparisonResult) -> str:
    data = comparison.model_dump(mode="json")
    errors = comparison_errors(data)
    if errors:
        raise TiltakError(f"comparison fails its schema: {'; '.join(errors[:5])}")
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def write_comparison(comparison: ComparisonResult, path: Path) -> Path:
    return atomic_write_text(path, render_comparison(comparison))


def comparison_errors(data: object) -> list[str]:
    """Everything wrong with a comparison JSON (parsed) against the committed schema; empty when valid."""
    from pipeline.store.validate import schema_errors

    return schema_errors(COMPARISON_SCHEMA_FILE, data)
