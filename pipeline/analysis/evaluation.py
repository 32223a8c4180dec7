"""Evaluation against gold annotations (format: ../shared/eval/seeds/*.gold.json, rules: eval/GUIDELINES.md).

A predicted measure matches a gold one when their token overlap is at least 0.8 of the longer of the two;
matching is one-to-one, best overlaps first. Strength and focus-area accuracy are counted on matched pairs;
actors are compared as sets of canonical names per document. Overall figures are micro-averaged.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.schema import DocumentResult

MATCH_THRESHOLD = 0.8
_TOKEN = re.compile(r"[\wæøåÆØÅ]+")


def tokens(text: str) -> Counter[str]:
    return Counter(token.lower() for token in _TOKEN.findall(text))


def overlap(a: str, b: str) -> float:
    """Shared tokens over the token count of the longer text."""
    ta, tb = tokens(a), tokens(b)
    longer = max(sum(ta.values()), sum(tb.values()))
    return sum((ta & tb).values()) / longer if longer else 0.0


def match_measures(predicted: list[str], gold: list[str], threshold: float = MATCH_THRESHOLD
                   ) -> list[tuple[int, int, float]]:
    """One-to-one (predicted index, gold index, overlap) pairs, best overlap first."""
    candidates = sorted(((overlap(p, g), i, j) for i, p in enumerate(predicted) for j, g in enumerate(gold)),
                        reverse=True)
    used_p, used_g, pairs = set(), set(), []
    for score, i, j in candidates:
        if score < threshold:
            break
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            pairs.append((i, j, score))
    return pairs


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Counts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    def summary(self) -> dict:
        return {**asdict(self), "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4)}


@dataclass
class Accuracy:
    correct: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.correct / self.total if self.total else None

    def add(self, other: Accuracy) -> None:
        self.correct, self.total = self.correct + other.correct, self.total + other.total

    def summary(self) -> dict:
        value = self.value
        return {"correct": self.correct, "total": self.total, "accuracy": None if value is None else round(value, 4)}


@dataclass
class DocumentScore:
    name: str
    measures: Counts = field(default_factory=Counts)
    strength: Accuracy = field(default_factory=Accuracy)
    focus_area: Accuracy = field(default_factory=Accuracy)
    focus_area_top2: Accuracy = field(default_factory=Accuracy)
    actors: Counts = field(default_factory=Counts)
    missed: list[str] = field(default_factory=list)
    spurious: list[str] = field(default_factory=list)
    wrong_strength: list[dict] = field(default_factory=list)
    missed_actors: list[str] = field(default_factory=list)
    spurious_actors: list[str] = field(default_factory=list)

    def summary(self, details: bool = True) -> dict:
        out = {"name": self.name, "measures": self.measures.summary(), "strength": self.strength.summary(),
               "focus_area": self.focus_area.summary(), "focus_area_top2": self.focus_area_top2.summary(),
               "actors": self.actors.summary()}
        if details:
            out.update(missed=self.missed, spurious=self.spurious, wrong_strength=self.wrong_strength,
                       missed_actors=self.missed_actors, spurious_actors=self.spurious_actors)
        return out


def score_document(name: str, result: DocumentResult, gold: dict) -> DocumentScore:
    score = DocumentScore(name)
    predicted = result.measures
    gold_measures = gold["measures"]
    pairs = match_measures([m.text for m in predicted], [g["text"] for g in gold_measures])
    matched_p = {i for i, _, _ in pairs}
    matched_g = {j for _, j, _ in pairs}
    score.measures = Counts(tp=len(pairs), fp=len(predicted) - len(pairs), fn=len(gold_measures) - len(pairs))
    score.missed = [g["text"] for j, g in enumerate(gold_measures) if j not in matched_g]
    score.spurious = [m.text for i, m in enumerate(predicted) if i not in matched_p]
    for i, j, _ in pairs:
        p, g = predicted[i], gold_measures[j]
        if g.get("strength"):
            score.strength.total += 1
            if p.strength == g["strength"]:
                score.strength.correct += 1
            else:
                score.wrong_strength.append({"text": g["text"][:100], "gold": g["strength"], "predicted": p.strength})
        if g.get("focus_area"):
            score.focus_area.total += 1
            score.focus_area.correct += p.focus_area == g["focus_area"]
            score.focus_area_top2.total += 1
            top2 = {p.focus_area, getattr(p, "focus_area_runner_up", None)}
            score.focus_area_top2.correct += g["focus_area"] in top2
    predicted_actors = {a.name for a in result.actors}
    gold_actors = set(gold.get("actors", []))
    score.actors = Counts(tp=len(predicted_actors & gold_actors), fp=len(predicted_actors - gold_actors),
                          fn=len(gold_actors - predicted_actors))
    score.missed_actors = sorted(gold_actors - predicted_actors)
    score.spurious_actors = sorted(predicted_actors - gold_actors)
    return score


@dataclass
class Evaluation:
    documents: list[DocumentScore]

    def overall(self) -> DocumentScore:
        total = DocumentScore("overall")
        for document in self.documents:
            total.measures.add(document.measures)
            total.strength.add(document.strength)
            total.focus_area.add(document.focus_area)
            total.focus_area_top2.add(document.focus_area_top2)
            total.actors.add(document.actors)
        return total

    def to_json(self) -> dict:
        return {"documents": [d.summary() for d in self.documents],
                "overall": self.overall().summary(details=False)}


def focus_area_scores(gold: list[str], probabilities, classes: list[str]) -> dict:
    """Top-1 and top-2 accuracy and macro-F1 of class probabilities (one row per measure) against gold labels."""
    import numpy as np
    from sklearn.metrics import f1_score

    order = np.argsort(-np.asarray(probabilities), axis=1)
    first = [classes[row[0]] for row in order]
    second = [classes[row[1]] if len(row) > 1 else None for row in order]
    n = len(gold)
    return {"examples": n,
            "top1_accuracy": round(sum(g == a for g, a in zip(gold, first, strict=True)) / n, 4) if n else None,
            "top2_accuracy": round(sum(g in (a, b) for g, a, b in zip(gold, first, second, strict=True)) / n, 4)
            if n else None,
            "macro_f1": round(float(f1_score(gold, first, average="macro", zero_division=0)), 4) if n else None}


def classifier_figures(classifier_dir: Path, classifier, test: Path | None) -> dict:
    """The focus-area classifier's card metrics (cross-validated) and its scores on a held-out labelled test file
    (JSONL: text, label), computed now with the loaded ``classifier``."""
    card = json.loads((Path(classifier_dir) / "card.json").read_text(encoding="utf-8"))
    figures = {"name": card["name"], "version": card["version"], "cv_macro_f1": card["metrics"]["cv_macro_f1"],
               "cv_top2_accuracy": card["metrics"]["cv_top2_accuracy"], "held_out_test": None}
    if test is not None and test.is_file():
        rows = [json.loads(line) for line in test.read_text(encoding="utf-8").splitlines() if line.strip()]
        probabilities = classifier.model.predict_proba([row["text"] for row in rows])
        figures["held_out_test"] = {"file": str(test), **focus_area_scores([row["label"] for row in rows],
                                                                         probabilities, classifier.classes)}
    return figures


def gold_pairs(gold_dir: Path) -> list[tuple[Path, Path]]:
    """Every NAME.txt with a NAME.gold.json beside it."""
    pairs = []
    for gold in sorted(gold_dir.glob("*.gold.json")):
        text = gold.with_name(gold.name.removesuffix(".gold.json") + ".txt")
        if text.is_file():
            pairs.append((text, gold))
    return pairs


def evaluate(gold_dir: Path, analyse) -> Evaluation:
    """``analyse(path) -> DocumentResult`` runs the pipeline; scores every gold document in ``gold_dir``."""
    scores = []
    for text, gold in gold_pairs(gold_dir):
        result = analyse(text)
        scores.append(score_document(text.stem, result, json.loads(gold.read_text(encoding="utf-8"))))
    return Evaluation(scores)


# Reading coverage (issue #14): can the measures of a gold file be found at all? A gold measure is readable when
# its words appear in order, contiguous, inside one block of the structured text, and that block's pages include
# the gold page. Hyphenation, punctuation and whitespace are ignored (words are compared lower-cased, and a word
# hyphenated in the gold text may be one word in the output or the other way round).
_READING_WORD = re.compile(r"[\wæøåÆØÅ]+")


def _reading_words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in _READING_WORD.finditer(text)]


def _joined(words: list[str]) -> str:
    return "".join(words)


@dataclass
class ReadingResult:
    text: str
    page: int | None
    found: bool
    one_block: bool
    right_page: bool

    @property
    def readable(self) -> bool:
        return self.found and self.one_block and self.right_page


def reading_coverage(structured, gold_measures: list[dict]) -> list[ReadingResult]:
    """For every gold measure, whether ``structured`` holds it readably (see above). ``structured`` is anything
    with the normalised ``text`` and its ``blocks``: a StructuredDocument or a DocumentResult.

    Words are compared with hyphens and spaces removed ("helse-næringen" = "helsenæringen"): the gold text's
    letters must appear as one contiguous run of the output's words."""
    words = _reading_words(structured.text)
    # The output's letters as one string, with the char offset in the text of each letter run.
    letters = []
    offsets: list[int] = []
    for word, start, _end in words:
        for i, ch in enumerate(word):
            letters.append(ch)
            offsets.append(start + i)
    haystack = "".join(letters)
    blocks = sorted(structured.blocks, key=lambda b: b.start)
    starts = [b.start for b in blocks]
    import bisect

    def block_at(offset: int):
        index = bisect.bisect_right(starts, offset) - 1
        block = blocks[index] if index >= 0 else None
        return block if block is not None and block.start <= offset < block.end else None

    results = []
    for gold in gold_measures:
        needle = _joined(w for w, _, _ in _reading_words(gold["text"]))
        page = gold.get("page")
        found = one_block = right_page = False
        position = haystack.find(needle) if needle else -1
        candidates = []
        while position >= 0:
            candidates.append(position)
            position = haystack.find(needle, position + 1)
        for position in candidates:
            # Start and end on word boundaries of the output, so "vil" does not match inside "tilvil…".
            first, last = offsets[position], offsets[position + len(needle) - 1]
            found = True
            start_block, end_block = block_at(first), block_at(last)
            if start_block is None or start_block is not end_block:
                continue
            one_block = True
            first_page = start_block.page
            last_page = start_block.page_end or first_page
            if page is None or first_page is None or first_page <= page <= last_page:
                right_page = True
                break
        results.append(ReadingResult(gold["text"], page, found, one_block, right_page))
    return results
