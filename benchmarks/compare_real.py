"""Measure alignment on real document pairs: the earlier method against the Norwegian-aware pair scorer.

    python benchmarks/compare_real.py [--pages ../shared/corpora/policy-pages] [--details] [--fit] [--json]

The gold (``benchmarks/gold/real_alignment.json``, data card ``benchmarks/gold/README.md``) aligns the annotated
measures of 39 pairs of real policy pages. Both methods align the gold measures themselves (the measure texts are
read from the pages at run time by their spans), so the figures measure the similarity and the assignment, not the
measure extraction. Printed:

- ``before``: the earlier comparison (``pipeline.research.compare.similarity_matrix`` on the texts without their action
  wording, one-to-one at ``MIN_SIMILARITY``);
- ``after``: the pair scorer (``pipeline.research.similarity``), cross-validated leaving one document pair out: the
  logistic regression and the alignment threshold are fitted on the other pairs (the threshold by an inner
  leave-one-pair-out over them, ``grouped_threshold``, as for the committed model), then the held-out pair is
  aligned. The pooled precision, recall and F1 over the held-out pairs, and the continued/modified agreement on
  correct pairs. (Until the seventh session each fold took the threshold with the best in-sample F1 on its training
  pairs, which chose 0.45–0.9 from fold to fold.)
- ``*_with_distractors``: each held-out real pair again, now inside a long document pair (``with_distractors``: its
  measures followed by those of the other real pairs of other chains: 90–100 measures a side with the 39 pairs, more
  than whole documents such as the seeds, 31 and 13), by the same fold's model and threshold; only pairs with a
  measure of the held-out pair on either side are scored. The real pairs are short (0–7 measures a side, 15 at most),
  and a threshold chosen on them is tested here where a long document's many candidates make it matter. Measures of
  different chains are taken to be different measures; a few distractors share a field with the held-out pair
  (hiring of labour, defence), so this precision is a lower bound.

``--fit`` fits on all the pairs and prints the weights, intercept and threshold (``grouped_threshold`` over all the
pairs) to put in ``pipeline/research/similarity.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np  # noqa: E402

from pipeline.research import compare, similarity  # noqa: E402

GOLD = REPO / "benchmarks" / "gold" / "real_alignment.json"
ANNOTATIONS = REPO / "corpus" / "annotations" / "policy-pages"
DEFAULT_PAGES = REPO.parent / "shared" / "corpora" / "policy-pages"
THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.1, 0.96, 0.05))


def _annotation(page: str) -> dict:
    for folder in ("adjudicated", "first"):
        path = ANNOTATIONS / folder / f"{page}.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    raise SystemExit(f"{page}: no measure annotation in {ANNOTATIONS}")


def _side(side: dict, pages: Path) -> dict:
    """A page's measures (text, strength, actors) from its annotation and its text in ../shared."""
    page = side["page"]
    text = (pages / "texts" / f"{page}.txt").read_text(encoding="utf-8")
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != side["sha256"]:
        raise SystemExit(f"{page}: the page text has changed since the gold alignment was written")
    measures = _annotation(page)["measures"]
    if len(measures) != side["measures"]:
        raise SystemExit(f"{page}: the measure annotation has changed since the gold alignment was written")
    return {"page": page, "texts": [text[m["start"]:m["end"]] for m in measures],
            "strengths": [m["strength"] for m in measures], "actors": [m.get("actors", []) for m in measures]}


def load_pairs(pages: Path = DEFAULT_PAGES, gold: Path = GOLD) -> list[dict]:
    """The gold document pairs with their measures and gold pairs ``{(a, b): status}``."""
    data = json.loads(gold.read_text(encoding="utf-8"))
    pairs = []
    for item in data["pairs"]:
        a, b = _side(item["a"], pages), _side(item["b"], pages)
        gold_pairs = {(row["a_index"], row["b_index"]): row["status"] for row in item["alignment"]
                      if row["status"] in ("continued", "modified")}
        pairs.append({"a": a, "b": b, "gold": gold_pairs, "about": item["about"]})
    return pairs


