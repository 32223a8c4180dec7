"""Issue #13: limits that are enforced (a worker process per document, killed when it runs over its time or
replaced when it runs out of memory) and runs that stop on SIGINT / SIGTERM.

Real processes throughout: the worker pool runs plain functions that really hang in C code, really allocate and
really die; the flow runs real documents; the command line is a real `tiltak run` process that gets a real signal.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fault_inputs import norwegian_text

from pipeline.research.published_schemas import validate_file
from pipeline.runtime.workers import (
    OutOfMemory,
    PoolStopped,
    WorkerDied,
    WorkerPool,
    WorkerTimeout,
    descendants,
)

TILTAK = Path(sys.executable).parent / "tiltak"


# --- plain functions run in the workers (module level: they are pickled by reference) ---------------------------

def backtrack_forever() -> bool:
    # Nested quantifiers over one class: exponential backtracking inside the C regex engine, which no signal and no
    # cooperative check can interrupt (2**40 steps: hours).
    return re.match(r"(a+)+$", "a" * 40 + "b") is not None


def worker_pid() -> int:
    return os.getpid()


def address_space_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmSize in /proc/self/status")


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def die_of(signum: int) -> None:
    os.kill(os.getpid(), signum)


def double(value: int) -> int:
    return 2 * value


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


# --- the pool ----------------------------------------------------------------------------------------------------

def test_a_job_stuck_in_c_code_is_stopped_at_its_timeout_and_its_worker_replaced():
    with WorkerPool(1) as pool:
        first = pool.run(worker_pid)
        started = time.monotonic()
        with pytest.raises(WorkerTimeout, match=r"took longer than 1 s"):
            pool.run(backtrack_forever, timeout=1)
        # Stopped at its timeout, not when the regex gives up (hours); generous for a busy machine.
        assert time.monotonic() - started < 20
        assert not Path(f"/proc/{first}").exists() or _zombie(first), "the stuck worker was not killed"
        second = pool.run(worker_pid)
        assert second != first and pool.ended == 1
        assert pool.run(double, 21) == 42  # the pool goes on


def test_a_job_over_the_memory_limit_fails_with_out_of_memory_and_the_worker_is_replaced():
    with WorkerPool(1) as unlimited:
        baseline = unlimited.run(address_space_mb)
    limit = baseline + 300
    with WorkerPool(1, max_memory_mb=limit) as pool:
        first = pool.run(worker_pid)
        assert pool.run(allocate, 50) == 50 * 1024 * 1024  # within the limit
        with pytest.raises(OutOfMemory):
            pool.run(allocate, 2000)
        assert pool.run(worker_pid) != first and pool.ended == 1  # a fresh worker, whose heap is whole
        assert pool.run(allocate, 50) == 50 * 1024 * 1024


def test_a_worker_killed_by_a_signal_fails_only_its_job_naming_the_signal():
    with WorkerPool(1) as pool:
        with pytest.raises(WorkerDied, match=r"killed by SIGKILL \(the system may have run out of memory\)"):
            pool.run(die_of, signal.SIGKILL)
        with pytest.raises(WorkerDied, match=r"killed by SIGSEGV"):
            pool.run(die_of, signal.SIGSEGV)
        assert pool.run(double, 4) == 8


def test_stopping_the_pool_ends_the_jobs_in_flight_at_once_and_leaves_no_worker():
    pool = WorkerPool(2)
    outcomes: list[BaseException | float] = []

    def submit():
        try:
            outcomes.append(pool.run(sleep, 600))
        except BaseException as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(3)]  # one more than the pool has workers
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while len(pool.worker_pids()) < 2:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.05)
    workers = pool.worker_pids()
    time.sleep(0.5)  # the jobs are running
    started = time.monotonic()
    pool.stop()
    for thread in threads:
        thread.join(timeout=10)
    assert time.monotonic() - started < 10
    assert len(outcomes) == 3 and all(isinstance(o, PoolStopped) for o in outcomes), outcomes
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
    with pytest.raises(PoolStopped):
        pool.run(double, 1)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# --- the flow ----------------------------------------------------------------------------------------------------

def _long_document(megabytes: float) -> str:
    block = norwegian_text("helsenæringen i hele landet") + "\n\n"
    return block * int(megabytes * 1_000_000 // len(block.encode("utf-8")) + 1)


def test_a_document_over_its_time_is_stopped_and_the_others_are_written(prefect_harness, tmp_path):
    from flows import process_corpus

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    for topic in ("helsedata", "legemidler", "fiskeri"):
        (corpus / f"{topic}.txt").write_text(norwegian_text(topic), encoding="utf-8")
    # Minutes of NLP (blank tokenizer over 4 MB): far over the limit, inside one stage, where no cooperative check
    # could stop it.
    (corpus / "lang.txt").write_text(_long_document(4), encoding="utf-8")

    started = time.monotonic()
    manifest = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="blank",
                              overrides={"max_seconds_per_document": "2"})
    assert time.monotonic() - started < 240
    records = {Path(r["source"]).name: r for r in manifest["documents"]}
    stopped = records["lang.txt"]
    assert stopped["status"] == "failed" and stopped["stage"] == "timeout", stopped
    assert stopped["error"] == ("took longer than 2 s (max_seconds_per_document); stopped, raise it with "
                                "`max_seconds_per_document = 4` in the file given to --config")
    for name in ("helsedata.txt", "legemidler.txt", "fiskeri.txt"):
        assert records[name]["status"] == "processed", records[name]
        assert validate_file(out / records[name]["output"]) == []
    assert manifest["status"] == "completed" and manifest["counts"]["failed"] == 1


def test_a_document_over_the_memory_limit_fails_and_the_others_are_written(prefect_harness, tmp_path):
    from flows import process_corpus
    from pipeline.analysis.process import analysis_pool
    from pipeline.config import PipelineConfig

    # The limit is set just above what a worker with the models takes on this machine: room for small documents,
    # not for a big one.
    config = PipelineConfig(nlp="blank", max_memory_mb=0)
    with analysis_pool(config, 1) as pool:
        baseline = pool.run(address_space_mb)
    limit = baseline + 250

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    for topic in ("helsedata", "legemidler"):
        (corpus / f"{topic}.txt").write_text(norwegian_text(topic), encoding="utf-8")
    (corpus / "stor.txt").write_text(_long_document(6), encoding="utf-8")

    manifest = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="blank",
                              overrides={"max_memory_mb": str(limit)})
    records = {Path(r["source"]).name: r for r in manifest["documents"]}
    big = records["stor.txt"]
    assert big["status"] == "failed" and big["error"].startswith("out of memory"), big
    assert f"at most {limit:,} MB, max_memory_mb); raise it with `max_memory_mb = {2 * limit}`" in big["error"]
    for name in ("helsedata.txt", "legemidler.txt"):
        assert records[name]["status"] == "processed", records[name]
        assert validate_file(out / records[name]["output"]) == []
    assert manifest["settings"]["max_memory_mb"] == limit


# --- signals to a real `tiltak run` ------------------------------------------------------------------------------

CORPUS_SIZE = 300
SIGNAL_TIMEOUT = 30  # seconds from the signal until the run and everything it started are gone


def _corpus(folder: Path) -> list[str]:
    folder.mkdir()
    stems = []
    for number in range(CORPUS_SIZE):
        stem = f"dok-{number:03d}"
        (folder / f"{stem}.txt").write_text(norwegian_text(f"tema nummer {number} i region {number * 7}"),
                                            encoding="utf-8")
        stems.append(stem)
    return stems


def _start(corpus: Path, out: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as handle:  # its own session: whatever it leaves behind can be found and cleaned up
        return subprocess.Popen([str(TILTAK), "run", str(corpus), "--out", str(out), "--nlp", "blank"],
                                stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _env(prefect_home: Path, api: str | None) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "COLUMNS": "250"}
    env.pop("PREFECT_API_URL", None)
    if api:
        env["PREFECT_API_URL"] = api
    return env


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and not _zombie(pid)


def _session(sid: int) -> list[int]:
    """Every living process of the session ``sid`` (the run and what it started, however deep)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _interrupt_once_some_are_processed(process: subprocess.Popen, out: Path, signum: int, log: Path) -> list[int]:
    """Wait for the run to have processed a few documents, then signal it; returns the processes it had started."""
    deadline = time.monotonic() + 400
    while len([p for p in out.glob("*.json")]) < 5:
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, "the run processed nothing"
        time.sleep(0.1)
    started = descendants(process.pid)
    assert started, "the run started no process (no worker pool?)"
    os.kill(process.pid, signum)
    return started


