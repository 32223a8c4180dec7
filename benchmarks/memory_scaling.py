"""Peak memory of processing 1,000 documents against 100, each run in a fresh process, measured in the same run
(issue #7: peak RSS ratio ≤ 1.2).

    python benchmarks/memory_scaling.py [--nlp blank] [--small 100] [--large 1000] [--pdf-share 0.3]
                                        [--mode flow|analyse]

``--mode flow`` (default) runs ``process_corpus`` as ``tiltak run`` does (fresh ``PREFECT_HOME`` per run, so nothing
is cached); ``--mode analyse`` runs the bare ``analyse_document`` loop, to tell the pipeline's memory from the
orchestration's. Each run is a new Python process that reports its own peak RSS (``ru_maxrss``), its RSS before the
first document (imports, model, Prefect's server client), and the peak of its own child processes (Prefect's
temporary server). Linux: ``ru_maxrss`` is in KiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(corpus: Path, out: Path, nlp: str, mode: str) -> None:
    """One run in this (fresh) process; prints a JSON line with its figures."""
    os.environ["PREFECT_HOME"] = str(out.parent / "prefect")  # before Prefect is imported
    from pipeline.analysis.nlp import load_nlp
    from pipeline.analysis.process import analyse_document
    from pipeline.config import PipelineConfig

    config = PipelineConfig(nlp=nlp)
    load_nlp(nlp)
    paths = sorted(corpus.iterdir())
    counts: dict[str, int] = {}
    if mode == "flow":
        from prefect_setup import start_temporary_server

        import flows

        start_temporary_server()
        baseline = rss_kib()
        started = time.perf_counter()
        manifest = flows.process_corpus([str(corpus)], out_dir=str(out), nlp=nlp)
        counts = manifest["counts"]
    else:
        analyse_document(paths[0], config)  # warm-up: classifier, taxonomy, rules
        baseline = rss_kib()
        started = time.perf_counter()
        for path in paths:
            analyse_document(path, config)
        counts = {"processed": len(paths)}
    seconds = time.perf_counter() - started
    print(json.dumps({
        "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "baseline_kib": baseline,
        "end_kib": rss_kib(),
        "children_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "seconds": seconds,
        "counts": counts,
    }))


def run_child(corpus: Path, work: Path, nlp: str, mode: str) -> dict:
    out = work / "out"
    command = [sys.executable, __file__, "--child", str(corpus), "--out", str(out), "--nlp", nlp, "--mode", mode]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"child run failed ({done.returncode}): {' '.join(command)}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nlp", default="blank")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--pdf-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--mode", choices=["flow", "analyse"], default="flow")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.out, args.nlp, args.mode)
        return

    from corpus_generator import generate

    print(f"mode {args.mode}, --nlp {args.nlp}, PDF share {args.pdf_share}; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs", flush=True)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="tiltak-memory-") as tmp:
        for docs in (args.small, args.large):
            work = Path(tmp) / f"run-{docs}"
            corpus = work / "corpus"
            generate(corpus, docs, args.pdf_share, args.seed)  # the small corpus is the large one's first documents
            figure = figures[docs] = run_child(corpus, work, args.nlp, args.mode)
            growth = figure["peak_kib"] - figure["baseline_kib"]
            print(f"{docs:>5} documents: peak RSS {mib(figure['peak_kib'])} (before the first document "
                  f"{mib(figure['baseline_kib'])}, growth {mib(growth)}, at the end {mib(figure['end_kib'])}); "
                  f"child processes' peak {mib(figure['children_peak_kib'])}; {figure['seconds']:.1f} s; "
                  f"counts {figure['counts']}", flush=True)

    small, large = figures[args.small], figures[args.large]
    small_growth = small["peak_kib"] - small["baseline_kib"]
    large_growth = large["peak_kib"] - large["baseline_kib"]
    print(f"growth per extra document: {(large_growth - small_growth) / (args.large - args.small):,.1f} KiB")
    print(f"ratio peak RSS {args.large}/{args.small}: {large['peak_kib'] / small['peak_kib']:.3f} (target ≤ 1.2)")


if __name__ == "__main__":
    main()
