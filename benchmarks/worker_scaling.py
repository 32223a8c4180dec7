"""Throughput of ``tiltak run --runner dask`` with 2 local workers against 1, and where the time goes (issue #21:
the median ratio over alternating runs, with its spread; target ≥ 1.6× on a 2-core machine).

    python benchmarks/worker_scaling.py [--docs 60] [--repeats 3] [--workers 1 2] [--mode both] [--pdf-share 0.3]
                                        [--nlp best] [--json worker_scaling.json]
    python benchmarks/worker_scaling.py --quick      # 12 documents, one run each: checks that it works

Two ways to run the workers (``--mode``; ``both``, the default, runs them alternately in each repeat):
- ``new-cluster``: ``tiltak run --runner dask --workers N``, a new local cluster per run;
- ``pool``: ``tiltak run --runner dask --dask-address ...`` against a ``tiltak workers --workers N`` pool (one per
  worker count, started before the first timed run and kept for all of them, as a user keeps it between runs): no
  cluster start and no model load in the timed runs.

One corpus from ``corpus_generator.py``. The worker counts run alternately (1, 2, 1, 2, 1, 2 for three repeats), each
run in its own output folder with the analysis cache bypassed (``refresh_cache``), so every run analyses every
document and a slow spell of the machine falls on both configurations. The wall time of a ``new-cluster`` run
includes starting its ``LocalCluster`` and each worker loading the spaCy pipeline and the classifier once: what a user
waits for without a pool. The
steady figure excludes that fixed start (documents per second after the first finished one). The fork server the
workers are forked from is stopped after each run, so every run pays for its start, as every `tiltak run` does. A fresh
``PREFECT_HOME`` is set before Prefect is imported and Prefect's temporary server is started first, so no run pays
for it.

Printed per run, and written with more detail to the JSON file:
- CPU seconds (user + system) per process during the run: the flow's process (it also runs the Dask scheduler of the
  ``LocalCluster``, the write tasks and the manifest; broken down by thread), Prefect's temporary server, each Dask
  worker. Sampled from /proc every 0.5 s (psutil): a process's or thread's last 0.5 s before it ends may be missed.
- Seconds per stage (load, structure, nlp, extract, classify, assemble), summed over the documents, from each
  output's ``provenance.timings`` (wall time inside the worker).
- Prefect task runs and task-run state transitions per document, read back from Prefect's API after the run.
The summary gives, per mode and pair of runs, the ratio of 2-worker to 1-worker throughput; then the median ratio, its
spread (min–max), the load average and the date. A run on a busy machine says so (load average per run).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from prefect_setup import fresh_prefect_home, start_temporary_server  # noqa: E402

WORK = fresh_prefect_home("tiltak-workers-")  # before Prefect is imported (by flows)
# On a busy machine Prefect's temporary server can take minutes to start; its start is counted in no run anyway.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "600")

from corpus_generator import generate  # noqa: E402

SAMPLE_SECONDS = 0.5
STAGES = ["load", "structure", "nlp", "extract", "classify", "assemble"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3, help="runs per worker count, alternating (default 3)")
    parser.add_argument("--pdf-share", type=float, default=0.3)
    parser.add_argument("--nlp", default="best")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mode", choices=["new-cluster", "pool", "both"], default="both",
                        help="a new local cluster per run, runs against a kept `tiltak workers` pool, or both")
    parser.add_argument("--json", type=Path, default=Path("worker_scaling.json"), help="where the figures go")
    parser.add_argument("--quick", action="store_true", help="12 documents, one run per worker count")
    args = parser.parse_args()
    if args.quick:
        args.docs, args.repeats = 12, 1
    try:
        run(args)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


class CpuSampler:
    """CPU seconds used during a run by this process, its threads and every process it started: the last figure
    seen per process (sampled every ``SAMPLE_SECONDS``), less what it had used when the run began. Kept cheap, as
    it runs beside what it measures: descendants from /proc/PID/task/*/children (not a scan of every process on
    the machine), each process's label worked out once; its own CPU is reported (thread ``cpu-sampler``)."""

    def __init__(self, server_pids: set[int], ignored_roots: set[int] = frozenset()):
        import psutil

        self._psutil = psutil
        self.me = psutil.Process()
        self.server_pids = server_pids
        self.ignored_roots = set(ignored_roots)  # processes (and their descendants) another run uses: pools kept idle
        self._processes: dict[int, object] = {self.me.pid: self.me}
        self.names: dict[int, str] = {}
        self.last: dict[int, float] = {}
        self.baseline = {pid: self._cpu(process) for pid, process in self._current().items()}
        # This process's threads (native id: CPU, Python thread name): the flow run, the Dask scheduler's event
        # loop, Prefect's API and event clients. A thread that ends keeps its last figure.
        self.thread_baseline = {t.id: t.user_time + t.system_time for t in self.me.threads()}
        self.thread_last: dict[int, float] = {}
        self.thread_names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cpu-sampler", daemon=True)

    def _current(self) -> dict[int, object]:
        from pipeline.runtime.workers import descendants

        current = {self.me.pid: self.me}
        ignored = set(self.ignored_roots)
        for root in self.ignored_roots:
            ignored.update(descendants(root))
        for pid in set(descendants(self.me.pid)) - ignored:
            if pid not in self._processes:
                try:
                    self._processes[pid] = self._psutil.Process(pid)
                except Exception:
                    continue
            current[pid] = self._processes[pid]
        return current

    @staticmethod
    def _cpu(process) -> float:
        try:
            times = process.cpu_times()
            return times.user + times.system
        except Exception:
            return float("nan")

    def _label(self, process) -> str:
        if process.pid == self.me.pid:
            return "flow process"
        if process.pid in self.server_pids:
            return "prefect server"
        try:
            command = " ".join(process.cmdline())
        except Exception:
            command = ""
        if "multiprocessing.spawn" in command or "multiprocessing.forkserver" in command:
            return "dask worker"
        if "workers" in command and "pipeline.cli" in command:
            return "tiltak workers (scheduler)"
        if "resource_tracker" in command:
            return "resource tracker"
        return "other"

    def _sample_threads(self) -> None:
        names = {thread.native_id: thread.name for thread in threading.enumerate()}
        try:
            threads = self.me.threads()
        except Exception:
            return
        for thread in threads:
            self.thread_last[thread.id] = thread.user_time + thread.system_time
            if thread.id in names:
                self.thread_names[thread.id] = names[thread.id]
            else:
                self.thread_names.setdefault(thread.id, "native or ended thread")

    def sample(self) -> None:
        self._sample_threads()
        for pid, process in self._current().items():
            cpu = self._cpu(process)
            if cpu == cpu:  # not NaN: the process was still there
                self.last[pid] = cpu
                if pid not in self.names:
                    self.names[pid] = self._label(process)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def flow_threads(self) -> dict[str, float]:
        """The flow process's CPU seconds by Python thread name (numbers stripped: one figure per kind)."""
        used: dict[str, float] = {}
        for tid, cpu in self.thread_last.items():
            name = self.thread_names.get(tid, "?")
            name = "MainThread (the flow)" if name == "MainThread" else name.rstrip("0123456789-_ ") or name
            delta = cpu - self.thread_baseline.get(tid, 0.0)
            if delta >= 0.005:
                used[name] = round(used.get(name, 0.0) + delta, 2)
        return dict(sorted(used.items(), key=lambda item: -item[1]))

    def by_process(self) -> dict[str, float]:
        used: dict[str, float] = {}
        workers = 0
        for pid, cpu in sorted(self.last.items()):
            label = self.names[pid]
            if label == "dask worker":
                workers += 1
                label = f"dask worker {workers} (pid {pid})"
            delta = cpu - self.baseline.get(pid, 0.0)
            if delta >= 0.005:
                used[label] = round(used.get(label, 0.0) + delta, 2)
        return used


def _server_pids() -> set[int]:
    try:
        from prefect.server.api.server import SubprocessASGIServer

        return {server.server_process.pid for server in SubprocessASGIServer._instances.values()
                if getattr(server, "server_process", None) is not None}
    except Exception:
        return set()


def _stage_seconds(out: Path) -> dict[str, float]:
    totals = dict.fromkeys(STAGES, 0.0)
    for path in out.glob("*.json"):
        for stage, seconds in json.loads(path.read_text(encoding="utf-8"))["provenance"]["timings"].items():
            totals[stage] = totals.get(stage, 0.0) + seconds
    return {stage: round(seconds, 2) for stage, seconds in totals.items()}


def _task_runs(flow_run_id: str) -> dict:
    """The flow run's task runs by name (the part before the first space) and their state transitions, read back
    from Prefect's API; task runs reach it through events, a moment after they ran: read until the count holds."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs, previous = [], -1
        for _ in range(40):
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            if len(runs) == previous and all(run.state and run.state.is_final() for run in runs):
                break
            previous = len(runs)
            time.sleep(0.5)
        states = sum(len(client.read_task_run_states(run.id)) for run in runs)
    by_name: dict[str, int] = {}
    for run in runs:
        name = run.name.split(" ")[0]
        by_name[name] = by_name.get(name, 0) + 1
    return {"task_runs": len(runs), "by_name": by_name, "state_transitions": states}


def _stop_fork_server() -> None:
    """End the fork server the run's workers were forked from, so that the next run starts its own and loads the
    models again, as every `tiltak run` does. Without this only the first run paid for that start (a 58 s first run
    against 44 s for the others on 2026-12-07), which made the first pair's ratio look better than the others."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # the standard library's own way to stop it (its tests use it)


@contextmanager
def _worker_pools(counts: list[int], nlp: str) -> Iterator[dict[int, tuple[str, int]]]:
    """A ``tiltak workers --workers N`` pool per worker count, started one after the other (each loads its models
    with the machine to itself); yields (scheduler address, PID) by worker count and stops them all at the end."""
    pools: dict[int, subprocess.Popen] = {}
    addresses: dict[int, tuple[str, int]] = {}
    env = {**os.environ, "DASK_LOGGING__DISTRIBUTED": "error"}
    try:
        for count in counts:
            started = time.perf_counter()
            pool = pools[count] = subprocess.Popen(
                [sys.executable, "-m", "pipeline.cli", "workers", "--workers", str(count), "--port", "0", "--nlp", nlp],
                cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
            line = pool.stdout.readline()
            found = re.search(r"tcp://\S+?(?=[,;\s])", line)
            if not found:
                raise SystemExit(f"tiltak workers --workers {count} did not start: {line!r}")
            addresses[count] = (found.group(0), pool.pid)
            print(f"pool of {count} worker(s) at {found.group(0)}, ready after {time.perf_counter() - started:.1f} s "
                  "(counted in no run)", flush=True)
        yield addresses
    finally:
        for pool in pools.values():
            pool.send_signal(signal.SIGTERM)
        for pool in pools.values():
            try:
                pool.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pool.kill()


def _one_run(flows, corpus: Path, out: Path, workers: int, args, address: str | None = None,
             idle_pools: set[int] = frozenset()) -> dict:
    finished: list[float] = []
    load_before = os.getloadavg()[0]
    sampler = CpuSampler(_server_pids(), idle_pools)
    started = time.perf_counter()
    with sampler, flows.progress_listener(lambda _record, times=finished: times.append(time.perf_counter())):
        runner = flows.dask_runner(address=address) if address else flows.dask_runner(workers=workers)
        manifest = flows.process_corpus.with_options(task_runner=runner)(
            [str(corpus)], out_dir=str(out), nlp=args.nlp, refresh_cache=True)
    wall = time.perf_counter() - started
    counts = manifest["counts"]
    if counts["processed"] != args.docs:
        raise SystemExit(f"{workers} worker(s): expected {args.docs} processed documents, got {counts}")
    steady = (len(finished) - 1) / (finished[-1] - finished[0]) if len(finished) > 1 else float("nan")
    tasks = _task_runs(manifest["flow_run_id"])
    return {
        "workers": workers,
        "mode": "pool" if address else "new-cluster",
        "wall_seconds": round(wall, 2),
        "documents_per_second": round(args.docs / wall, 3),
        "steady_documents_per_second": round(steady, 3),
        "first_document_seconds": round(finished[0] - started, 2) if finished else None,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "cpu_seconds_by_process": sampler.by_process(),
        "flow_process_cpu_seconds_by_thread": sampler.flow_threads(),
        "stage_seconds": _stage_seconds(out),
        **tasks,
        "task_runs_per_document": round(tasks["task_runs"] / args.docs, 3),
        "state_transitions_per_document": round(tasks["state_transitions"] / args.docs, 3),
    }


def _describe(run: dict) -> str:
    cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in run["cpu_seconds_by_process"].items())
    stages = ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in run["stage_seconds"].items())
    threads = ", ".join(f"{name} {seconds:.1f}" for name, seconds in run["flow_process_cpu_seconds_by_thread"].items())
    return (f"{run['mode']}, {run['workers']} worker(s): {run['wall_seconds']:.1f} s wall, "
            f"{run['documents_per_second']:.2f} docs/s, "
            f"steady {run['steady_documents_per_second']:.2f} docs/s, first document after "
            f"{run['first_document_seconds']} s, load {run['load_average_before']:.1f}→{run['load_average_after']:.1f}"
            f"\n    CPU s: {cpu}\n    flow process CPU s by thread: {threads}"
            f"\n    stage s (summed over documents): {stages}"
            f"\n    task runs {run['task_runs']} {run['by_name']} = {run['task_runs_per_document']:.2f}/document, "
            f"state transitions {run['state_transitions']} = {run['state_transitions_per_document']:.2f}/document")


def _ratios(runs: list[dict], base: int, top: int, key: str, mode: str) -> list[float]:
    """Per repeat, the ``top`` run's figure over the ``base`` run's (the runs of one repeat ran back to back)."""
    bases = [r[key] for r in runs if r["workers"] == base and r["mode"] == mode]
    tops = [r[key] for r in runs if r["workers"] == top and r["mode"] == mode]
    return [t / b for b, t in zip(bases, tops, strict=False) if b and b == b and t == t]


def run(args: argparse.Namespace) -> None:
    corpus = WORK / "corpus"
    generate(corpus, args.docs, args.pdf_share, args.seed)
    characters = sum(len(p.read_text(encoding="utf-8")) for p in corpus.glob("*.txt"))

    import flows

    server_seconds = start_temporary_server()
    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    print(f"{date}: corpus {args.docs} documents (PDF share {args.pdf_share}, {characters:,} characters in the text "
          f"files), --nlp {args.nlp}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; Prefect "
          f"temporary server start {server_seconds:.1f} s (counted in no run); {args.repeats} run(s) per worker "
          f"count, alternating {args.workers}", flush=True)

    modes = ["new-cluster", "pool"] if args.mode == "both" else [args.mode]
    runs: list[dict] = []
    with _worker_pools(args.workers if "pool" in modes else [], args.nlp) as pools:
        for repeat in range(args.repeats):
            for mode in modes:
                for workers in args.workers:
                    address = pools[workers][0] if mode == "pool" else None
                    idle = {pid for count, (_address, pid) in pools.items() if mode != "pool" or count != workers}
                    figures = _one_run(flows, corpus, WORK / f"out-{mode}-{workers}-{repeat}", workers, args, address,
                                       idle)
                    if mode == "new-cluster":
                        _stop_fork_server()
                    figures["repeat"] = repeat + 1
                    runs.append(figures)
                    print(f"run {repeat + 1}, {_describe(figures)}", flush=True)

    summary: dict = {"date": date, "docs": args.docs, "pdf_share": args.pdf_share, "nlp": args.nlp,
                     "cpus": os.cpu_count(), "repeats": args.repeats, "workers": args.workers, "modes": modes,
                     "prefect_server_start_seconds": round(server_seconds, 2), "runs": runs}
    if len(args.workers) >= 2:
        base, top = args.workers[0], args.workers[-1]
        for mode in modes:
            for key, label in (("documents_per_second", "wall-time throughput"),
                               ("steady_documents_per_second", "after the first document")):
                ratios = _ratios(runs, base, top, key, mode)
                if not ratios:
                    continue
                median = statistics.median(ratios)
                summary[f"ratio_{mode}_{key}"] = {"each": [round(r, 3) for r in ratios], "median": round(median, 3),
                                                  "min": round(min(ratios), 3), "max": round(max(ratios), 3)}
                print(f"ratio {top} workers / {base} ({mode}), {label}: median {median:.2f}× (spread "
                      f"{min(ratios):.2f}–{max(ratios):.2f}× over {len(ratios)} pair(s): "
                      f"{', '.join(f'{r:.2f}' for r in ratios)}); target ≥ 1.6×; {date}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