def development_pair() -> dict:
    """The project's own development set (``benchmarks/compare_dev.py``) as one more document pair to train on: one
    larger pair of documents on a single topic (18 restated measures among 38), unlike the small real pairs."""
    from compare_dev import ONLY_EARLIER, ONLY_LATER, RESTATED

    a = [x for x, _ in RESTATED] + ONLY_EARLIER
    b = [y for _, y in RESTATED] + ONLY_LATER
    return {"a": {"page": "development set (earlier)", "texts": a, "strengths": [None] * len(a),
                  "actors": [[] for _ in a]},
            "b": {"page": "development set (later)", "texts": b, "strengths": [None] * len(b),
                  "actors": [[] for _ in b]},
            "gold": {(k, k): "modified" for k in range(len(RESTATED))}, "about": "development set", "dev": True}


def _context(pair: dict) -> similarity.PairContext:
    if "context" not in pair:
        pair["context"] = similarity.signal_array(
            [compare.alignment_text(t) for t in pair["a"]["texts"]],
            [compare.alignment_text(t) for t in pair["b"]["texts"]], pair["a"]["actors"], pair["b"]["actors"],
            pair["a"]["texts"], pair["b"]["texts"])
    return pair["context"]


def _score(found: list[set], pairs: list[dict]) -> dict:
    tp = sum(len(f & set(p["gold"])) for f, p in zip(found, pairs, strict=True))
    predicted = sum(len(f) for f in found)
    gold = sum(len(p["gold"]) for p in pairs)
    precision = tp / predicted if predicted else 0.0
    recall = tp / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": predicted - tp, "fn": gold - tp, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4)}


def before(pairs: list[dict]) -> tuple[dict, list[set]]:
    found = []
    for pair in pairs:
        matrix = compare.similarity_matrix([compare.alignment_text(t) for t in pair["a"]["texts"]],
                                           [compare.alignment_text(t) for t in pair["b"]["texts"]])
        found.append({(i, j) for i, j, _ in compare.align(matrix)})
    return _score(found, pairs), found


def _components(pairs: list[dict]) -> list[str]:
    """Per document pair, the chain of pages it belongs to (pairs linked by a shared page: one plan, scheme or budget
    across years), named by one of its pages."""
    parent: dict[str, str] = {}

    def root(page: str) -> str:
        while parent.setdefault(page, page) != page:
            page = parent[page]
        return page

    for pair in pairs:
        parent[root(pair["a"]["page"])] = root(pair["b"]["page"])
    return [root(pair["a"]["page"]) for pair in pairs]


def with_distractors(pairs: list[dict], k: int, pool: list[int] | None = None) -> dict:
    """Real document pair ``k`` made long: its measures followed by those of other real pairs (from ``pool``, default
    all) that belong to another chain and share no page with ``k`` or with each other, the earlier pages on side a
    and the later on side b. Measures from different chains are taken as different measures, so the long pair's gold
    is the union of the pairs' gold. ``owner_a``/``owner_b`` name each measure's pair. The real pairs are short (0–7
    measures a side); these are 90–100 a side, like whole documents, where a threshold fitted on short pairs aligns
    too much."""
    chains = _components(pairs)
    used = {pairs[k]["a"]["page"], pairs[k]["b"]["page"]}
    members = [k]
    for m in range(len(pairs)) if pool is None else pool:
        pages = {pairs[m]["a"]["page"], pairs[m]["b"]["page"]}
        if m == k or pairs[m].get("dev") or chains[m] == chains[k] or pages & used:
            continue
        used |= pages
        members.append(m)
    long: dict = {"a": {"page": pairs[k]["a"]["page"], "texts": [], "strengths": [], "actors": []},
                  "b": {"page": pairs[k]["b"]["page"], "texts": [], "strengths": [], "actors": []},
                  "gold": {}, "owner_a": [], "owner_b": [], "about": f"{pairs[k]['about']} (with distractors)"}
    for m in members:
        offset_a, offset_b = len(long["a"]["texts"]), len(long["b"]["texts"])
        for side in ("a", "b"):
            for key in ("texts", "strengths", "actors"):
                long[side][key] += pairs[m][side][key]
            long[f"owner_{side}"] += [m] * len(pairs[m][side]["texts"])
        long["gold"].update({(i + offset_a, j + offset_b): status for (i, j), status in pairs[m]["gold"].items()})
    return long


