"""Throughput of ``tiltak run --runner dask`` with 2 local workers against 1, measured in the same run (issue #7:
≥ 1.6× on a 2-core machine).

    python benchmarks/worker_scaling.py [--docs 60] [--pdf-share 0.3] [--nlp best] [--workers 1 2]

One corpus from ``corpus_generator.py``; each worker count gets its own output folder and runs with the analysis
cache bypassed (``refresh_cache``), so every document is analysed in every run. The wall time of a run includes
starting its ``LocalCluster`` and each worker loading the spaCy pipeline and classifier once: that is what a user
waits for. The per-document figure excludes the fixed start (time to the first finished document) too. A fresh
``PREFECT_HOME`` is set before Prefect is imported, and Prefect's temporary server is started first and timed
separately, so neither run pays for it.
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

WORK = fresh_prefect_home("tiltak-workers-")  # before Prefect is imported (by flows)

from corpus_generator import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--pdf-share", type=float, default=0.3)
    parser.add_argument("--nlp", default="best")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    try:
        run(args)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    corpus = WORK / "corpus"
    generate(corpus, args.docs, args.pdf_share, args.seed)
    words = sum(len(p.read_text(encoding="utf-8").split()) for p in corpus.glob("*.txt"))

    import flows

    server_seconds = start_temporary_server()
    print(f"corpus: {args.docs} documents (PDF share {args.pdf_share}, {words:,} words in the text files), "
          f"--nlp {args.nlp}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; Prefect temporary "
          f"server start {server_seconds:.1f} s (counted in no run)", flush=True)

    figures: dict[int, tuple[float, float]] = {}
    for workers in args.workers:
        finished: list[float] = []
        started = time.perf_counter()
        with flows.progress_listener(lambda _record, times=finished: times.append(time.perf_counter())):
            manifest = flows.process_corpus.with_options(task_runner=flows.dask_runner(workers=workers))(
                [str(corpus)], out_dir=str(WORK / f"out-{workers}"), nlp=args.nlp, refresh_cache=True)
        wall = time.perf_counter() - started
        counts = manifest["counts"]
        if counts["processed"] != args.docs:
            raise SystemExit(f"{workers} worker(s): expected {args.docs} processed documents, got {counts}")
        steady = (len(finished) - 1) / (finished[-1] - finished[0]) if len(finished) > 1 else float("nan")
        figures[workers] = (args.docs / wall, steady)
        print(f"{workers} worker(s): {wall:.1f} s wall, {args.docs / wall:.2f} documents/s; after the first "
              f"document {steady:.2f} documents/s; counts {counts}", flush=True)

    if len(args.workers) >= 2:
        base, top = args.workers[0], args.workers[-1]
        print(f"ratio {top} workers / {base}: wall-time throughput {figures[top][0] / figures[base][0]:.2f}×, "
              f"after the first document {figures[top][1] / figures[base][1]:.2f}× (target ≥ 1.6×)")


if __name__ == "__main__":
    main()
