"""Focus areas for measures: the shipped scikit-learn classifier, loaded safely once per process.

Loading is safe by construction: the artifact's sha256 must equal the one in its card (``card.json``), the
card's taxonomy must be the taxonomy in use, and skops refuses any type outside scikit-learn, NumPy and SciPy
(no pickle is ever unpickled).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import TiltakError
from pipeline.schema import ClassifierInfo, FocusAreaSummary, Measure
from pipeline.taxonomy import Taxonomy, load_taxonomy, taxonomy_hash

DEFAULT_CLASSIFIER = Path(__file__).resolve().parents[1] / "models" / "focus_area"
SAFE_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.", "re.")


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


_cache: dict[tuple[str, str], FocusAreaClassifier] = {}
_lock = threading.Lock()


def load_classifier(directory: Path = DEFAULT_CLASSIFIER, taxonomy_path: Path | None = None) -> FocusAreaClassifier:
    key = (str(directory), str(taxonomy_path))
    with _lock:
        if key not in _cache:
            _cache[key] = _load(Path(directory), taxonomy_path)
        return _cache[key]


def _load(directory: Path, taxonomy_path: Path | None) -> FocusAreaClassifier:
    import skops.io

    from pipeline.taxonomy import DEFAULT_TAXONOMY

    card_path = directory / "card.json"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        artifact = directory / card["artifact"]
        data = artifact.read_bytes()
    except (OSError, ValueError, KeyError) as exc:
        raise ClassifierError(f"{directory}: no usable focus-area classifier (card.json and artifact): {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.get("artifact_sha256"):
        raise ClassifierError(f"{artifact}: sha256 {digest[:12]}… does not match its card; refusing to load it "
                              "(retrain with `tiltak train-classifier`)")
    taxonomy_path = Path(taxonomy_path or DEFAULT_TAXONOMY)
    taxonomy = load_taxonomy(taxonomy_path)
    if card["taxonomy"]["sha256"] != taxonomy_hash(taxonomy_path):
        raise ClassifierError(f"{taxonomy_path}: the classifier in {directory} was trained on another taxonomy "
                              f"({card['taxonomy']['name']} {card['taxonomy']['version']}); train one for it with "
                              "`tiltak train-classifier --taxonomy … --out DIR` and pass --classifier DIR")
    untrusted = skops.io.get_untrusted_types(data=data)
    unsafe = [t for t in untrusted if not t.startswith(SAFE_TYPE_PREFIXES)]
    if unsafe:
        raise ClassifierError(f"{artifact}: contains types outside scikit-learn/NumPy/SciPy: {unsafe}; refused")
    try:
        model = skops.io.loads(data, trusted=untrusted)
    except Exception as exc:
        raise ClassifierError(f"{artifact}: cannot load the classifier: {exc}") from exc
    classes = [str(c) for c in model.classes_]
    info = ClassifierInfo(name=card["name"], version=card["version"], taxonomy=card["taxonomy"]["name"],
                          taxonomy_version=card["taxonomy"]["version"], threshold=card["threshold"],
                          artifact_sha256=digest)
    return FocusAreaClassifier(model, classes, float(card["threshold"]), taxonomy, info)


def classify_measures(measures: list[Measure], classifier: FocusAreaClassifier) -> list[FocusAreaSummary]:
    """Set each measure's focus area, score and runner-up; return the document's distribution over areas."""
    for measure, prediction in zip(measures, classifier.predict([m.text for m in measures]), strict=True):
        measure.focus_area = prediction.label
        measure.focus_area_score = prediction.score
        measure.focus_area_runner_up = prediction.runner_up
        measure.focus_area_runner_up_score = prediction.runner_up_score
    summaries = []
    total = len(measures)
    for label in classifier.taxonomy.ids:
        ids = [m.id for m in measures if m.focus_area == label]
        if ids:
            summaries.append(FocusAreaSummary(label=label, name=classifier.taxonomy.display_name(label),
                                              count=len(ids), share=round(len(ids) / total, 4), measures=ids))
    return sorted(summaries, key=lambda s: -s.count)
