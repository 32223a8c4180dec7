"""End-to-end words per second (``analyse_documents`` over the text documents, as an analysis task of the flow runs
them: load → normalise → structure → NLP batched across documents with ``nlp.pipe`` → extract → classify →
assemble) against bare ``nlp.pipe`` of the same model over the same normalised texts, one process, warm model,
measured in the same run (issue #7: ratio ≥ 0.75).

    python benchmarks/end_to_end_speed.py [--nlp best] [--docs 100] [--repeats 3]

Both sides see exactly the same texts: the bare side gets each document's normalised text (``build_structure``
of the loaded file, i.e. what ``analyse_document`` hands the NLP stage). Runs alternate (end-to-end, bare, ...)
and the best of ``--repeats`` counts, so load from other processes on a shared machine hits both alike. Also
prints the seconds per stage (``provenance.timings``) of the best end-to-end run, and for reference
``analyse_document`` one document at a time and ``nlp(text)`` one document at a time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from corpus_generator import generate  # noqa: E402

from pipeline.analysis.nlp import load_nlp  # noqa: E402
from pipeline.analysis.process import NLP_BATCH_SIZE, analyse_document, analyse_documents  # noqa: E402
from pipeline.config import PipelineConfig  # noqa: E402
from pipeline.reading.loaders import load_document  # noqa: E402
from pipeline.reading.structure import build_structure  # noqa: E402


def end_to_end(paths: list[Path], config: PipelineConfig) -> dict[str, float]:
    """Runs analyse_documents over the paths in batches as large as the flow's; returns the seconds per stage."""
    stages: dict[str, float] = {}
    for _path, result in analyse_documents(paths, config):
        if isinstance(result, Exception):
            raise result
        for name, seconds in result.provenance.timings.items():
            stages[name] = stages.get(name, 0.0) + seconds
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nlp", default="best")
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    config = PipelineConfig(nlp=args.nlp)
    loaded = load_nlp(config.nlp)
    nlp = loaded.nlp
    with tempfile.TemporaryDirectory() as tmp:
        paths = generate(Path(tmp), args.docs, pdf_share=0.0, seed=args.seed)
        texts = [build_structure(load_document(path)).text for path in paths]
        n_words = sum(1 for text in texts for token in nlp.make_doc(text) if not token.is_space)

        end_to_end(paths[:3], config)  # warm-up: model, classifier, taxonomy, extractor rules
        list(nlp.pipe(texts[:5]))

        best_e2e, best_stages, best_bare, best_single = float("inf"), {}, float("inf"), float("inf")
        best_one_by_one = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            stages = end_to_end(paths, config)
            seconds = time.perf_counter() - started
            if seconds < best_e2e:
                best_e2e, best_stages = seconds, stages

            started = time.perf_counter()
            list(nlp.pipe(texts, batch_size=32))
            best_bare = min(best_bare, time.perf_counter() - started)

            started = time.perf_counter()
            for text in texts:
                nlp(text)
            best_single = min(best_single, time.perf_counter() - started)

            started = time.perf_counter()
            for path in paths:
                analyse_document(path, config)
            best_one_by_one = min(best_one_by_one, time.perf_counter() - started)

    e2e_wps, bare_wps, single_wps = n_words / best_e2e, n_words / best_bare, n_words / best_single
    print(f"model: {loaded.info.name} {loaded.info.version} ({loaded.info.kind}); components: "
          f"{', '.join(loaded.info.components)}")
    print(f"texts: {len(texts)} text documents, {n_words:,} words; best of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"end-to-end analyse_documents (batches of {NLP_BATCH_SIZE}) words/s: {e2e_wps:,.0f}  ({best_e2e:.2f} s)")
    staged = sum(best_stages.values())
    for name, seconds in best_stages.items():
        print(f"  stage {name:<10} {seconds:7.3f} s  {100 * seconds / best_e2e:5.1f} %")
    print(f"  outside stages {best_e2e - staged:7.3f} s  {100 * (best_e2e - staged) / best_e2e:5.1f} %")
    print(f"analyse_document one at a time words/s: {n_words / best_one_by_one:,.0f}  ({best_one_by_one:.2f} s)")
    print(f"nlp(text) one at a time words/s: {single_wps:,.0f}  ({best_single:.2f} s)")
    print(f"bare nlp.pipe words/s: {bare_wps:,.0f}  ({best_bare:.2f} s)")
    print(f"ratio end-to-end/bare nlp.pipe: {e2e_wps / bare_wps:.3f} (target ≥ 0.75)")


if __name__ == "__main__":
    main()
