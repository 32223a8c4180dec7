"""Words per second of the Norwegian spaCy pipeline, one process, on policy-style text.

    python benchmarks/nlp_speed.py [--nlp best] [--docs 200]

Prints the pipeline's words/s, the bare tokenizer's words/s over the same texts (the floor any pipeline pays)
measured in the same run, and their ratio. The issue's target for the shipped model: ≥ 8,000 words/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from policy_text import documents

from pipeline.analysis.nlp import load_nlp


def words_per_second(run, texts: list[str], n_words: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run(texts)
        best = min(best, time.perf_counter() - started)
    return n_words / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nlp", default="best")
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    loaded = load_nlp(args.nlp)
    nlp = loaded.nlp
    texts = documents(args.docs)
    n_words = sum(1 for text in texts for token in nlp.make_doc(text) if not token.is_space)
    list(nlp.pipe(texts[:5]))  # warm-up

    pipeline_wps = words_per_second(lambda batch: list(nlp.pipe(batch, batch_size=32)), texts, n_words,
                                    args.repeats)
    tokenizer_wps = words_per_second(lambda batch: [nlp.make_doc(t) for t in batch], texts, n_words, args.repeats)

    print(f"model: {loaded.info.name} {loaded.info.version} ({loaded.info.kind}); components: "
          f"{', '.join(loaded.info.components)}")
    print(f"texts: {len(texts)} documents, {n_words:,} words")
    print(f"pipeline words/s: {pipeline_wps:,.0f}  (target ≥ 8,000 for the shipped model)")
    print(f"tokenizer-only words/s: {tokenizer_wps:,.0f}")
    print(f"ratio pipeline/tokenizer: {pipeline_wps / tokenizer_wps:.3f}")


if __name__ == "__main__":
    main()
