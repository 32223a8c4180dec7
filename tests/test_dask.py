"""Scale-out on Dask (prefect-dask's DaskTaskRunner): same outputs as the default runner, failures still isolated,
models loaded once per worker process."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("prefect_dask")

from pipeline.cli import app

PLANS = {
    "havbruk": ("Havbruk i nord", "For å sikre en bærekraftig havbruksnæring vil regjeringen:",
                ["innføre nye krav til rømmingssikring", "styrke forskningen på lakselus"]),
    "skole": ("Skole og læring", "Regjeringen vil:",
              ["gi alle elever tilgang til skolebibliotek", "utvide ordningen med leksehjelp"]),
    "energi": ("Energi for framtiden", "For å nå klimamålene vil regjeringen:",
               ["bygge ut mer havvind", "forenkle konsesjonsbehandlingen for kraftnett", "utrede lagring av strøm"]),
    "helse": ("Helse i hele landet", "Regjeringen vil:",
              ["etablere flere legevakter i distriktene", "styrke rekrutteringen av sykepleiere"]),
    "kultur": ("Kultur for alle", "For å gjøre kulturlivet mer tilgjengelig vil regjeringen:",
               ["senke prisene på billetter for unge", "gi tilskudd til lokale festivaler"]),
    "samferdsel": ("Veier og jernbane", "Regjeringen vil:",
                   ["fornye jernbanen mellom byene", "prioritere trafikksikkerhet på fylkesveiene"]),
}


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    for stem, (title, intro, measures) in PLANS.items():
        bullets = "\n".join(f"• {m}" for m in measures)
        (folder / f"{stem}.txt").write_text(
            f"# {title}\n\nDette er en kort plan om {title.lower()}.\n\n{intro}\n\n{bullets}\n", encoding="utf-8")
    (folder / "ødelagt.pdf").write_bytes(os.urandom(4096))
    return folder


def _documents(out: Path) -> dict[str, dict]:
    documents = {}
    for path in sorted(out.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        document["provenance"].pop("timings")
        document["provenance"].pop("created_at")
        documents[path.name] = document
    return documents


def _failures(manifest: dict) -> dict[str, tuple]:
    return {Path(r["source"]).name: (r["stage"], r["error"]) for r in manifest["documents"] if r["status"] == "failed"}


def test_dask_runner_gives_the_default_runners_outputs(prefect_harness, tmp_path, monkeypatch):
    from flows import process_corpus

    corpus = _corpus(tmp_path / "corpus")
    default = process_corpus(paths=[str(corpus)], out_dir=str(tmp_path / "a"), nlp="blank")
    assert default["counts"] == {"processed": 6, "cached": 0, "duplicate": 0, "failed": 1}

    # The command line, as a user runs it; the environment the CLI sets stays in this test.
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "CRITICAL")
    monkeypatch.setenv("DASK_LOGGING__DISTRIBUTED", "error")
    result = CliRunner().invoke(app, ["run", str(corpus), "--out", str(tmp_path / "b"), "--nlp", "blank",
                                      "--refresh", "--runner", "dask", "--workers", "2"])
    assert result.exit_code == 1, result.output  # one document failed, the others were written
    assert "6 processed, 0 cached, 0 duplicate, 1 failed" in result.output
    dask = json.loads(next((tmp_path / "b" / "runs").glob("*.json")).read_text(encoding="utf-8"))

    assert dask["counts"] == default["counts"]
    assert _failures(dask) == _failures(default)
    assert _failures(dask)["ødelagt.pdf"][0] == "load"
    a, b = _documents(tmp_path / "a"), _documents(tmp_path / "b")
    assert set(a) == {f"{stem}.json" for stem in PLANS}
    assert a == b


# Run on each Dask worker with client.run: count model loads and analyses in that worker process.
def _count_loads() -> None:
    import pipeline.analysis.classify
    import pipeline.analysis.nlp
    import pipeline.analysis.process

    counts = {"nlp_loads": 0, "classifier_loads": 0, "analysed": 0}
    pipeline.analysis.process._test_counts = counts

    def counting(function, key):
        def wrapper(*args, **kwargs):
            counts[key] += 1
            return function(*args, **kwargs)
        return wrapper

    pipeline.analysis.nlp._resolve = counting(pipeline.analysis.nlp._resolve, "nlp_loads")
    pipeline.analysis.classify._load = counting(pipeline.analysis.classify._load, "classifier_loads")
    pipeline.analysis.process.load_document = counting(pipeline.analysis.process.load_document, "analysed")


def _read_counts() -> dict:
    import pipeline.analysis.process

    return dict(pipeline.analysis.process._test_counts)


def test_models_load_once_per_worker_on_an_existing_cluster(prefect_harness, tmp_path):
    from distributed import Client, LocalCluster

    from flows import dask_runner, process_corpus

    corpus = _corpus(tmp_path / "corpus")
    with (LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
          Client(cluster) as client):
        client.run(_count_loads)
        flow = process_corpus.with_options(task_runner=dask_runner(address=cluster.scheduler_address))
        manifest = flow(paths=[str(corpus)], out_dir=str(tmp_path / "out"), nlp="blank", refresh_cache=True)
        counts = client.run(_read_counts)

    assert manifest["counts"] == {"processed": 6, "cached": 0, "duplicate": 0, "failed": 1}
    assert sum(c["analysed"] for c in counts.values()) == 7  # every analysis ran on a worker (the broken one too)
    busy = [c for c in counts.values() if c["analysed"]]
    assert max(c["analysed"] for c in busy) >= 3  # 7 analyses on 2 workers: some worker did several
    for worker in busy:
        assert worker["nlp_loads"] <= 1 and worker["classifier_loads"] <= 1, counts
    assert sum(c["nlp_loads"] for c in busy) >= 1


def test_dask_options_are_checked_before_anything_runs(tmp_path):
    document = tmp_path / "plan.txt"
    document.write_text("Regjeringen vil:\n\n• gjøre noe\n", encoding="utf-8")
    cases = {
        ("--runner", "dask", "--dask-address", "tcp://127.0.0.1:8786", "--workers", "2"): "cannot be used together",
        ("--workers", "2"): "need --runner dask",
        ("--runner", "spark"): "--runner must be default or dask",
    }
    for options, message in cases.items():
        result = CliRunner().invoke(app, ["run", str(document), "--out", str(tmp_path / "out"), *options])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tiltak: error:") and message in lines[0], lines



def test_a_worker_pool_refuses_a_missing_model_and_a_taken_port_before_starting(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        cases = {("--nlp", "ingen_slik_modell"): "'ingen_slik_modell' is not installed",
                 ("--port", str(port)): f"cannot listen on 127.0.0.1:{port}"}
        for options, message in cases.items():
            result = CliRunner().invoke(app, ["workers", "--workers", "1", *options])
            assert result.exit_code == 2, result.output
            lines = result.output.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("tiltak: error:") and message in lines[0], lines

TOPICS = ["havbruk", "skole", "energi", "helse", "kultur", "samferdsel", "landbruk", "forsvar", "klima"]
VERBS = ["innføre", "styrke", "utrede", "etablere", "forenkle", "utvide", "fornye", "prioritere"]
OBJECTS = ["tilskuddsordningen", "samarbeidet med kommunene", "forskningen", "tilsynet", "opplæringen",
           "beredskapen", "det digitale tilbudet", "ordningen for unge"]


def _plan_lines(number: int, paragraphs: int = 1) -> list[str]:
    """A short, unique Norwegian plan: a heading, a paragraph or more, a committing intro and three measures."""
    topic = TOPICS[number % len(TOPICS)]
    measures = [f"{VERBS[(number + k) % len(VERBS)]} {OBJECTS[(number * 3 + k) % len(OBJECTS)]} for {topic} "
                f"i region {number}" for k in range(3)]
    prose = [f"Planen for {topic} nummer {number} gjelder for perioden 2026 til 2029, og den skal følges opp "
             f"årlig av departementet sammen med kommunene i del {part}." for part in range(paragraphs)]
    return [f"# Plan for {topic} {number}", "", *prose, "", "For å nå målene vil regjeringen:", "",
            *(f"• {measure}" for measure in measures)]


def _large_corpus(folder: Path, documents: int, pdf_every: int = 3, paragraphs: int = 1) -> Path:
    """``documents`` short plans, every ``pdf_every``-th a PDF (one page), the others text, and one broken PDF."""
    from builders import write_pdf

    folder.mkdir()
    for number in range(documents):
        lines = _plan_lines(number, paragraphs)
        if number % pdf_every == 0:
            write_pdf(folder / f"plan-{number:03d}.pdf", [lines], header=f"Plan {number}")
        else:
            text = "\n".join(line[2:] if line.startswith("# ") else line for line in lines)
            (folder / f"plan-{number:03d}.txt").write_text(text + "\n", encoding="utf-8")
    (folder / "ødelagt.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2048))
    return folder


@contextmanager
def _separate_cluster(tmp_path: Path, env: dict, workers: int = 2) -> Iterator[str]:
    """`dask scheduler` and ``workers`` `dask worker` processes started on their own, as on other machines (each
    worker with its nanny, the default); yields the scheduler's address. Every process is stopped at the end."""
    from pipeline.cli.serve import free_port

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    names = [f"worker-{n}" for n in range(1, workers + 1)]
    logs = [(tmp_path / f"{name}.log").open("wb") for name in ("scheduler", *names)]
    commands = [[dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                *([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--name", name] for name in names)]
    processes = []
    try:
        for command, log in zip(commands, logs, strict=True):
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
            if command[1] == "scheduler":
                time.sleep(2)
        yield address
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def _cluster_env(prefect_api: str, tmp_path: Path) -> dict:
    return {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_HOME": str(tmp_path / "shared-prefect"),
            "DASK_LOGGING__DISTRIBUTED": "error",
            # The workers import this module for the load counters (client.run); tiltak itself is installed.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))}


def _tiltak_run(corpus: Path, out: Path, address: str, env: dict, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "tiltak"), "run", str(corpus), "--out", str(out), "--nlp", "blank",
         "--runner", "dask", "--dask-address", address],
        env={**env, "PREFECT_HOME": str(tmp_path / "client-prefect")}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def _manifest(out: Path) -> dict:
    return json.loads(next((out / "runs").glob("*.json")).read_text(encoding="utf-8"))


def test_separately_started_scheduler_and_workers_as_on_several_machines(prefect_api, tmp_path):
    """The README's multi-machine recipe on one machine: `dask scheduler` and two `dask worker` processes started on
    their own (as on other machines), reporting to the same Prefect API and sharing PREFECT_HOME; `tiltak run
    --runner dask --dask-address` gives the default runner's outputs, byte for byte apart from the analysis's
    timestamp and timings, on 54 documents (18 of them PDFs, one broken)."""
    from distributed import Client

    from flows import process_corpus

    corpus = _large_corpus(tmp_path / "corpus", 54)
    default = process_corpus(paths=[str(corpus)], out_dir=str(tmp_path / "a"), nlp="blank")
    assert default["counts"] == {"processed": 54, "cached": 0, "duplicate": 0, "failed": 1}
    env = _cluster_env(prefect_api, tmp_path)
    with _separate_cluster(tmp_path, env) as address, Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        client.run(_count_loads)
        run = _tiltak_run(corpus, tmp_path / "b", address, env, tmp_path)
        stdout, stderr = run.communicate(timeout=900)
        counts = client.run(_read_counts)
    assert run.returncode == 1, stdout + stderr  # the broken PDF failed, the others were written
    assert "54 processed, 0 cached, 0 duplicate, 1 failed" in stdout
    dask = _manifest(tmp_path / "b")
    assert _failures(dask) == _failures(default) and _failures(dask)["ødelagt.pdf"][0] == "load"
    a, b = _documents(tmp_path / "a"), _documents(tmp_path / "b")
    assert len(a) == 54 and sum(d["document"]["file_name"].endswith(".pdf") for d in a.values()) == 18
    assert a == b
    assert sum(c["analysed"] for c in counts.values()) == 55  # every analysis ran on the separately started workers
    for worker in counts.values():
        assert worker["nlp_loads"] <= 1 and worker["classifier_loads"] <= 1, counts


# Run on each Dask worker with client.run: this worker process's id.
def _worker_pid() -> int:
    return os.getpid()


def test_a_worker_killed_mid_document_loses_no_document(prefect_api, tmp_path):
    """One of two separately started Dask workers is killed (SIGKILL) while it is analysing a batch: the run
    finishes, and every document is in the manifest exactly once, either written (the default runner's output) or
    failed with its stage and reason; none is lost."""
    from distributed import Client

    from flows import process_corpus

    # Longer plans than the corpus above: enough work per batch to be caught in the middle of one.
    corpus = _large_corpus(tmp_path / "corpus", 30, pdf_every=5, paragraphs=40)
    default = process_corpus(paths=[str(corpus)], out_dir=str(tmp_path / "a"), nlp="blank")
    assert default["counts"]["processed"] == 30
    env = _cluster_env(prefect_api, tmp_path)
    with _separate_cluster(tmp_path, env) as address, Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        client.run(_count_loads)
        pids = client.run(_worker_pid)
        run = _tiltak_run(corpus, tmp_path / "b", address, env, tmp_path)
        killed = None
        deadline = time.monotonic() + 600
        while killed is None and run.poll() is None and time.monotonic() < deadline:
            # A worker that has started loading a batch's documents and still holds its task is mid-batch.
            processing = client.processing()
            with suppress(Exception):
                for worker, counts in client.run(_read_counts).items():
                    if counts["analysed"] and processing.get(worker):
                        os.kill(pids[worker], signal.SIGKILL)
                        killed = worker
                        break
            time.sleep(0.02)
        stdout, stderr = run.communicate(timeout=900)
    assert killed is not None, "no worker was caught analysing: " + stdout + stderr
    manifest = _manifest(tmp_path / "b")
    assert manifest["status"] == "completed", stdout + stderr
    sources = [Path(r["source"]).name for r in manifest["documents"]]
    assert sorted(sources) == sorted(p.name for p in corpus.iterdir())  # each document exactly once
    expected = _documents(tmp_path / "a")
    written = _documents(tmp_path / "b")
    for record in manifest["documents"]:
        name = Path(record["source"]).name
        if record["status"] == "failed":
            assert record["stage"] and record["error"], record
            assert name == "ødelagt.pdf" or "worker" in record["error"].lower(), record
        else:
            assert record["status"] == "processed", record
            stem = Path(record["output"]).name
            assert written[stem] == expected[stem]
    assert _failures(manifest)["ødelagt.pdf"][0] == "load"
    assert len(written) + len(_failures(manifest)) == 31
    # Dask ran the lost batch again on a live worker: here no document even failed.
    assert manifest["counts"] == {"processed": 30, "cached": 0, "duplicate": 0, "failed": 1}, manifest["counts"]


def test_a_kept_worker_pool_serves_runs_without_loading_models_again(prefect_api, tmp_path):
    """`tiltak workers` keeps two workers with the shipped models loaded: two `tiltak run --dask-address` runs
    against it analyse every document on those same two worker processes, load no model there, and give the default
    runner's outputs; SIGTERM stops the pool and its workers."""
    import psutil
    from distributed import Client

    from flows import process_corpus

    corpus = _corpus(tmp_path / "corpus")
    default = process_corpus(paths=[str(corpus)], out_dir=str(tmp_path / "a"))
    assert default["counts"] == {"processed": 6, "cached": 0, "duplicate": 0, "failed": 1}
    env = _cluster_env(prefect_api, tmp_path)
    tiltak = str(Path(sys.executable).parent / "tiltak")
    with (tmp_path / "pool.log").open("w") as log:
        pool = subprocess.Popen([tiltak, "workers", "--workers", "2", "--port", "0"], env=env, stdout=subprocess.PIPE,
                                stderr=log, text=True)
    try:
        ready = pool.stdout.readline()
        assert ready.startswith("ready: 2 worker(s) at tcp://127.0.0.1:"), ready + (tmp_path / "pool.log").read_text()
        address = ready.split(" at ")[1].split(",")[0]
        with Client(address, timeout=60) as client:
            client.run(_count_loads)
            pids = client.run(_worker_pid)
            for out, extra in (("b", []), ("c", ["--refresh"])):
                run = subprocess.run([tiltak, "run", str(corpus), "--out", str(tmp_path / out), "--runner", "dask",
                                      "--dask-address", address, *extra],
                                     env={**env, "PREFECT_HOME": str(tmp_path / "client-prefect")},
                                     capture_output=True, text=True, timeout=900)
                assert run.returncode == 1, run.stdout + run.stderr  # the broken PDF failed, the others were written
                assert "6 processed, 0 cached, 0 duplicate, 1 failed" in run.stdout, run.stdout + run.stderr
            counts = client.run(_read_counts)
            assert client.run(_worker_pid) == pids  # the same two processes served both runs
    finally:
        pool.send_signal(signal.SIGTERM)
        returncode = pool.wait(timeout=120)
    assert returncode == 0, (tmp_path / "pool.log").read_text()
    assert sum(c["analysed"] for c in counts.values()) == 14  # both runs' analyses ran on the pool's workers
    assert all(c["nlp_loads"] == 0 and c["classifier_loads"] == 0 for c in counts.values()), counts
    expected = _documents(tmp_path / "a")
    assert _documents(tmp_path / "b") == expected and _documents(tmp_path / "c") == expected
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                   for pid in pids.values())
