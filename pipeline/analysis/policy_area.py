"""Policy areas for measures: the 21 major topics of the Comparative Agendas Project (CAP), a second
classification axis beside the domain taxonomy's focus areas, for measures of every field.

The taxonomy is data (``models/policy_area/data/policy_areas.yaml``: CAP code, Bokmål, Nynorsk and English label,
a description). The classifier (``models/policy_area``) is loaded once per process, after the same checks as the
measure detector: the artifact's sha256 must equal its card's, and every type it names must be on
``POLICY_ARTIFACT_TYPES`` (nothing in it can name code to run). Its features are hashed here, in code (the hashers
keep no state): the artifact holds the idf weights and the linear model, no vocabulary, hence no text of the
annotated pages it was trained on.

Features: word 1–2-grams and character 2–5-grams of the measure itself, and word unigrams of its surroundings in
the document (``CONTEXT_BEFORE`` characters before it, ``CONTEXT_AFTER`` after), weighted lower: "Nå skal planen
settes i verk" is a climate measure only because of what stands around it.

Document prior: many measures are short ("styrke ordningen") and only the document says which field they are in. The
same model also reads the measure's part of the document (``document_text``: the document's first line, its title,
and ``DOCUMENT_REACH`` characters either side of the measure, on a ``DOCUMENT_STEP`` grid so that neighbouring
measures share one reading), and the measure's probabilities are mixed with that part's:
``(1 - w) * measure + w * document``, ``w`` (the artifact's ``document_weight``) chosen by grouped cross-validation
at training. Training and inference compute it with the same function from the same plain text.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import TiltakError
from pipeline.schema import ClassifierInfo, Measure, PolicyAreaSummary

MODELS = Path(__file__).resolve().parents[2] / "models"
DEFAULT_POLICY_MODEL = MODELS / "policy_area"
DEFAULT_POLICY_AREAS = DEFAULT_POLICY_MODEL / "data" / "policy_areas.yaml"
ARTIFACT = "classifier.skops"
CARD_JSON = "card.json"
MODEL_NAME = "tiltak-policy-area"
CAP_CODES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23)
CONTEXT_BEFORE = 400
CONTEXT_AFTER = 200
DOCUMENT_REACH = 3000
DOCUMENT_STEP = 1000
TITLE_CHARS = 200

# The feature settings, checked at load: a model trained with other settings is refused.
FEATURES = {"version": 2, "words": 2 ** 15, "word_ngrams": [1, 2], "chars": 2 ** 16, "char_ngrams": [2, 5],
            "context": 2 ** 14, "context_weight": 0.5, "context_before": CONTEXT_BEFORE,
            "context_after": CONTEXT_AFTER, "document_reach": DOCUMENT_REACH, "document_step": DOCUMENT_STEP,
            "title_chars": TITLE_CHARS}

# Every type a policy-area artifact may contain, with the skops loader that rebuilds it: exactly what
# models/policy_area/train.py writes (the idf weights, a sigmoid-calibrated LinearSVC, the feature settings as a
# dict); tests/test_policy_area.py fails when the shipped artifact names anything else. Reviewed like
# pipeline.analysis.classify.ALLOWED_ARTIFACT_TYPES: no function, method, partial, operator or reduce loader.
POLICY_ARTIFACT_TYPES: dict[str, frozenset[str]] = {
    "builtins.dict": frozenset({"DictNode"}),
    "builtins.list": frozenset({"ListNode"}),
    "builtins.str": frozenset({"JsonNode", "TypeNode"}),
    "numpy.ndarray": frozenset({"NdArrayNode"}),
    "numpy.float64": frozenset({"NdArrayNode", "TypeNode"}),
    "numpy.int64": frozenset({"NdArrayNode", "TypeNode"}),
    "sklearn.feature_extraction.text.TfidfTransformer": frozenset({"ObjectNode"}),
    "sklearn.calibration.CalibratedClassifierCV": frozenset({"ObjectNode"}),
    "sklearn.calibration._CalibratedClassifier": frozenset({"ObjectNode"}),
    "sklearn.calibration._SigmoidCalibration": frozenset({"ObjectNode"}),
    "sklearn.svm._classes.LinearSVC": frozenset({"ObjectNode"}),
    "sklearn.preprocessing._label.LabelEncoder": frozenset({"ObjectNode"}),
}


class PolicyAreaError(TiltakError):
    pass


# --- the taxonomy -------------------------------------------------------------------------------------------------


class PolicyTopic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: int = Field(description="The CAP major topic code.")
    name: str = Field(description="Bokmål label.")
    name_nn: str = Field(description="Nynorsk label.")
    name_en: str = Field(description="English label.")
    description: str


class PolicyTaxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    version: str
    description: str = ""
    topics: list[PolicyTopic] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique(self) -> PolicyTaxonomy:
        codes = [topic.code for topic in self.topics]
        if len(set(codes)) != len(codes):
            raise ValueError(f"topic codes are not unique: {sorted({c for c in codes if codes.count(c) > 1})}")
        return self

    @property
    def codes(self) -> list[int]:
        return [topic.code for topic in self.topics]

    def label(self, code: int) -> str:
        return next((topic.name for topic in self.topics if topic.code == code), str(code))


@cache
def load_policy_areas(path: Path = DEFAULT_POLICY_AREAS) -> PolicyTaxonomy:
    """The policy-area taxonomy at ``path``, read as data only (``yaml.safe_load``) and validated."""
    from pipeline.analysis.taxonomy import yaml_problem

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyAreaError(f"{path}: cannot read the policy areas: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise PolicyAreaError(f"{path}: cannot read the policy areas: {yaml_problem(exc)}") from exc
    try:
        return PolicyTaxonomy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'/'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
        raise PolicyAreaError(f"{path}: not a valid policy-area taxonomy: {problems}") from exc


# --- features -----------------------------------------------------------------------------------------------------


def measure_context(text: str, start: int, end: int) -> str:
    """What stands around a measure in its document: the text before and after it, cut at whole words."""
    before = text[max(0, start - CONTEXT_BEFORE):start]
    after = text[end:end + CONTEXT_AFTER]
    if start > CONTEXT_BEFORE and " " in before:
        before = before.split(" ", 1)[1]
    if len(after) == CONTEXT_AFTER and " " in after:
        after = after.rsplit(" ", 1)[0]
    return f"{before} {after}".strip()


def document_title(text: str) -> str:
    """The document's first non-empty line (its title in every loader's plain text), at most ``TITLE_CHARS``."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:TITLE_CHARS]
    return ""