def _wait_gone(process: subprocess.Popen, started: list[int], log: Path) -> int:
    signalled = time.monotonic()
    try:
        code = process.wait(timeout=SIGNAL_TIMEOUT)
        while [pid for pid in started if _alive(pid)] and time.monotonic() - signalled < SIGNAL_TIMEOUT:
            time.sleep(0.1)
        left = [pid for pid in started + _session(process.pid) if _alive(pid)]
        assert left == [], f"left running: {[Path(f'/proc/{p}/cmdline').read_bytes()[:120] for p in left]}"
    finally:
        for pid in _session(process.pid):
            os.kill(pid, signal.SIGKILL)
    assert time.monotonic() - signalled < SIGNAL_TIMEOUT, log.read_text(errors="replace")
    return code


def _manifests(out: Path) -> list[dict]:
    runs = sorted((out / "runs").glob("*.json"))
    for path in runs:
        assert validate_file(path) == [], path
    return sorted((json.loads(p.read_text(encoding="utf-8")) for p in runs), key=lambda m: m["started_at"])


def _check_interrupted(out: Path, log: Path, code: int, signum: int) -> dict:
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == 128 + signum, text
    [manifest] = _manifests(out)
    assert manifest["status"] == "interrupted" and manifest["finished_at"], manifest["status"]
    finished = len(manifest["documents"])
    assert 0 < finished < CORPUS_SIZE
    assert {r["status"] for r in manifest["documents"]} <= {"processed"}  # nothing abandoned is called failed
    manifest_path = out / "runs" / f"{manifest['run_id']}.json"
    line = (f"tiltak: interrupted by {signal.Signals(signum).name}: {finished} of {CORPUS_SIZE} documents finished; "
            f"run manifest: {manifest_path} (status interrupted); run the same command again to finish the rest")
    assert line in text.replace("\n", ""), text
    assert list(out.rglob("*.tmp")) == []
    for record in manifest["documents"]:
        assert validate_file(out / record["output"]) == [], record
    return manifest