def _training_set(pairs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for pair in pairs:
        features = _context(pair).features
        for i in range(features.shape[0]):
            for j in range(features.shape[1]):
                rows.append(features[i, j])
                labels.append(int((i, j) in pair["gold"]))
    return np.array(rows), np.array(labels)


def fit(pairs: list[dict]) -> tuple[dict[str, float], float]:
    from sklearn.linear_model import LogisticRegression

    features, labels = _training_set(pairs)
    model = LogisticRegression(class_weight="balanced", C=1.0, max_iter=2000).fit(features, labels)
    weights = {name: round(float(w), 3) for name, w in zip(similarity.Signals.FEATURES, model.coef_[0], strict=True)}
    return weights, round(float(model.intercept_[0]), 3)


def _align(pair: dict, weights: dict[str, float], intercept: float, threshold: float) -> set:
    return _at(similarity.probabilities(_context(pair), weights, intercept), threshold)


def _at(matrix, threshold: float) -> set:
    if matrix.size == 0:
        return set()
    return {(i, j) for i, j, _ in compare.align(matrix, threshold)}


def _counts(found: set, pair: dict) -> tuple[int, int, int]:
    gold = set(pair["gold"])
    return len(found & gold), len(found - gold), len(gold - found)


def choose_threshold(pairs: list[dict], weights: dict[str, float], intercept: float) -> float:
    """The threshold with the best pooled F1 on these pairs (ties: the higher one, fewer false pairs)."""
    scored = [(_score([_align(p, weights, intercept, t) for p in pairs], pairs)["f1"], t) for t in THRESHOLDS]
    return max(scored)[1]


def cross_validated_threshold(pairs: list[dict]) -> tuple[float, dict[float, float]]:
    """The threshold with the best pooled F1 on held-out document pairs (each aligned by a model fitted on the
    others), and the F1 of every threshold tried."""
    models = [fit(pairs[:k] + pairs[k + 1:]) for k in range(len(pairs))]
    f1 = {t: _score([_align(p, w, b, t) for p, (w, b) in zip(pairs, models, strict=True)], pairs)["f1"]
          for t in THRESHOLDS}
    return max((score, t) for t, score in f1.items())[1], f1


def grouped_threshold(pairs: list[dict], longs: list[dict], members: list[int] | None = None
                      ) -> tuple[float, dict[float, float]]:
    """The threshold chosen by cross-validation grouped by document pair: each real pair of ``members`` (indices into
    ``pairs``, default all) is held out in turn and aligned by a model fitted on the other members, on its own and
    among its distractors (``longs[k]``, ``with_distractors``); the threshold with the best F1 over both counts
    pooled (ties: the higher). Short pairs alone favour a low threshold that aligns too much in a whole document, and
    the comparison aligns whole documents. The development pair trains the models but is not scored: it is the
    project's own rewording, not a real one. Returns the threshold and the F1 of every threshold tried."""
    members = list(range(len(pairs))) if members is None else members
    counts: dict[float, list[tuple[int, int, int]]] = {t: [] for t in THRESHOLDS}
    for k in members:
        if pairs[k].get("dev"):
            continue
        weights, intercept = fit([pairs[m] for m in members if m != k])
        own = similarity.probabilities(_context(pairs[k]), weights, intercept)
        long = similarity.probabilities(_context(longs[k]), weights, intercept)
        for t in THRESHOLDS:
            counts[t].append(_counts(_at(own, t), pairs[k]))
            counts[t].append(_score_held_out(_at(long, t), longs[k], k))
    f1 = {t: _pooled(c)["f1"] for t, c in counts.items()}
    return max((score, t) for t, score in f1.items())[1], f1


def _score_held_out(found: set, long: dict, k: int) -> tuple[int, int, int]:
    """tp, fp, fn of the held-out pair ``k`` inside its long version: only predicted pairs with a measure of ``k`` on
    either side count (a pair of two distractors is neither right nor wrong here)."""
    gold = {g for g in long["gold"] if long["owner_a"][g[0]] == k}
    predicted = {f for f in found if long["owner_a"][f[0]] == k or long["owner_b"][f[1]] == k}
    return len(predicted & gold), len(predicted - gold), len(gold - predicted)


def _pooled(counts: list[tuple[int, int, int]]) -> dict:
    tp, fp, fn = (sum(c[x] for c in counts) for x in range(3))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4)}