def document_window(text: str, start: int, end: int) -> tuple[int, int]:
    """The part of the document the prior reads for a measure at ``start``-``end``: ``DOCUMENT_REACH`` characters
    either side of the measure's middle rounded to ``DOCUMENT_STEP``, so that measures close together share it."""
    middle = round((start + end) / 2 / DOCUMENT_STEP) * DOCUMENT_STEP
    return max(0, middle - DOCUMENT_REACH), min(len(text), middle + DOCUMENT_REACH)


def document_text(text: str, window: tuple[int, int]) -> str:
    """The title and the window's text: what the document prior is computed from."""
    return f"{document_title(text)}\n{text[window[0]:window[1]]}"


@cache
def _hashers():
    from sklearn.feature_extraction.text import HashingVectorizer

    token = r"(?u)\b\w[\w-]+\b"
    return (HashingVectorizer(n_features=FEATURES["words"], ngram_range=tuple(FEATURES["word_ngrams"]),
                              alternate_sign=False, norm=None, token_pattern=token),
            HashingVectorizer(n_features=FEATURES["chars"], analyzer="char_wb",
                              ngram_range=tuple(FEATURES["char_ngrams"]), alternate_sign=False, norm=None),
            HashingVectorizer(n_features=FEATURES["context"], alternate_sign=False, norm=None, token_pattern=token))


def raw_features(texts: list[str], contexts: list[str]):
    """Hashed counts of the measures and their contexts (before idf weighting), one row per measure."""
    from scipy.sparse import hstack

    words, chars, context = _hashers()
    return hstack([words.transform(texts), chars.transform(texts), context.transform(contexts)]).tocsr()


def weighted_features(idf, texts: list[str], contexts: list[str]):
    """The idf-weighted rows, each part L2-normalised on its own and the context part scaled down."""
    from scipy.sparse import diags, hstack
    from sklearn.preprocessing import normalize

    matrix = idf.transform(raw_features(texts, contexts))
    cut1, cut2 = FEATURES["words"], FEATURES["words"] + FEATURES["chars"]
    parts = [normalize(matrix[:, :cut1]), normalize(matrix[:, cut1:cut2]), normalize(matrix[:, cut2:])]
    parts[2] = diags([FEATURES["context_weight"]] * parts[2].shape[0]) @ parts[2]
    return hstack(parts).tocsr()


# --- the classifier -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyPrediction:
    code: int
    score: float
    runner_up: int | None
    runner_up_score: float | None


