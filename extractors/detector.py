"""The trained measure detector (models/measures): which candidates are measures, with a confidence, and their
strength.

The artifact (skops) is untrusted input like the focus-area classifier's: its sha256 must equal the one in its
card, and every type it names must be on ``pipeline.analysis.classify.ALLOWED_ARTIFACT_TYPES`` (nothing in it can name
code to run). It is loaded once per process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from spacy.tokens import Doc

from extractors.candidates import Candidate, find_candidates
from extractors.detector_features import FeatureRules, candidate_rows
from pipeline.errors import TiltakError
from pipeline.schema import Measure

DEFAULT_DETECTOR = Path(__file__).resolve().parents[1] / "models" / "measures"
ARTIFACT = "detector.skops"
CARD_JSON = "card.json"
MODEL_NAME = "tiltak-measure-detector"
STRENGTHS = ("binding", "intention", "exploratory")
METHOD_MODEL = "model"


# Every type a measure-detector artifact may contain, with the skops loader that rebuilds it: exactly what
# models/measures/train.py writes (three LogisticRegression models: detector, strength and the Platt scaling of the
# detector's probabilities; and the feature settings as a dict); a test
# fails when the shipped artifact names anything else. Reviewed like pipeline.analysis.classify.ALLOWED_ARTIFACT_TYPES:
# no function, method, partial, operator or reduce loader.
DETECTOR_ARTIFACT_TYPES: dict[str, frozenset[str]] = {
    "builtins.dict": frozenset({"DictNode"}),
    "builtins.list": frozenset({"ListNode"}),
    "builtins.str": frozenset({"JsonNode", "TypeNode"}),  # JsonNode: every number, string, bool and None
    "numpy.ndarray": frozenset({"NdArrayNode"}),
    "sklearn.linear_model._logistic.LogisticRegression": frozenset({"ObjectNode"}),
}


class DetectorError(TiltakError):
    pass


@dataclass
class DetectorInput:
    """A document as the detector sees it: its candidates, their feature rows, and the rule extractor's measures."""

    candidates: list[Candidate]
    rows: list[dict]
    rule_measures: list[Measure] = field(default_factory=list)


def feature_rules(config) -> FeatureRules:
    from extractors.actors import load_gazetteer
    from extractors.commitments import load_strength_rules
    from extractors.measures import load_list_intro_rules, load_prose_rules

    return FeatureRules(load_list_intro_rules(config.list_intros, config.actors),
                        load_prose_rules(config.prose_measures, config.actors),
                        load_strength_rules(config.commitments), load_gazetteer(config.actors))


def detector_input(structured, doc: Doc, rule_measures: list[Measure], rules: FeatureRules) -> DetectorInput:
    candidates = find_candidates(structured, doc, rule_measures)
    return DetectorInput(candidates, candidate_rows(structured, doc, candidates, rule_measures, rules),
                         list(rule_measures))


def analyse_for_detector(path: Path, config, loaded, rules: FeatureRules) -> DetectorInput:
    """A file through load → structure → spaCy → the rule extractor, as the detector sees it (for training)."""
    from extractors.extract import extract_with_rules
    from pipeline.analysis.nlp import parse
    from pipeline.reading.loaders import load_document
    from pipeline.reading.structure import build_structure

    structured = build_structure(load_document(Path(path)))
    doc = parse(loaded, structured.text)
    extraction = extract_with_rules(structured, doc, config)
    return detector_input(structured, doc, extraction.measures, rules)


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def select(candidates: list[Candidate], probabilities, threshold: float) -> list[int]:
    """The candidates taken as measures: probability ≥ ``threshold``, most probable first, none overlapping one
    already taken (a sentence and its reported clause are one measure) and none repeating one's text; in
    document order."""
    order = sorted((i for i, p in enumerate(probabilities) if p >= threshold), key=lambda i: -probabilities[i])
    taken: list[int] = []
    spans: list[tuple[int, int]] = []
    seen: set[str] = set()
    for i in order:
        candidate = candidates[i]
        key = _key(candidate.text)
        if key in seen or any(candidate.start < end and start < candidate.end for start, end in spans):
            continue
        taken.append(i)
        spans.append((candidate.start, candidate.end))
        seen.add(key)
    return sorted(taken, key=lambda i: candidates[i].start)


