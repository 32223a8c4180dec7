"""Cold run against warm re-run of ``process_corpus`` over an unchanged corpus, one process, measured in the same run
(issue #7: warm ≤ 5 % of cold).

    python benchmarks/warm_rerun.py [--docs 200] [--pdf-share 0.3] [--nlp best] [--profile]

A fresh ``PREFECT_HOME`` (temporary folder, set before Prefect is imported), so the cold run finds no cached
analysis. Prefect's temporary server is started first by a trivial flow and its start-up is timed separately, so
neither run pays it. The cold run includes loading the NLP model (the flow loads it); the warm run finds it loaded
in this process: the model's load time is printed, as a ``tiltak run`` re-run in a new process also pays it.
``--profile`` prints the top of a cProfile of the warm run (to stderr; the profiler slows it ~2.5×).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from prefect_setup import fresh_prefect_home, start_temporary_server  # noqa: E402

WORK = fresh_prefect_home("tiltak-warm-rerun-")  # before Prefect is imported (by flows)

from corpus_generator import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--pdf-share", type=float, default=0.3)
    parser.add_argument("--nlp", default="best")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary corpus, outputs and PREFECT_HOME")
    args = parser.parse_args()
    try:
        run(args)
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    corpus, out = WORK / "corpus", WORK / "out"
    generate(corpus, args.docs, args.pdf_share, args.seed)

    import flows

    server_seconds = start_temporary_server()

    started = time.perf_counter()
    cold = flows.process_corpus([str(corpus)], out_dir=str(out), nlp=args.nlp)
    cold_seconds = time.perf_counter() - started

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    warm = flows.process_corpus([str(corpus)], out_dir=str(out), nlp=args.nlp)
    warm_seconds = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)

    import spacy

    from pipeline.analysis.nlp import load_nlp

    loaded = load_nlp(args.nlp)
    model_path = REPO / "models" / "nb_tiltak_core"
    model_seconds = None
    if loaded.info.kind == "shipped" and model_path.is_dir():
        started = time.perf_counter()
        spacy.load(model_path)
        model_seconds = time.perf_counter() - started

    print(f"corpus: {args.docs} documents (PDF share {args.pdf_share}), model {loaded.info.name} "
          f"({loaded.info.kind}); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"Prefect temporary server start (counted in neither run): {server_seconds:.2f} s")
    if model_seconds is not None:
        print(f"NLP model load (in the cold run; a re-run in a new process pays it too): {model_seconds:.2f} s")
    print(f"cold run: {cold_seconds:.2f} s  counts {cold['counts']}")
    print(f"warm re-run: {warm_seconds:.2f} s  counts {warm['counts']}")
    all_cached = warm["counts"]["processed"] == 0 and warm["counts"]["failed"] == 0
    print(f"warm run all cached: {all_cached}")
    print(f"ratio warm/cold: {warm_seconds / cold_seconds:.3f} (target ≤ 0.05)")


if __name__ == "__main__":
    main()