@dataclass
class PolicyAreaClassifier:
    idf: object
    model: object
    classes: list[int]
    taxonomy: PolicyTaxonomy
    info: ClassifierInfo
    document_weight: float = 0.0

    def predict(self, texts: list[str], contexts: list[str] | None = None,
                documents: list[str] | None = None) -> list[PolicyPrediction]:
        """Each measure's policy area; ``documents`` (``document_text`` of each measure, repeats read once) mixes
        in the document prior, without them the measure alone decides."""
        if not texts:
            return []
        contexts = contexts if contexts is not None else [""] * len(texts)
        probabilities = self.model.predict_proba(weighted_features(self.idf, texts, contexts))
        if documents is not None and self.document_weight:
            probabilities = mix_document_prior(probabilities, self.document_prior(documents), self.document_weight)
        predictions = []
        for row in probabilities:
            order = row.argsort()[::-1]
            best, second = int(order[0]), (int(order[1]) if len(order) > 1 else None)
            predictions.append(PolicyPrediction(
                self.classes[best], round(float(row[best]), 4),
                None if second is None else self.classes[second],
                None if second is None else round(float(row[second]), 4)))
        return predictions

    def document_prior(self, documents: list[str]):
        """The model's probabilities for each document text (each distinct text read once), one row per entry."""
        distinct = list(dict.fromkeys(documents))
        rows = self.model.predict_proba(weighted_features(self.idf, distinct, [""] * len(distinct)))
        index = {document: row for row, document in enumerate(distinct)}
        return rows[[index[document] for document in documents]]


def mix_document_prior(measure_probabilities, document_probabilities, weight: float):
    """``(1 - weight) * measure + weight * document``: still a probability distribution per row."""
    return (1.0 - weight) * measure_probabilities + weight * document_probabilities


_cache: dict[tuple[str, str], PolicyAreaClassifier] = {}
_lock = threading.Lock()


def load_policy_classifier(directory: Path = DEFAULT_POLICY_MODEL,
                           taxonomy_path: Path = DEFAULT_POLICY_AREAS) -> PolicyAreaClassifier:
    """The policy-area classifier in ``directory``, loaded once per process; refused when its sha256 differs from
    its card's, it names a type outside ``POLICY_ARTIFACT_TYPES``, or it was trained on other codes or features."""
    key = (str(Path(directory).resolve()), str(Path(taxonomy_path).resolve()))
    with _lock:
        if key not in _cache:
            _cache[key] = _load(Path(directory), Path(taxonomy_path))
        return _cache[key]


def _load(directory: Path, taxonomy_path: Path) -> PolicyAreaClassifier:
    from pipeline.analysis.classify import load_pinned_artifact

    card, artifact, digest, parts = load_pinned_artifact(
        directory, what="policy-area classifier", error=PolicyAreaError, card_name=CARD_JSON,
        allowed=POLICY_ARTIFACT_TYPES, listed_in="pipeline.analysis.policy_area.POLICY_ARTIFACT_TYPES",
        retrain="retrain with `tiltak train-policy-area`")
    taxonomy = load_policy_areas(taxonomy_path)
    try:
        classes = [int(c) for c in parts["classifier"].classes_]
        same_features = parts["features"] == FEATURES
        info = ClassifierInfo(name=card["name"], version=card["version"], taxonomy=taxonomy.name,
                              taxonomy_version=taxonomy.version, artifact_sha256=digest, origin=None)
        document_weight = float(parts["document_weight"])
        classifier = PolicyAreaClassifier(parts["idf"], parts["classifier"], classes, taxonomy, info, document_weight)
    except Exception as exc:
        raise PolicyAreaError(f"{artifact}: cannot load the policy-area classifier: "
                              f"{str(exc).splitlines()[0]}") from exc
    if not same_features:
        raise PolicyAreaError(f"{artifact}: trained with other features ({parts['features']}) than this tiltak "
                              f"computes ({FEATURES}); retrain it with `tiltak train-policy-area`")
    unknown = sorted(set(classes) - set(taxonomy.codes))
    if unknown:
        raise PolicyAreaError(f"{taxonomy_path}: the policy-area classifier in {directory} predicts codes "
                              f"{unknown} that are not in the taxonomy")
    return classifier


def classify_policy_areas(measures: list[Measure], text: str,
                          classifier: PolicyAreaClassifier) -> list[PolicyAreaSummary]:
    """Set each measure's policy area (CAP code), label, score and runner-up, reading its context from the
    document ``text``; return the document's distribution over policy areas, largest first."""
    contexts = [measure_context(text, m.start, m.end) for m in measures]
    documents = [document_text(text, document_window(text, m.start, m.end)) for m in measures]
    predictions = classifier.predict([m.text for m in measures], contexts, documents)
    for measure, prediction in zip(measures, predictions, strict=True):
        measure.policy_area = prediction.code
        measure.policy_area_label = classifier.taxonomy.label(prediction.code)
        measure.policy_area_score = prediction.score
        measure.policy_area_runner_up = prediction.runner_up
        measure.policy_area_runner_up_score = prediction.runner_up_score
    summaries = []
    for code in classifier.taxonomy.codes:
        ids = [m.id for m in measures if m.policy_area == code]
        if ids:
            summaries.append(PolicyAreaSummary(code=code, label=classifier.taxonomy.label(code), count=len(ids),
                                               share=round(len(ids) / len(measures), 4), measures=ids))
    return sorted(summaries, key=lambda s: (-s.count, s.code))