def test_sigterm_stops_a_run_within_seconds_and_a_rerun_finishes_the_rest_analysing_nothing_twice(
    tmp_path: Path, prefect_api: str
):
    stems = _corpus(tmp_path / "corpus")
    out, env, log = tmp_path / "out", _env(tmp_path / "prefect", prefect_api), tmp_path / "first.log"
    run = _start(tmp_path / "corpus", out, env, log)
    started = _interrupt_once_some_are_processed(run, out, signal.SIGTERM, log)
    code = _wait_gone(run, started, log)
    interrupted = _check_interrupted(out, log, code, signal.SIGTERM)

    rerun = _start(tmp_path / "corpus", out, env, tmp_path / "second.log")
    assert rerun.wait(timeout=600) == 0, (tmp_path / "second.log").read_text(errors="replace")
    first, second = _manifests(out)
    assert first == interrupted and second["status"] == "completed"
    assert second["counts"]["processed"] + second["counts"]["cached"] == CORPUS_SIZE
    before = {Path(r["source"]).stem: r for r in first["documents"]}
    after = {Path(r["source"]).stem: r for r in second["documents"]}
    assert set(after) == set(stems)
    # Each document analysed exactly once: by the interrupted run (then cached in the re-run, traced to it), or by
    # the re-run. Analyses the interrupted run finished but had not yet written are cached too.
    for stem, record in after.items():
        if record["status"] == "cached":
            assert record["analysed_in_run"] == first["run_id"], record
        else:
            assert record["status"] == "processed" and stem not in before, record
            assert record["analysed_in_run"] == second["run_id"]
    assert all(after[stem]["status"] == "cached" for stem in before)


def test_sigint_stops_a_run_with_its_own_prefect_server_and_leaves_no_process(tmp_path: Path):
    _corpus(tmp_path / "corpus")
    out, log = tmp_path / "out", tmp_path / "run.log"
    run = _start(tmp_path / "corpus", out, _env(tmp_path / "prefect", None), log)
    started = _interrupt_once_some_are_processed(run, out, signal.SIGINT, log)
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in started if _alive(pid)]
    assert any(b"uvicorn" in command for command in commands), "no temporary Prefect server was started"
    code = _wait_gone(run, started, log)  # the temporary server included
    _check_interrupted(out, log, code, signal.SIGINT)


def test_a_run_killed_with_sigkill_leaves_no_process_behind(tmp_path: Path):
    # SIGKILL cannot be handled: the workers die with their fork server, which ends with the run, and a watchdog
    # stops the temporary Prefect server (which Prefect itself would only stop at a normal exit).
    _corpus(tmp_path / "corpus")
    out, log = tmp_path / "out", tmp_path / "run.log"
    run = _start(tmp_path / "corpus", out, _env(tmp_path / "prefect", None), log)
    started = _interrupt_once_some_are_processed(run, out, signal.SIGKILL, log)
    assert any(b"uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes() for pid in started if _alive(pid))
    assert _wait_gone(run, started, log) == -signal.SIGKILL


# A researcher's script that calls the flow at its top level, without an ``if __name__ == "__main__"`` guard.
_UNGUARDED_SCRIPT = """
import sys
from pathlib import Path

with Path(sys.argv[1]).open("a", encoding="utf-8") as marker:
    marker.write("top level ran\\n")
from flows import process_corpus

manifest = process_corpus(paths=[sys.argv[2]], out_dir=sys.argv[3], nlp="blank")
print("processed", manifest["counts"]["processed"], "failed", manifest["counts"]["failed"])
"""


@pytest.mark.parametrize("how", ["script file", "standard input"])
def test_workers_never_rerun_the_callers_script(prefect_api, tmp_path, how):
    """Workers start from a fork server; they must not import the caller's main module again: an unguarded script
    would run its top level (a whole run) once more in every worker, and code read from stdin cannot be imported."""
    document = tmp_path / "plan.txt"
    # A topic of its own per case: the analysis cache is shared, and a cached document would not be "processed".
    document.write_text(norwegian_text(f"kystforvaltning ({how})"), encoding="utf-8")
    marker, script = tmp_path / "marker.txt", tmp_path / "analyse.py"
    script.write_text(_UNGUARDED_SCRIPT, encoding="utf-8")
    arguments = [str(marker), str(document), str(tmp_path / "out")]
    command = [sys.executable, str(script), *arguments] if how == "script file" else [sys.executable, "-", *arguments]
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    finished = subprocess.run(command, input=None if how == "script file" else _UNGUARDED_SCRIPT, text=True,
                              capture_output=True, env=env, cwd=tmp_path, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "processed 1 failed 0" in finished.stdout, finished.stdout
    assert marker.read_text(encoding="utf-8").count("top level ran") == 1
