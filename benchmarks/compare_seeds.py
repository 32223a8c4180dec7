"""Score the comparison's measure alignment against the gold alignment of the two seed documents.

    python benchmarks/compare_seeds.py [--nlp blank] [--gold ../shared/eval/seeds] [--details] [--json]

The pipeline analyses both seed texts, ``compare_documents`` aligns Meld. St. 18 (2018–2019) (A) with the
2023 veikart (B), and each predicted pair is mapped to gold measures: a pipeline measure is a gold measure when the
evaluation's token-overlap rule matches them (``pipeline.analysis.evaluation.match_measures``). A predicted pair is
correct when both its sides map to the two measures of a gold pair (``benchmarks/gold/seed_alignment.json``, which names
gold measures by index and a sha256 prefix of their text, never by the text). Printed: alignment precision,
recall and F1, recall on the gold pairs marked clear, and the continued/modified agreement on correct pairs.
The seeds are evaluation data only: the comparison's thresholds were not set on them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.analysis.evaluation import Counts, match_measures  # noqa: E402
from pipeline.analysis.process import analyse_document  # noqa: E402
from pipeline.config import PipelineConfig  # noqa: E402
from pipeline.research.compare import compare_documents  # noqa: E402

GOLD_ALIGNMENT = REPO / "benchmarks" / "gold" / "seed_alignment.json"
DEFAULT_SEEDS = REPO.parent / "shared" / "eval" / "seeds"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def load_gold(seeds: Path, alignment_file: Path = GOLD_ALIGNMENT) -> tuple[dict, list[dict], list[dict]]:
    """The gold alignment and the two gold files' measures; refuses a gold file whose measures have changed."""
    alignment = json.loads(alignment_file.read_text(encoding="utf-8"))
    a = json.loads((seeds / alignment["a"]["gold_file"]).read_text(encoding="utf-8"))["measures"]
    b = json.loads((seeds / alignment["b"]["gold_file"]).read_text(encoding="utf-8"))["measures"]
    for item in alignment["alignment"]:
        if text_hash(b[item["b_index"]]["text"]) != item["b_sha256"]:
            raise SystemExit(f"{alignment_file}: b measure {item['b_index']} no longer matches its gold text")
        if item["a_index"] is not None and text_hash(a[item["a_index"]]["text"]) != item["a_sha256"]:
            raise SystemExit(f"{alignment_file}: a measure {item['a_index']} no longer matches its gold text")
    return alignment, a, b


def evaluate_alignment(seeds: Path = DEFAULT_SEEDS, nlp: str = "blank") -> dict:
    alignment, gold_a, gold_b = load_gold(seeds)
    config = PipelineConfig(nlp=nlp)
    text_of = {key: seeds / (alignment[key]["gold_file"].removesuffix(".gold.json") + ".txt") for key in ("a", "b")}
    result_a = analyse_document(text_of["a"], config)
    result_b = analyse_document(text_of["b"], config)
    pair = compare_documents([result_a, result_b]).pairs[0]

    # pipeline measure id -> gold index, by the evaluation's matching rule
    to_gold_a = {result_a.measures[i].id: j
                 for i, j, _ in match_measures([m.text for m in result_a.measures], [g["text"] for g in gold_a])}
    to_gold_b = {result_b.measures[i].id: j
                 for i, j, _ in match_measures([m.text for m in result_b.measures], [g["text"] for g in gold_b])}
    gold_pairs = {(item["a_index"], item["b_index"]): item for item in alignment["alignment"]
                  if item["status"] in ("continued", "modified")}

    counts, status_agree, found, rows = Counts(), 0, set(), []
    for aligned in pair.aligned:
        key = (to_gold_a.get(aligned.a_id), to_gold_b.get(aligned.b_id))
        gold = gold_pairs.get(key) if None not in key else None
        if gold:
            counts.tp += 1
            found.add(key)
            status_agree += aligned.status == gold["status"]
        else:
            counts.fp += 1
        rows.append({"a": key[0], "b": key[1], "similarity": aligned.similarity, "predicted": aligned.status,
                     "changed": aligned.changed, "correct": bool(gold)})
    counts.fn = len(gold_pairs) - len(found)
    clear = [key for key, item in gold_pairs.items() if item["confidence"] == "clear"]
    missed = [{"a": a, "b": b, "confidence": gold_pairs[(a, b)]["confidence"]}
              for a, b in sorted(gold_pairs) if (a, b) not in found]
    return {
        "nlp": nlp,
        "gold_pairs": len(gold_pairs),
        "predicted_pairs": len(pair.aligned),
        "alignment": counts.summary(),
        "clear_recall": round(sum(key in found for key in clear) / len(clear), 4) if clear else None,
        "clear_pairs": len(clear),
        "status_agreement": {"correct": status_agree, "total": counts.tp,
                             "accuracy": round(status_agree / counts.tp, 4) if counts.tp else None},
        "measures_mapped": {"a": f"{len(to_gold_a)}/{len(gold_a)}", "b": f"{len(to_gold_b)}/{len(gold_b)}"},
        "counts": pair.counts.model_dump(),
        "predicted": rows,
        "missed": missed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nlp", default="blank", help="spaCy pipeline (best, a package, a directory, blank).")
    parser.add_argument("--gold", type=Path, default=DEFAULT_SEEDS, help="Folder with the seed texts and gold files.")
    parser.add_argument("--details", action="store_true", help="List every predicted pair and every missed one.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args()
    report = evaluate_alignment(args.gold, args.nlp)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    a = report["alignment"]
    print(f"seeds: {args.gold}, nlp: {args.nlp}; measures mapped to gold: A {report['measures_mapped']['a']}, "
          f"B {report['measures_mapped']['b']}")
    print(f"statuses: {report['counts']}")
    print(f"alignment: {report['predicted_pairs']} predicted pairs, {report['gold_pairs']} gold pairs: "
          f"P {a['precision']:.3f} R {a['recall']:.3f} F1 {a['f1']:.3f} (tp {a['tp']}, fp {a['fp']}, fn {a['fn']})")
    print(f"recall on the {report['clear_pairs']} clear gold pairs: {report['clear_recall']:.3f}")
    agreement = report["status_agreement"]
    shown = "–" if agreement["accuracy"] is None else f"{agreement['accuracy']:.3f}"
    print(f"continued/modified agreement on correct pairs: {shown} ({agreement['correct']}/{agreement['total']})")
    if args.details:
        for row in report["predicted"]:
            print(f"  {'ok ' if row['correct'] else 'BAD'} a {row['a']} ↔ b {row['b']} sim {row['similarity']:.3f} "
                  f"{row['predicted']} {row['changed']}")
        for row in report["missed"]:
            print(f"  missed a {row['a']} ↔ b {row['b']} ({row['confidence']})")


if __name__ == "__main__":
    main()
