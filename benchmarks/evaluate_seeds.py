"""Evaluate the whole pipeline against the gold seed documents and print the figures the issues set targets for.

    python benchmarks/evaluate_seeds.py [--nlp best] [--gold ../shared/eval/seeds]

Targets (extraction issue): measure F1 ≥ 0.95, actor F1 ≥ 0.90, strength accuracy ≥ 0.90; (classification
issue): focus-area accuracy ≥ 0.85 top-1 and ≥ 0.95 top-2. The seeds are evaluation data only: nothing in the
project is trained or tuned on them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.analysis.evaluation import evaluate, gold_pairs  # noqa: E402
from pipeline.analysis.process import analyse_document  # noqa: E402
from pipeline.config import PipelineConfig  # noqa: E402

TARGETS = {"measure F1": 0.95, "actor F1": 0.90, "strength accuracy": 0.90, "focus-area accuracy": 0.85,
           "focus-area top-2 accuracy": 0.95}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nlp", default="best")
    parser.add_argument("--gold", type=Path, default=REPO.parent / "shared" / "eval" / "seeds")
    args = parser.parse_args()
    # Without the gold files there is nothing to score: say so and fail, never print F1 0.000 as if it were measured.
    if not args.gold.is_dir():
        sys.exit(f"evaluate_seeds: {args.gold}: no such folder; the seed gold files live in ../shared/eval/seeds "
                 "(pass --gold FOLDER)")
    if not gold_pairs(args.gold):
        sys.exit(f"evaluate_seeds: {args.gold}: no NAME.txt with a NAME.gold.json beside it; nothing to evaluate")
    config = PipelineConfig(nlp=args.nlp)
    started = time.perf_counter()
    evaluation = evaluate(args.gold, lambda path: analyse_document(path, config))
    elapsed = time.perf_counter() - started
    overall = evaluation.overall()
    figures = {"measure F1": overall.measures.f1, "actor F1": overall.actors.f1,
               "strength accuracy": overall.strength.value, "focus-area accuracy": overall.focus_area.value,
               "focus-area top-2 accuracy": overall.focus_area_top2.value}
    print(f"gold: {args.gold} ({len(evaluation.documents)} documents), nlp: {args.nlp}, {elapsed:.1f} s")
    for document in evaluation.documents:
        print(f"  {document.name}: measures P {document.measures.precision:.3f} R {document.measures.recall:.3f} "
              f"F1 {document.measures.f1:.3f}; actors F1 {document.actors.f1:.3f}; "
              f"missed actors {document.missed_actors}; spurious actors {document.spurious_actors}")
    for name, value in figures.items():
        verdict = "met" if value is not None and value >= TARGETS[name] else "MISSED"
        shown = "–" if value is None else f"{value:.3f}"
        print(f"{name}: {shown} (target ≥ {TARGETS[name]}) {verdict}")


if __name__ == "__main__":
    main()
