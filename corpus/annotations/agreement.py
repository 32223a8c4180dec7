"""Agreement between the two independent annotation passes of the real policy pages (issue #15's protocol):
measure F1 between annotators (spans matched as the evaluation matches them: token overlap ≥ 0.8, one-to-one),
and on matched measures the agreement of strength and policy area. Reads the texts from ``../shared``.

    python corpus/annotations/agreement.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])]

from spans import OUT, text_of  # noqa: E402

from pipeline.analysis.evaluation import match_measures  # noqa: E402


def _spans(annotation: dict, text: str) -> list[str]:
    return [text[m["start"]:m["end"]] for m in annotation["measures"]]


def agreement() -> dict:
    pages = matched = first_total = second_total = 0
    strength_same = policy_same = 0
    pages_both_empty = pages_disagree_empty = 0
    disagreements = []
    for second_path in sorted((OUT / "second").glob("*.json")):
        first_path = OUT / "first" / second_path.name
        if not first_path.is_file():
            continue
        first = json.loads(first_path.read_text(encoding="utf-8"))
        second = json.loads(second_path.read_text(encoding="utf-8"))
        text = text_of(first["id"])
        a, b = _spans(first, text), _spans(second, text)
        pairs = match_measures(a, b)
        pages += 1
        matched += len(pairs)
        first_total += len(a)
        second_total += len(b)
        if not a and not b:
            pages_both_empty += 1
        elif not a or not b:
            pages_disagree_empty += 1
        for i, j, _ in pairs:
            strength_same += first["measures"][i]["strength"] == second["measures"][j]["strength"]
            policy_same += first["measures"][i]["policy_area"] == second["measures"][j]["policy_area"]
        if len(pairs) != len(a) or len(pairs) != len(b):
            disagreements.append({"id": first["id"], "first": len(a), "second": len(b), "matched": len(pairs)})
    precision = matched / second_total if second_total else 1.0
    recall = matched / first_total if first_total else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pages": pages, "measures_first": first_total, "measures_second": second_total, "matched": matched,
            "measure_f1": round(f1, 4),
            "strength_agreement": round(strength_same / matched, 4) if matched else None,
            "policy_area_agreement": round(policy_same / matched, 4) if matched else None,
            "pages_without_measures_in_both": pages_both_empty,
            "pages_where_one_pass_found_none": pages_disagree_empty,
            "pages_with_differences": disagreements}


def corpus_summary() -> dict:
    """Counts of the first-pass annotations (adjudicated where a page has one): pages, measures, by language and
    genre, strength and policy area."""
    from collections import Counter

    sources = {}
    with open(OUT.parent / "policy-pages-sources.jsonl", encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            sources[row["id"]] = row
    pages = Counter()
    measures = Counter()
    empty = Counter()
    strengths, areas = Counter(), Counter()
    for path in sorted((OUT / "first").glob("*.json")):
        adjudicated = OUT / "adjudicated" / path.name
        annotation = json.loads((adjudicated if adjudicated.is_file() else path).read_text(encoding="utf-8"))
        source = sources[annotation["id"]]
        for key in ("all", f"lang:{source['lang']}", f"genre:{source['genre']}"):
            pages[key] += 1
            measures[key] += len(annotation["measures"])
            empty[key] += not annotation["measures"]
        strengths.update(m["strength"] for m in annotation["measures"])
        areas.update(m["policy_area"] for m in annotation["measures"])
    return {"pages": dict(pages), "measures": dict(measures), "pages_without_measures": dict(empty),
            "strength": dict(strengths), "policy_area": dict(sorted(areas.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--summary", action="store_true", help="counts of the annotated corpus instead")
    args = parser.parse_args()
    if args.summary:
        print(json.dumps(corpus_summary(), ensure_ascii=False, indent=1))
        return
    result = agreement()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    for key, value in result.items():
        if key != "pages_with_differences":
            print(f"{key}: {value}")
    print(f"pages with differences: {len(result['pages_with_differences'])}")


if __name__ == "__main__":
    main()
