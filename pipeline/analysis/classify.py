"""Focus areas for measures: the scikit-learn classifier, loaded once per process and never able to run code.

A classifier folder (``card.json`` and the skops artifact it names) is untrusted input, whoever hands it in.
Before anything in it is rebuilt:

- the artifact's sha256 must equal the one in its card (a damaged copy), and the card's taxonomy must be the
  taxonomy in use;
- every type the artifact names must be in ``ALLOWED_ARTIFACT_TYPES``, rebuilt the way listed there: the exact
  content of the shipped model and of ``tiltak train-classifier``'s artifacts, reviewed. A function, method or
  operator (``builtins.exec``, a ``FunctionTransformer`` wrapping ``numpy.save`` …) is refused by name, whatever
  its module, and skops is then told to trust exactly the listed types it would otherwise ask about;
- where it comes from: the shipped model (its sha256 pinned here, not only in the card beside it), a classifier
  trained on this machine (``tiltak train-classifier`` records its sha256 in the user's trust list), or anything
  else, which loads only when the user says so (``--trust-classifier``). The type check applies to all three.

No pickle is ever unpickled; arrays are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pipeline.analysis.taxonomy import Taxonomy, load_taxonomy, taxonomy_hash
from pipeline.errors import TiltakError
from pipeline.schema import ClassifierInfo, FocusAreaSummary, Measure

DEFAULT_CLASSIFIER = Path(__file__).resolve().parents[2] / "models" / "focus_area"
# The shipped artifact's sha256, pinned in the package: the card beside an artifact only proves the two agree, not
# where the folder came from. Retraining the shipped model (`tiltak train-classifier` into models/focus_area) means
# updating this line, knowingly; tests/test_untrusted_models.py fails until then.
SHIPPED_CLASSIFIER_SHA256 = "367f1cbbf6a9140080f6cda1a04d7631236810d162110f7cb6eec4db883c118a"

# Every type a focus-area classifier may contain, with the skops loader that rebuilds it: the complete content of
# the shipped model (word and character TF-IDF, a soft vote of a calibrated LinearSVC and ComplementNB), which is
# also what `tiltak train-classifier` writes (a test trains one and fails on a new type, so it is added knowingly).
# Reviewed: estimators are rebuilt from their attributes without calling __init__; arrays are read with
# allow_pickle=False; the TypeNode entries are the vectorizer's dtype and the key types of its vocabularies. No
# function, method, partial, operator or reduce loader is listed, so nothing in an artifact names code to call.
# Exact names only: no prefix matching.
ALLOWED_ARTIFACT_TYPES: dict[str, frozenset[str]] = {
    "builtins.dict": frozenset({"DictNode"}),
    "builtins.list": frozenset({"ListNode"}),
    "builtins.tuple": frozenset({"TupleNode"}),
    "builtins.str": frozenset({"JsonNode", "TypeNode"}),  # JsonNode: every number, string, bool and None
    "numpy.ndarray": frozenset({"NdArrayNode"}),
    "numpy.float64": frozenset({"NdArrayNode", "TypeNode"}),
    "sklearn.pipeline.Pipeline": frozenset({"ObjectNode"}),
    "sklearn.pipeline.FeatureUnion": frozenset({"ObjectNode"}),
    "sklearn.feature_extraction.text.TfidfVectorizer": frozenset({"ObjectNode"}),
    "sklearn.feature_extraction.text.TfidfTransformer": frozenset({"ObjectNode"}),
    "sklearn.ensemble._voting.VotingClassifier": frozenset({"ObjectNode"}),
    "sklearn.calibration.CalibratedClassifierCV": frozenset({"ObjectNode"}),
    "sklearn.calibration._CalibratedClassifier": frozenset({"ObjectNode"}),
    "sklearn.calibration._SigmoidCalibration": frozenset({"ObjectNode"}),
    "sklearn.svm._classes.LinearSVC": frozenset({"ObjectNode"}),
    "sklearn.naive_bayes.ComplementNB": frozenset({"ObjectNode"}),
    "sklearn.preprocessing._label.LabelEncoder": frozenset({"ObjectNode"}),
    "sklearn.utils._bunch.Bunch": frozenset({"DictNode"}),
}

try:
    import fcntl
except ImportError:  # Windows: the trust list is still written atomically, two trainings at once may race
    fcntl = None  # type: ignore[assignment]

Origin = Literal["shipped", "local", "external"]
TRUST_LIST = "trusted-classifiers.json"


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    runner_up: str | None
    runner_up_score: float | None


@dataclass
class FocusAreaClassifier:
    model: object
    classes: list[str]
    threshold: float
    taxonomy: Taxonomy
    info: ClassifierInfo

    def predict(self, texts: list[str]) -> list[Prediction]:
        if not texts:
            return []
        probabilities = self.model.predict_proba(texts)
        predictions = []
        for row in probabilities:
            order = row.argsort()[::-1]
            best, second = order[0], order[1] if len(order) > 1 else None
            label, score = self.classes[best], float(row[best])
            runner_up = self.classes[second] if second is not None else None
            runner_up_score = float(row[second]) if second is not None else None
            if score < self.threshold and label != self.taxonomy.fallback:
                # Too unsure: the fallback area, with the model's best guess kept as the runner-up.
                label, runner_up, runner_up_score = self.taxonomy.fallback, label, score
                score = float(row[self.classes.index(label)]) if label in self.classes else 0.0
            predictions.append(Prediction(label, round(score, 4), runner_up,
                                          None if runner_up_score is None else round(runner_up_score, 4)))
        return predictions


class ClassifierError(TiltakError):
    pass


# --- where a classifier comes from ------------------------------------------------------------------------------


def tiltak_home() -> Path:
    """The user's tiltak data folder: ``$TILTAK_HOME``, else ``$XDG_DATA_HOME/tiltak``, else
    ``~/.local/share/tiltak``."""
    if os.environ.get("TILTAK_HOME"):
        return Path(os.environ["TILTAK_HOME"]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser() / "tiltak"


def trust_list_path() -> Path:
    return tiltak_home() / TRUST_LIST


def _read_trust_list(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["classifiers"]
        if not isinstance(entries, list) or not all(isinstance(e, dict) and "sha256" in e for e in entries):
            raise ValueError("'classifiers' must be a list of records with a sha256")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClassifierError(f"{path}: cannot read the list of classifiers trained here: {exc}; delete it, then "
                              "retrain them or pass --trust-classifier") from exc
    return entries


def locally_trained_sha256s() -> set[str]:
    """The sha256 of every classifier artifact `tiltak train-classifier` wrote on this machine for this user."""
    return {entry["sha256"] for entry in _read_trust_list(trust_list_path())}


def record_locally_trained(artifact: Path, card: dict) -> Path:
    """Add a freshly trained artifact to the user's trust list (atomically, under a lock: two trainings at once
    both land). Returns the list's path."""
    from pipeline.io import atomic_write_text

    path = trust_list_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    sha256 = card["artifact_sha256"]
    with open(path.with_name(TRUST_LIST + ".lock"), "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            entries = _read_trust_list(path)
        except ClassifierError:
            entries = []  # an unreadable list is replaced: it only ever widened trust
        entries = [e for e in entries if e.get("sha256") != sha256]
        entries.append({"sha256": sha256, "path": str(artifact.resolve()), "name": card.get("name"),
                        "version": card.get("version"),
                        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")})
        atomic_write_text(path, json.dumps({"classifiers": entries}, indent=2, ensure_ascii=False) + "\n")
    return path


def classifier_origin(sha256: str) -> Origin:
    """shipped (the pinned artifact), local (trained here by `tiltak train-classifier`) or external."""
    if sha256 == SHIPPED_CLASSIFIER_SHA256:
        return "shipped"
    return "local" if sha256 in locally_trained_sha256s() else "external"


# --- what an artifact contains -----------------------------------------------------------------------------------


def artifact_types(data: bytes, artifact: Path) -> dict[str, set[str]]:
    """Every type an skops artifact names, with the loaders that would rebuild it: read from its schema, nothing
    constructed. Any content skops itself would not know how to audit is refused."""
    try:
        import skops.io._audit as audit
        from skops.io._utils import get_module, read_schema
    except ImportError as exc:  # skops moved its internals: refuse rather than load unchecked
        raise ClassifierError(f"{artifact}: cannot audit the artifact with this skops version: {exc}") from exc
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema, context = read_schema(archive)
            tree = audit.get_tree(schema, context, trusted=None)
    except Exception as exc:
        raise ClassifierError(f"{artifact}: not a readable skops artifact: {str(exc).splitlines()[0]}") from exc
    found: dict[str, set[str]] = {}
    pending, seen = [tree], set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        found.setdefault(f"{node.module_name}.{node.class_name}", set()).add(type(node).__name__)
        for child in node.children.values():
            items = child if isinstance(child, list) else child.values() if isinstance(child, dict) else [child]
            for item in items:
                if isinstance(item, audit.Node):
                    pending.append(item)
                elif isinstance(item, type):
                    found.setdefault(f"{get_module(item)}.{item.__name__}", set()).add("type")
                elif item is not None and not isinstance(item, io.BytesIO | str):
                    raise ClassifierError(f"{artifact}: refused: content of type {type(item).__name__} in a "
                                          f"{type(node).__name__} cannot be audited")
    return found


def check_artifact_types(data: bytes, artifact: Path, allowed: dict[str, frozenset[str]] | None = None,
                         what: str = "a focus-area classifier", listed_in: str = "pipeline.analysis.classify."
                         "ALLOWED_ARTIFACT_TYPES") -> list[str]:
    """Refuse an artifact naming any type outside ``allowed`` (default ``ALLOWED_ARTIFACT_TYPES``; the measure
    detector passes its own list) or rebuilt another way; returns the types skops reports as untrusted, all of them
    listed there, for ``skops.io.loads(trusted=...)``."""
    import skops.io

    allowed = ALLOWED_ARTIFACT_TYPES if allowed is None else allowed
    found = artifact_types(data, artifact)
    refused = sorted(f"{name} ({', '.join(sorted(loaders - allowed.get(name, frozenset())))})"
                     for name, loaders in found.items() if not loaders <= allowed.get(name, frozenset()))
    # skops's own audit as well: anything it would ask about must be listed too.
    untrusted = skops.io.get_untrusted_types(data=data)
    refused += sorted(name for name in untrusted if name not in allowed and name not in found)
    if refused:
        raise ClassifierError(f"{artifact}: refused before loading: it names {', '.join(refused)}: "
                              f"{'types' if len(refused) > 1 else 'a type'} {what} never needs (and "
                              f"could run code); only the types in {listed_in} load")
    return untrusted


def write_checked_artifact(model: Any, artifact: Path, allowed: dict[str, frozenset[str]] | None = None,
                           what: str = "a focus-area classifier",
                           listed_in: str = "pipeline.analysis.classify.ALLOWED_ARTIFACT_TYPES") -> str:
    """Write ``model`` with skops to ``artifact`` (deflated: fitted vocabularies compress about tenfold) and return
    its sha256 for the card. The loader refuses any type outside its reviewed list, so a training change that brings a
    new one fails here, before anything is replaced, and the type is added to ``listed_in`` knowingly."""
    import skops.io

    staging = artifact.with_suffix(".tmp")
    skops.io.dump(model, staging, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    data = staging.read_bytes()
    try:
        check_artifact_types(data, artifact, allowed, what, listed_in)
    except ClassifierError:
        staging.unlink()
        raise
    staging.replace(artifact)
    return hashlib.sha256(data).hexdigest()


def load_pinned_artifact(directory: Path, *, what: str, error: type[Exception], card_name: str,
                         allowed: dict[str, frozenset[str]], listed_in: str,
                         retrain: str) -> tuple[dict, Path, str, Any]:
    """A shipped model whose card pins its artifact's sha256 (the measure detector, the policy-area classifier):
    its card, artifact path, digest and the skops-loaded object. Refuses, raising ``error``, an artifact that does not
    match its card or names a type outside ``allowed`` (``listed_in`` says where that list is; ``retrain`` how to
    make a new artifact). What the object must hold is the caller's to check."""
    import skops.io

    card, artifact, data = read_model_card(directory, what, error, card_name)
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.get("artifact_sha256"):
        raise error(f"{artifact}: sha256 {digest[:12]}… does not match its card; refusing to load it ({retrain})")
    try:
        untrusted = check_artifact_types(data, artifact, allowed, f"a {what}", listed_in)
    except ClassifierError as exc:
        raise error(str(exc)) from exc
    try:
        loaded = skops.io.loads(data, trusted=untrusted)
    except Exception as exc:
        raise error(f"{artifact}: cannot load the {what}: {str(exc).splitlines()[0]}") from exc
    return card, artifact, digest, loaded


# --- loading -----------------------------------------------------------------------------------------------------

_cache: dict[tuple[str, str, bool], FocusAreaClassifier] = {}
_lock = threading.Lock()


def load_classifier(directory: Path = DEFAULT_CLASSIFIER, taxonomy_path: Path | None = None,
                    trusted: bool = False) -> FocusAreaClassifier:
    """The classifier in ``directory`` for the taxonomy at ``taxonomy_path``. One that is neither the shipped one
    nor trained here loads only with ``trusted`` (``--trust-classifier``); none loads with a type outside
    ``ALLOWED_ARTIFACT_TYPES``."""
    key = (str(directory), str(taxonomy_path), bool(trusted))
    with _lock:
        if key not in _cache:
            _cache[key] = _load(Path(directory), taxonomy_path, bool(trusted))
        return _cache[key]


def read_model_card(directory: Path, what: str = "focus-area classifier", error: type[Exception] = ClassifierError,
                    card_name: str = "card.json") -> tuple[dict, Path, bytes]:
    """A shipped model's card, its artifact's path and bytes; the artifact must be a file in the card's folder.
    Raises ``error`` naming the folder and ``what`` it should hold."""
    card_path = directory / card_name
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        name = card["artifact"]
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise ValueError(f"the artifact must be a file name in the folder, not {name!r}")
        artifact = directory / name
        data = artifact.read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise error(f"{directory}: no usable {what} (card.json and artifact): {exc}") from exc
    return card, artifact, data


def check_classifier(directory: Path = DEFAULT_CLASSIFIER, taxonomy_path: Path | None = None,
                     trusted: bool = False) -> None:
    """Refuse what ``load_classifier`` refuses (card, sha256, origin and trust, types, taxonomy) without building the
    model, for a process that only checks (the command line, a run's flow process; its analysis workers load it).
    The pinned shipped artifact's types are not audited again here (auditing imports scikit-learn, seconds): it
    holds only allowed types (tests/test_untrusted_models.py), and skops checks them when a worker loads it."""
    _verified(Path(directory), taxonomy_path, bool(trusted))


def _verified(directory: Path, taxonomy_path: Path | None, trusted: bool):
    from pipeline.analysis.taxonomy import DEFAULT_TAXONOMY

    card, artifact, data = read_model_card(directory)
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.get("artifact_sha256"):
        raise ClassifierError(f"{artifact}: sha256 {digest[:12]}… does not match its card; refusing to load it "
                              "(retrain with `tiltak train-classifier`)")
    # Every classifier is audited, trusted or not, except the pinned shipped artifact: it was audited when it was
    # pinned (tests/test_untrusted_models.py), and our own two audits of its ~100,000 nodes would cost each process
    # and Dask worker ~3 s. skops still audits it while loading and refuses any type outside the allowlist.
    untrusted = (sorted(ALLOWED_ARTIFACT_TYPES) if digest == SHIPPED_CLASSIFIER_SHA256
                 else check_artifact_types(data, artifact))
    origin = classifier_origin(digest)
    if origin == "external" and not trusted:
        raise ClassifierError(f"{artifact}: an external classifier (sha256 {digest[:12]}…: neither the shipped one "
                              "nor trained here by `tiltak train-classifier`); refusing to load it unless you trust "
                              "its source: pass --trust-classifier (or trust_classifier = true in the config)")
    taxonomy_path = Path(taxonomy_path or DEFAULT_TAXONOMY)
    taxonomy = load_taxonomy(taxonomy_path)
    try:
        trained_on = card["taxonomy"]
        same_taxonomy = trained_on["sha256"] == taxonomy_hash(taxonomy_path)
    except (KeyError, TypeError) as exc:
        raise ClassifierError(f"{directory / 'card.json'}: no taxonomy sha256 in the card: {exc}") from exc
    if not same_taxonomy:
        raise ClassifierError(f"{taxonomy_path}: the classifier in {directory} was trained on another taxonomy "
                              f"({trained_on.get('name')} {trained_on.get('version')}); train one for it with "
                              "`tiltak train-classifier --taxonomy … --out DIR` and pass --classifier DIR")
    return card, artifact, data, digest, untrusted, origin, taxonomy, trained_on


def _load(directory: Path, taxonomy_path: Path | None, trusted: bool) -> FocusAreaClassifier:
    import skops.io

    card, artifact, data, digest, untrusted, origin, taxonomy, trained_on = _verified(directory, taxonomy_path,
                                                                                      trusted)
    try:
        model = skops.io.loads(data, trusted=untrusted)
        classes = [str(c) for c in model.classes_]
        info = ClassifierInfo(name=card["name"], version=card["version"], taxonomy=trained_on["name"],
                              taxonomy_version=trained_on["version"], threshold=card["threshold"],
                              artifact_sha256=digest, origin=origin)
        threshold = float(card["threshold"])
    except Exception as exc:
        raise ClassifierError(f"{artifact}: cannot load the classifier: {str(exc).splitlines()[0]}") from exc
    return FocusAreaClassifier(model, classes, threshold, taxonomy, info)


def classify_measures(measures: list[Measure], classifier: FocusAreaClassifier) -> list[FocusAreaSummary]:
    """Set each measure's focus area, score and runner-up; return the document's distribution over areas.

    A measure whose policy area (set before, by pipeline.analysis.policy_area) lies outside the taxonomy's scope keeps a
    null focus area: the domain taxonomy has nothing to say about it, and `annet` would claim it does."""
    for measure in measures:
        measure.focus_area = measure.focus_area_score = None
        measure.focus_area_runner_up = measure.focus_area_runner_up_score = None
    in_scope = [m for m in measures if classifier.taxonomy.in_scope(m.policy_area)]
    for measure, prediction in zip(in_scope, classifier.predict([m.text for m in in_scope]), strict=True):
        measure.focus_area = prediction.label
        measure.focus_area_score = prediction.score
        measure.focus_area_runner_up = prediction.runner_up
        measure.focus_area_runner_up_score = prediction.runner_up_score
    summaries = []
    total = len(in_scope)
    for label in classifier.taxonomy.ids:
        ids = [m.id for m in measures if m.focus_area == label]
        if ids:
            summaries.append(FocusAreaSummary(label=label, name=classifier.taxonomy.display_name(label),
                                              count=len(ids), share=round(len(ids) / total, 4), measures=ids))
    return sorted(summaries, key=lambda s: -s.count)