def log_odds(probabilities) -> np.ndarray:
    clipped = np.clip(np.asarray(probabilities, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def apply_calibrator(calibrator, probabilities) -> np.ndarray:
    """The detector's probabilities through its Platt scaling (a logistic regression on their log-odds, fitted on
    grouped cross-validated probabilities by the recipe): what ``confidence`` reports."""
    return calibrator.predict_proba(log_odds(probabilities).reshape(-1, 1))[:, 1]


def select_hybrid(candidates: list[Candidate], probabilities, threshold: float) -> list[int]:
    """The hybrid policy: every candidate a rule took (the rules' measures, kept whatever the model says), plus the
    model's candidates of probability ≥ ``threshold`` that overlap none of them (chosen among themselves by
    ``select``); in document order."""
    ruled = [i for i, candidate in enumerate(candidates) if candidate.rule_methods]
    spans = [(candidates[i].start, candidates[i].end) for i in ruled]
    keys = {_key(candidates[i].text) for i in ruled}
    others = [p if not candidates[i].rule_methods and _key(candidates[i].text) not in keys
              and not any(candidates[i].start < end and start < candidates[i].end for start, end in spans) else -1.0
              for i, p in enumerate(probabilities)]
    return sorted([*ruled, *select(candidates, others, threshold)], key=lambda i: candidates[i].start)


POLICIES = ("model", "hybrid")


# The feature hashing, in code rather than in the artifact: hashers keep no state, so the artifact holds only the
# two logistic regressions' coefficients and these settings (checked at load: a model trained with other settings
# is refused). No vocabulary, hence no text of a training page, is stored.
FEATURES = {"version": 1, "signals": 2 ** 15, "words": 2 ** 17, "word_ngrams": [1, 3], "context": 2 ** 15,
            "context_ngrams": [1, 2]}


@cache
def _hashers():
    from sklearn.feature_extraction import FeatureHasher
    from sklearn.feature_extraction.text import HashingVectorizer

    return (FeatureHasher(n_features=FEATURES["signals"], input_type="dict", alternate_sign=False),
            HashingVectorizer(n_features=FEATURES["words"], ngram_range=tuple(FEATURES["word_ngrams"]),
                              alternate_sign=False, norm="l2", token_pattern=r"(?u)\b\w+\b"),
            HashingVectorizer(n_features=FEATURES["context"], ngram_range=tuple(FEATURES["context_ngrams"]),
                              alternate_sign=False, norm="l2", token_pattern=r"\S+"))


def features(rows: list[dict]):
    """The sparse feature matrix of candidate rows (``extractors.detector_features.candidate_rows``)."""
    from scipy.sparse import hstack

    signals, words, context = _hashers()
    return hstack([signals.transform([row["signals"] for row in rows]),
                   words.transform([row["text"] for row in rows]),
                   context.transform([row["context"] for row in rows])]).tocsr()


@dataclass
class Detection:
    candidate: Candidate
    confidence: float
    strength: str
    strength_confidence: float


@dataclass
class MeasureDetector:
    detector: object
    strength: object
    threshold: float
    card: dict
    hybrid_threshold: float = 0.5
    calibrator: object = None

    def detect(self, data: DetectorInput, threshold: float | None = None, policy: str = "model") -> list[Detection]:
        """The candidates taken as measures: by the model alone (``policy`` "model": probability ≥ ``threshold``,
        default the card's threshold) or "hybrid" (the rules' measures kept, the model's added at ≥ ``threshold``,
        default the card's hybrid threshold)."""
        if not data.candidates:
            return []
        x = features(data.rows)
        probabilities = self.detector.predict_proba(x)[:, 1]
        if self.calibrator is not None:
            probabilities = apply_calibrator(self.calibrator, probabilities)
        if policy == "hybrid":
            chosen = select_hybrid(data.candidates, probabilities,
                                   self.hybrid_threshold if threshold is None else threshold)
        else:
            chosen = select(data.candidates, probabilities, self.threshold if threshold is None else threshold)
        if not chosen:
            return []
        strength_probabilities = self.strength.predict_proba(x[chosen])
        classes = [int(c) for c in self.strength.classes_]
        detections = []
        for row, i in zip(strength_probabilities, chosen, strict=True):
            best = int(np.argmax(row))
            detections.append(Detection(data.candidates[i], round(float(probabilities[i]), 4),
                                        STRENGTHS[classes[best]], round(float(row[best]), 4)))
        return detections


_cache: dict[str, MeasureDetector] = {}
_lock = threading.Lock()


def load_detector(directory: Path = DEFAULT_DETECTOR) -> MeasureDetector:
    """The detector in ``directory``, loaded once per process; refused when its sha256 differs from its card's or
    it names a type outside the trust list."""
    key = str(Path(directory).resolve())
    with _lock:
        if key not in _cache:
            _cache[key] = _load(Path(directory))
        return _cache[key]


def _load(directory: Path) -> MeasureDetector:
    from pipeline.analysis.classify import load_pinned_artifact

    card, artifact, _, models = load_pinned_artifact(
        directory, what="measure detector", error=DetectorError, card_name=CARD_JSON, allowed=DETECTOR_ARTIFACT_TYPES,
        listed_in="extractors.detector.DETECTOR_ARTIFACT_TYPES", retrain="retrain with models/measures/train.py")
    try:
        detector = MeasureDetector(models["detector"], models["strength"], float(card["threshold"]), card,
                                   float(card.get("hybrid_threshold", card["threshold"])), models.get("calibrator"))
        same_features = models["features"] == FEATURES
    except Exception as exc:
        raise DetectorError(f"{artifact}: cannot load the measure detector: {str(exc).splitlines()[0]}") from exc
    if not same_features:
        raise DetectorError(f"{artifact}: trained with other features ({models['features']}) than this tiltak "
                            f"computes ({FEATURES}); retrain it with models/measures/train.py")
    return detector