def cross_validate(pairs: list[dict]) -> tuple[dict, list[set], list[dict], dict]:
    """Leave one document pair out: the model and the threshold are fitted on the other pairs (the threshold by
    ``grouped_threshold`` within them, as for the committed model), then the held-out pair is aligned on its own and,
    for a real pair, again among distractors (``with_distractors``: the other real pairs of other chains, whose gold
    is not scored). Returns the plain score, the found pairs, the folds and the pooled score among distractors."""
    longs = [None if pair.get("dev") else with_distractors(pairs, k) for k, pair in enumerate(pairs)]
    found, folds, long_counts = [], [], []
    for k, held_out in enumerate(pairs):
        others = [m for m in range(len(pairs)) if m != k]
        weights, intercept = fit([pairs[m] for m in others])
        threshold = grouped_threshold(pairs, longs, others)[0]
        found.append(_align(held_out, weights, intercept, threshold))
        folds.append({"held_out": held_out["b"]["page"], "threshold": threshold})
        if longs[k] is not None:
            long_counts.append(_score_held_out(_align(longs[k], weights, intercept, threshold), longs[k], k))
    return _score(found, pairs), found, folds, _pooled(long_counts)


def status_agreement(pairs: list[dict], found: list[set]) -> dict:
    """continued/modified as ``pipeline.research.compare`` decides it, on the correct pairs."""
    correct = agree = 0
    for pair, predicted in zip(pairs, found, strict=True):
        for i, j in predicted & set(pair["gold"]):
            correct += 1
            status = compare.status_of(pair["a"]["texts"][i], pair["b"]["texts"][j], pair["a"]["strengths"][i],
                                       pair["b"]["strengths"][j], pair["a"]["actors"][i], pair["b"]["actors"][j])
            agree += status == pair["gold"][(i, j)]
    return {"correct": agree, "total": correct, "accuracy": round(agree / correct, 4) if correct else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES, help="The policy-pages corpus folder.")
    parser.add_argument("--details", action="store_true", help="Per document pair: gold, before and after.")
    parser.add_argument("--fit", action="store_true", help="Fit on all pairs and print weights and threshold.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    real = load_pairs(args.pages)
    pairs = [*real, development_pair()]
    before_found = before(pairs)[1]
    before_long = _pooled([_score_held_out({(i, j) for i, j, _ in compare.align(compare.similarity_matrix(
        [compare.alignment_text(t) for t in d["a"]["texts"]], [compare.alignment_text(t) for t in d["b"]["texts"]]))},
        d, k) for k in range(len(real)) for d in [with_distractors(pairs, k)]])
    _, after_found, folds, after_long = cross_validate(pairs)
    n = len(real)
    report = {"document_pairs": n, "gold_pairs": sum(len(p["gold"]) for p in real),
              "before": _score(before_found[:n], real), "after_cv": _score(after_found[:n], real),
              "before_with_distractors": before_long, "after_cv_with_distractors": after_long,
              "development_before": _score(before_found[n:], pairs[n:]),
              "development_after_cv": _score(after_found[n:], pairs[n:]),
              "status_agreement_before": status_agreement(real, before_found[:n]),
              "status_agreement_after": status_agreement(real, after_found[:n]),
              "thresholds": sorted({float(f["threshold"]) for f in folds})}
    if args.fit:
        weights, intercept = fit(pairs)
        held_out_threshold, by_threshold = cross_validated_threshold(pairs)
        longs = [None if pair.get("dev") else with_distractors(pairs, k) for k, pair in enumerate(pairs)]
        threshold, grouped_f1 = grouped_threshold(pairs, longs)
        report["fit"] = {"weights": weights, "intercept": intercept, "threshold": threshold,
                         "grouped_f1_by_threshold": grouped_f1,
                         "in_sample_threshold": choose_threshold(pairs, weights, intercept),
                         "held_out_threshold": held_out_threshold, "held_out_f1_by_threshold": by_threshold}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"{report['document_pairs']} document pairs, {report['gold_pairs']} gold pairs")
    for name in ("before", "after_cv", "before_with_distractors", "after_cv_with_distractors", "development_before",
                 "development_after_cv"):
        s = report[name]
        print(f"{name:26}: P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f} "
              f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")
    for name in ("status_agreement_before", "status_agreement_after"):
        s = report[name]
        print(f"{name}: {s['accuracy']} ({s['correct']}/{s['total']})")
    print(f"thresholds chosen in the folds: {report['thresholds']}")
    if args.fit:
        print(f"fit on all pairs: {report['fit']}")
    if args.details:
        for pair, b_found, a_found in zip(pairs, before_found, after_found, strict=True):
            print(f"  {pair['a']['page'][:28]} → {pair['b']['page'][:28]}: gold {sorted(pair['gold'])} "
                  f"before {sorted(b_found)} after {sorted(a_found)}")


if __name__ == "__main__":
    main()
