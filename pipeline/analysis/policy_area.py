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

import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import TiltakError
from pipeline.io import parse_yaml
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
        data = parse_yaml(Path(path).read_text(encoding="utf-8"))
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
    return _weighted(idf, raw_features(texts, contexts))


# The document reading of a long document: each window's hashed counts are summed from pieces of about this many
# characters, cut at whitespace, so the text is featurised once rather than once per window (about six times).
READING_PIECE_CHARS = 200
_WHITESPACE = re.compile(r"\s")


def document_reading_features(idf, text: str, windows: list[tuple[int, int]]):
    """The rows ``weighted_features(idf, [document_text(text, w) for w in windows], [""] * len(windows))`` gives,
    computed from pieces of ``text`` featurised once. Hashed counts add up: no character n-gram crosses whitespace
    and no word token contains any, so a window cut at whitespace has the counts of its parts, plus the word
    bigrams that join one part's last token to the next part's first. The first and last part of each window (its
    title with the text up to the first cut, and the text from the last cut) are featurised on their own. Equal to
    the direct computation (tests/test_policy_area.py compares them)."""
    from bisect import bisect_left, bisect_right

    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction import FeatureHasher

    if sum(end - start for start, end in windows) <= 1.5 * _covered(windows):  # little overlap: nothing to share
        return weighted_features(idf, [document_text(text, window) for window in windows], [""] * len(windows))
    words, chars, _context = _hashers()
    tokens_of = _word_tokens(words)
    title = document_title(text)
    bounds = [0, *_whitespace_cuts(text, READING_PIECE_CHARS), len(text)]
    spans = []  # per window: the pieces it holds whole, first..last-1 (none when no cut falls inside it)
    for start, end in windows:
        first, last = bisect_left(bounds, start), bisect_right(bounds, end) - 1
        spans.append((first, last) if first <= last else None)
    needed = sorted({k for span in spans if span for k in range(*span)})
    row_of = {k: row for row, k in enumerate(needed)}
    pieces = [text[bounds[k]:bounds[k + 1]] for k in needed]
    piece_tokens = [tokens_of(piece) for piece in pieces]
    heads, tails, joins, members = [], [], [], ([], [])
    for index, ((start, end), span) in enumerate(zip(windows, spans, strict=True)):
        if span is None:  # no cut inside the window: featurised as it is
            heads.append(document_text(text, (start, end)))
            tails.append("")
            joins.append([])
            continue
        first, last = span
        heads.append(f"{title}\n{text[start:bounds[first]]}")
        tails.append(text[bounds[last]:end])
        window_joins, previous = [], None
        for tokens in [tokens_of(heads[-1]), *(piece_tokens[row_of[k]] for k in range(first, last)),
                       tokens_of(tails[-1])]:
            if tokens:
                if previous is not None:
                    window_joins.append(f"{previous} {tokens[0]}")
                previous = tokens[-1]
        joins.append(window_joins)
        for k in range(first, last):
            members[0].append(index)
            members[1].append(row_of[k])
    holds = csr_matrix(([1.0] * len(members[0]), members), shape=(len(windows), len(needed)))
    bigrams = FeatureHasher(n_features=FEATURES["words"], input_type="string", alternate_sign=False,
                            dtype=words.dtype).transform(joins)
    word_rows = words.transform(heads) + words.transform(tails) + bigrams
    char_rows = chars.transform(heads) + chars.transform(tails)
    if needed:
        word_rows = word_rows + holds @ words.transform(pieces)
        char_rows = char_rows + holds @ chars.transform(pieces)
    context = csr_matrix((len(windows), FEATURES["context"]), dtype=word_rows.dtype)
    return _weighted(idf, hstack([word_rows, char_rows, context]).tocsr())


def _covered(windows: list[tuple[int, int]]) -> int:
    """How many characters the windows cover together."""
    covered, reached = 0, 0
    for start, end in sorted(windows):
        covered += max(0, end - max(start, reached))
        reached = max(reached, end)
    return covered


def _whitespace_cuts(text: str, every: int) -> list[int]:
    """Positions of whitespace characters about ``every`` characters apart (the first at or after each multiple)."""
    cuts: list[int] = []
    position = every
    while position < len(text):
        match = _WHITESPACE.search(text, position)
        if match is None:
            break
        cuts.append(match.start())
        position = max(match.start() + 1, position + every)
    return cuts


def _word_tokens(words):
    """The word tokens the word hasher counts in a text (lower-cased, by its token pattern), in order."""
    preprocess, tokenize = words.build_preprocessor(), words.build_tokenizer()
    return lambda text: tokenize(preprocess(text))


def _weighted(idf, raw):
    from scipy.sparse import diags, hstack
    from sklearn.preprocessing import normalize

    matrix = idf.transform(raw)
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

    def predict(self, texts: list[str], contexts: list[str] | None = None, documents: list[str] | None = None,
                in_document: tuple[str, list[tuple[int, int]]] | None = None) -> list[PolicyPrediction]:
        """Each measure's policy area; ``documents`` (``document_text`` of each measure, repeats read once) or
        ``in_document`` (the document's text and each measure's ``document_window``, the same reading computed
        faster) mixes in the document prior, without them the measure alone decides."""
        if not texts:
            return []
        contexts = contexts if contexts is not None else [""] * len(texts)
        probabilities = self.model.predict_proba(weighted_features(self.idf, texts, contexts))
        if self.document_weight and (documents is not None or in_document is not None):
            prior = (self.document_prior(documents) if documents is not None
                     else self.document_prior_in(*in_document))
            probabilities = mix_document_prior(probabilities, prior, self.document_weight)
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


    def document_prior_in(self, text: str, windows: list[tuple[int, int]]):
        """``document_prior`` of each window's ``document_text``, each distinct window read once, from pieces of
        ``text`` featurised once (``document_reading_features``)."""
        distinct = list(dict.fromkeys(windows))
        rows = self.model.predict_proba(document_reading_features(self.idf, text, distinct))
        index = {window: row for row, window in enumerate(distinct)}
        return rows[[index[window] for window in windows]]


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
    windows = [document_window(text, m.start, m.end) for m in measures]
    predictions = classifier.predict([m.text for m in measures], contexts, in_document=(text, windows))
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
