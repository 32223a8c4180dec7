"""Prefect flows: orchestration only. Each task calls a plain, tested function from pipeline/ or extractors/.

``process_corpus``: fingerprint every input → analyse each distinct content once (cached by content hash,
tool version, NLP model and config hash, so an unchanged re-run does no extraction work) → write each output
atomically → record it in the run manifest, itself rewritten atomically after every document. A document
that fails is recorded (file, stage, error) and the others finish. One run at a time writes to an output
folder (a lock; a second run waits for it). On the default runner each document is analysed in a worker process
(``pipeline.runtime.workers``) that is killed when the document runs over ``max_seconds_per_document``, with its memory
capped at ``max_memory_mb``; SIGINT / SIGTERM stop a run within seconds (manifest ``interrupted``).

Runs offline on Prefect's embedded default (a temporary local server, started once per process). Unless the
user set ``PREFECT_HOME``, Prefect's state and the analysis cache live in ``.prefect/`` inside the project.

Scale-out: ``process_corpus.with_options(task_runner=dask_runner(workers=2))`` (a ``LocalCluster`` of worker
processes) or ``dask_runner(address="tcp://HOST:8786")`` (an existing Dask cluster) runs fingerprinting and
analysis on Dask workers (needs the ``dask`` extra, prefect-dask). Each worker process loads the spaCy pipeline
and the classifier once and keeps them for every document it analyses. Dask worker processes are daemonic and may
not start processes: there the documents are analysed in the Dask worker itself, and ``max_seconds_per_document``
is only checked between stages (a document stuck inside one stage is not stopped) and ``max_memory_mb`` is not
applied. Outputs, the manifest, the lock and the
cache keys do not depend on the runner; writing and the manifest stay in the flow's process.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path


def _default_prefect_home() -> Path:
    project = Path(__file__).resolve().parent
    if (project / "pyproject.toml").is_file():
        return project / ".prefect"
    return Path.home() / ".tiltak" / "prefect"


# Prefect reads these when it is imported, so they are set before the import below.
os.environ.setdefault("PREFECT_HOME", str(_default_prefect_home()))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# Prefect's default result serializer is pickle: a result record planted in (or copied into) its storage would run
# code when read. Every result tiltak persists is JSON (set, not defaulted: no profile or variable turns pickle back
# on), and the analysis cache is read as plain JSON by _cached_analysis below, never through Prefect's decoders.
os.environ["PREFECT_RESULTS_DEFAULT_SERIALIZER"] = "json"
# A failed flow run always writes its exception to the result storage: every flow here names the JSON serializer
# itself too (result_serializer="json"), so that holds even where Prefect was imported before this module; flow
# return values are not persisted (persist_result=False), as before.

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.context import get_run_context  # noqa: E402
from prefect.futures import as_completed  # noqa: E402
from prefect.results import ResultStore  # noqa: E402
from prefect.serializers import JSONSerializer  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402

from pipeline import __version__  # noqa: E402
from pipeline.analysis.classify import check_classifier, load_classifier  # noqa: E402
from pipeline.analysis.nlp import LoadedNlp, load_nlp  # noqa: E402
from pipeline.analysis.process import (  # noqa: E402
    NLP_BATCH_SIZE,
    analyse_documents,
    analyse_isolated,
    analysis_pool,
    prestart_analysis_workers,
)
from pipeline.config import PipelineConfig  # noqa: E402
from pipeline.errors import DocumentError, TiltakError  # noqa: E402
from pipeline.ops.ingest import (  # noqa: E402
    DEFAULT_MAX_BYTES,
    DEFAULT_RETRIES,
    DEFAULT_SETTLE_SECONDS,
    DEFAULT_TIMEOUT,
    Candidate,
    FetchResult,
    Registry,
    fetch,
    ingest_lock,
    stop_event,
    stoppable_fetches,
)
from pipeline.ops.ingest_run import (  # noqa: E402
    inbox_candidates,
    new_summary,
    note_comparison,
    note_fetch,
    plan_versions,
    record_version,
)
from pipeline.reading.batch import (  # noqa: E402
    PlannedDocument,
    discover,
    display_path,
    file_sha256,
    path_from_param,
    path_param,
    plan_outputs,
)
from pipeline.reading.document_info import overrides_fingerprint  # noqa: E402
from pipeline.runtime.task_batches import plan_batches  # noqa: E402
from pipeline.runtime.workers import (  # noqa: E402
    WORKER_THREAD_LIMITS,
    RunInterrupted,
    WorkerPool,
    can_start_workers,
    check_interrupted,
    guard,
    interrupted,
    interruptible,
    limit_native_threads,
)
from pipeline.schema import SCHEMA_VERSION  # noqa: E402
from pipeline.store.locking import output_lock  # noqa: E402
from pipeline.store.manifest import DocumentRecord, RunManifest, SkippedRecord  # noqa: E402
from pipeline.store.output_index import OutputIndex  # noqa: E402
from pipeline.store.outputs import (  # noqa: E402
    new_run_id,
    remove_stale_temporaries,
    utc_now,
    write_document,
    write_manifest,
)

ProgressListener = Callable[[DocumentRecord], None]
_progress_listeners: list[ProgressListener] = []


@contextmanager
def progress_listener(listener: ProgressListener) -> Iterator[None]:
    """Call ``listener`` with each document's record as it finishes (the CLI's progress bar)."""
    _progress_listeners.append(listener)
    try:
        yield
    finally:
        _progress_listeners.remove(listener)


StageListener = Callable[[str], None]
_stage_listeners: list[StageListener] = []


@contextmanager
def stage_listener(listener: StageListener) -> Iterator[None]:
    """Call ``listener`` with the name of each stage of ``process_corpus`` as it begins: ``loading models``,
    ``reading``, ``analysing``, ``writing`` (the CLI's progress)."""
    _stage_listeners.append(listener)
    try:
        yield
    finally:
        _stage_listeners.remove(listener)


def _notify_stage(stage: str) -> None:
    for listener in list(_stage_listeners):
        listener(stage)


def _notify_listeners(entry: DocumentRecord) -> None:
    # A module-level function: under Dask the flow is pickled with the tasks it submits, and a reference to the
    # listeners from inside the flow would pickle them (the CLI's progress bar cannot be pickled).
    for listener in list(_progress_listeners):
        listener(entry)


def analysis_identity(config: PipelineConfig, nlp: LoadedNlp) -> str:
    """Everything besides the content that decides an analysis's result."""
    # The schema version: an analysis cached before the output gained fields (1.2.0: date, year, identifier …) is
    # made again rather than written without them.
    return f"tiltak {__version__}|schema {SCHEMA_VERSION}|{nlp.fingerprint}|config {config.config_hash}"


def analysis_cache_key(sha256: str, identity: str) -> str:
    # v3: one record per document, written by the batched analysis task ({"result", "analysed_in_run"}).
    return "tiltak-analysis-v3-" + hashlib.sha256(f"{sha256}|{identity}".encode()).hexdigest()


def _analysis_store() -> ResultStore:
    """The analysis cache: Prefect's result storage (``PREFECT_HOME/storage`` unless configured otherwise), one
    JSON record per analysed content and analysis identity."""
    return ResultStore(serializer=JSONSerializer(), cache_result_in_memory=False)


def _cached_analysis(store: ResultStore, key: str) -> dict | None:
    """The cached record under ``key``, read as plain JSON data. Not through ``store.read``/``store.exists``: Prefect
    decodes a record with the serializer the record itself names (pickle included) and its JSON decoder builds any
    class a record names. A record that is not a JSON-serialized analysis is a cache miss."""
    from prefect.results import get_default_result_storage

    try:
        if store.result_storage is None:  # resolved once per store, as Prefect's own reader does
            store.result_storage = get_default_result_storage(_sync=True)
        record = json.loads(store.result_storage.read_path(key, _sync=True))
        if record["metadata"]["serializer"]["type"] != "json" or not isinstance(record["result"], str):
            return None
        value = json.loads(record["result"])
        if isinstance(value, dict) and {"result", "analysed_in_run"} <= value.keys():
            return value
    except Exception:  # missing, cut short by a killed run, or not ours: a cache miss, not a failure
        return None
    return None


# Files hashed per fingerprint task: a task run costs more than hashing a typical document.
FINGERPRINT_BATCH = 64
# Documents per analysis task at most: their NLP runs in one nlp.pipe call
# (pipeline.analysis.process.analyse_documents).
ANALYSIS_BATCH = NLP_BATCH_SIZE


@task(name="fingerprint", task_run_name="fingerprint {paths[0]} (+{more} more)")
def fingerprint_task(paths: list[str], more: int) -> list[dict[str, str]]:
    """``{"sha256": ...}`` or ``{"error": ...}`` per path: one unreadable file does not fail the others."""
    hashed = []
    for path in map(path_from_param, paths):  # see pipeline.reading.batch.path_param
        try:
            hashed.append({"sha256": file_sha256(path)})
        except OSError as exc:
            hashed.append({"error": f"{display_path(path)}: cannot read the file: {exc.strerror or exc}"})
    return hashed


@task(name="analyse", task_run_name="analyse {paths[0]} (+{more} more)", cache_policy=NO_CACHE,
      persist_result=False)
def analyse_task(paths: list[str], sha256s: list[str], identity: str, config: dict, run_id: str, refresh: bool,
                 more: int) -> list[dict]:
    """Per document, in order: its analysis from the cache (same content and analysis identity), or made now. Each
    new analysis is cached as soon as it is made, with the run that made it, so a killed run loses none it finished
    and a later run can say where an analysis came from (``analysed_in_run``). Returns ``{"result",
    "analysed_in_run", "cached"}`` or ``{"stage", "error"}`` each.

    In the flow's process (the default runner) each document is analysed in a worker process of the run's pool
    (``_run_pools``), where ``max_seconds_per_document`` and ``max_memory_mb`` are enforced. Elsewhere (a Dask
    worker, which may not start processes) the documents are analysed here, their NLP batched, the time limit
    checked between stages only."""
    store = _analysis_store()
    outcomes: dict[int, dict] = {}
    missing: list[int] = []
    for i, sha256 in enumerate(sha256s):
        cached = None if refresh else _cached_analysis(store, analysis_cache_key(sha256, identity))
        if cached is None:
            missing.append(i)
        else:
            outcomes[i] = {**cached, "cached": True}
    for i, outcome in zip(missing, _new_analyses([path_from_param(paths[i]) for i in missing], PipelineConfig(**config),
                                                 run_id), strict=True):
        if "error" in outcome:
            outcomes[i] = outcome
        elif outcome["result"]["document"]["sha256"] != sha256s[i]:
            outcomes[i] = {"stage": "load", "error": "the file changed while it was being processed"}
        else:
            value = {"result": outcome["result"], "analysed_in_run": run_id}
            store.write(value, key=analysis_cache_key(sha256s[i], identity))
            outcomes[i] = {**value, "cached": False}
    return [outcomes[i] for i in range(len(paths))]


# The worker pool of each flow run in progress in this process, by run_id (see process_corpus).
_run_pools: dict[str, WorkerPool] = {}


def _new_analyses(paths: list[Path], config: PipelineConfig, run_id: str) -> Iterator[dict]:
    """Each document's ``{"result"}`` or ``{"stage", "error"}``, in order, as it is made."""
    pool = _run_pools.get(run_id)
    if pool is not None:
        for path in paths:
            yield analyse_isolated(pool, path, config)
        return
    limit_native_threads()  # a Dask worker: one core per worker process, whatever its environment says
    for _path, outcome in analyse_documents(paths, config, batch_size=max(1, min(len(paths), NLP_BATCH_SIZE))):
        if isinstance(outcome, DocumentError):
            yield {"stage": outcome.stage, "error": outcome.reason}
        else:
            yield {"result": outcome.model_dump(mode="json")}


# Attempts per document in write_batch_task, and the pause between two.
WRITE_ATTEMPTS = 3
WRITE_RETRY_SECONDS = 1.0


@task(name="write", task_run_name="write {stems[0]} (+{more} more)", cache_policy=NO_CACHE, persist_result=False)
def write_batch_task(results: list[dict], out_dir: str, stems: list[str], sources: list[str], more: int
                     ) -> list[dict]:
    """Write one analysis batch's documents: one task run per batch, not per document (its orchestration cost is
    that of a whole document's write). Per document, in order: ``{"output"}`` or ``{"stage", "error"}``; a write
    that may succeed again (not a full disk or a read-only folder) is tried ``WRITE_ATTEMPTS`` times."""
    outcomes = []
    for result, stem, source in zip(results, stems, sources, strict=True):
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                path = write_document(result, Path(out_dir), stem=stem, source=path_from_param(source))
                outcomes.append({"output": str(path)})
                break
            except Exception as exc:
                # A full disk or a read-only folder fails again at once: not retried (pipeline.store.outputs).
                if attempt < WRITE_ATTEMPTS and not getattr(exc, "permanent", False):
                    time.sleep(WRITE_RETRY_SECONDS)
                    continue
                stage, error = _failure(exc)
                outcomes.append({"stage": "write" if stage == "unknown" else stage, "error": error})
                break
    return outcomes


def _failure(exc: BaseException | None) -> tuple[str, str]:
    if isinstance(exc, DocumentError):
        return exc.stage, exc.reason
    return "unknown", f"{type(exc).__name__}: {exc}" if exc else "unknown error"


def dask_runner(address: str | None = None, workers: int | None = None):
    """A ``DaskTaskRunner`` for ``process_corpus.with_options(task_runner=...)``: the Dask cluster at ``address``
    (its scheduler, ``tcp://HOST:8786``; without ``address`` or ``workers``, Dask's own ``DASK_SCHEDULER_ADDRESS``
    when set), else a new ``LocalCluster`` of ``workers`` single-threaded worker processes (default: one per CPU
    core) that lives as long as the flow run, each with one thread for the native libraries (``WORKER_THREAD_LIMITS``
    in its environment)."""
    if address is None and workers is None:
        address = os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if address and workers:
        raise TiltakError("give either a Dask scheduler address or a number of local workers, not both")
    if workers is not None and workers < 1:
        raise TiltakError(f"the number of Dask workers must be at least 1, not {workers}")
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise TiltakError("the dask runner needs prefect-dask: pip install 'tiltak[dask]'") from exc
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": workers or os.cpu_count() or 1, "threads_per_worker": 1, "processes": True,
                        "dashboard_address": ":0", "env": dict(WORKER_THREAD_LIMITS)},
    )


# Seconds between two rewrites of a running manifest.
MANIFEST_WRITE_INTERVAL = 1.0
# Analyses in flight at once on the default runner: enough to keep the cores busy, few enough that memory does
# not grow with the corpus (Prefect's default thread pool is unbounded).
ANALYSES_IN_FLIGHT = max(2, os.cpu_count() or 2)


def _process_corpus_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    return f"process-corpus {parameters.get('run_id') or parameters.get('out_dir', 'outputs')}"


@flow(name="process-corpus", flow_run_name=_process_corpus_run_name, validate_parameters=True,
      task_runner=ThreadPoolTaskRunner(max_workers=ANALYSES_IN_FLIGHT), persist_result=False, result_serializer="json")
def process_corpus(
    paths: list[str],
    out_dir: str = "outputs",
    nlp: str = "best",
    config_file: str | None = None,
    refresh_cache: bool = False,
    run_id: str | None = None,
    overrides: dict[str, str | bool | None] | None = None,
    wait_lock: float | None = None,
    follow_symlinks: bool = False,
) -> dict:
    """Process every document under ``paths`` into ``out_dir``; returns the run manifest. ``overrides`` set
    config fields (e.g. ``taxonomy``, ``classifier``) over the config file and defaults.

    One run at a time writes to ``out_dir``: the run holds its lock (``pipeline.store.locking``), waiting up to
    ``wait_lock`` seconds (default ``$TILTAK_WAIT_LOCK`` or 600) for another run to finish. The manifest
    ``runs/<run_id>.json`` is written atomically at the start (status ``running``), as documents finish (at most
    about once a second) and at the end (``completed``, schema-checked), so a killed run leaves a valid manifest
    of the documents it recorded.

    Symbolic links inside the folders of ``paths`` are not followed, or with ``follow_symlinks`` only to targets
    inside the folder; named pipes, sockets and devices are never read: each is listed in the manifest's
    ``skipped`` with its reason. Paths that are not valid UTF-8 are passed encoded
    (``pipeline.reading.batch.path_param``), as JSON cannot carry them.

    SIGINT or SIGTERM (in the main thread) stops the run within seconds: the documents in flight are abandoned (their
    worker processes killed), what finished is written, the manifest says ``interrupted``, temporary files are
    removed, and ``pipeline.runtime.workers.RunInterrupted`` is raised. A re-run finishes the rest; each analysis made
    before the signal comes from the cache."""
    run_id = run_id or new_run_id()
    out = path_from_param(out_dir)
    extra = {key: value for key, value in (overrides or {}).items() if value is not None}
    config = (PipelineConfig.from_toml(path_from_param(config_file), nlp=nlp, **extra) if config_file
              else PipelineConfig(nlp=nlp, **extra))
    # The analysis workers start first: the fork server imports and loads the models while this process does.
    _guard_temporary_server()
    with interruptible(), _analysis_workers(run_id, config) as start_dask_workers:
        found = discover([path_from_param(p) for p in paths], exclude=out, follow_symlinks=follow_symlinks)
        files = found.files
        _notify_stage("loading models")
        loaded = load_nlp(config.nlp, trusted=config.trust_nlp)
        # refuse a bad or untrusted classifier or taxonomy before any work (the analysis workers load it)
        check_classifier(config.classifier, config.taxonomy, trusted=config.trust_classifier)
        identity = analysis_identity(config, loaded)
        start_dask_workers()

        with output_lock(out, wait=wait_lock), _workers_report_here():
            remove_stale_temporaries(out)  # left by a killed run's atomic writes; no other run can be writing now
            index = OutputIndex.load(out)
            manifest = RunManifest(
                run_id=run_id,
                flow_run_id=str(get_run_context().flow_run.id),
                tool_version=__version__,
                schema_version=SCHEMA_VERSION,
                status="running",
                started_at=utc_now(),
                out_dir=str(out),
                config_hash=config.config_hash,
                settings=config.model_dump(mode="json"),
                nlp_model=loaded.info,
                skipped=[SkippedRecord(path=str(skip.path), reason=skip.reason) for skip in found.skipped],
            )
            write_manifest(manifest, out)

            last_write = [time.monotonic()]

            def record(entry: DocumentRecord) -> None:
                check_interrupted()  # after a signal, the documents abandoned in flight are not recorded as failed
                manifest.documents.append(entry)
                # Rewritten at most about once a second (and at the end): a killed run still leaves a valid manifest,
                # without a whole-manifest write per document on large corpora.
                if time.monotonic() - last_write[0] >= MANIFEST_WRITE_INTERVAL:
                    write_manifest(manifest, out, check_schema=False)
                    index.save()
                    last_write[0] = time.monotonic()
                _notify_listeners(entry)

            try:
                _process_files(files, out, config, identity, refresh_cache, run_id, record, index)
                _notify_stage("writing")
            except BaseException as exc:
                stopped = isinstance(exc, RunInterrupted | KeyboardInterrupt) or interrupted() is not None
                manifest.status = "interrupted" if stopped else "failed"
                manifest.finished_at = utc_now()
                with suppress(Exception):
                    write_manifest(manifest, out)
                    index.save()
                if stopped:  # the writes in flight were abandoned: what they left is removed (the lock is still held)
                    with suppress(OSError):
                        remove_stale_temporaries(out)
                raise
            index.save()
            manifest.status = "completed"
            manifest.finished_at = utc_now()
            write_manifest(manifest, out)
    return manifest.model_dump(mode="json")


@contextmanager
def _analysis_workers(run_id: str, config: PipelineConfig) -> Iterator[Callable[[], None]]:
    """The run's pool of analysis worker processes (limits enforced; ``analyse_task``), when its tasks run in this
    process (the default runner) and this process may start processes. Every worker is gone when it closes.

    Yields the function that starts a Dask run's workers (a no-op on the default runner). The run calls it once its
    own set-up is done: a local cluster's workers are forked from the fork server only once it has loaded the
    models, so starting the cluster at once would hold this process's set-up (its own NLP pipeline, the checks)
    back until then, where it can as well run beside the fork server's loading."""
    runner = get_run_context().task_runner
    if not isinstance(runner, ThreadPoolTaskRunner):
        with _local_dask_workers_forked(runner, config):
            loading: list = []
            try:
                yield lambda: loading.extend(_load_models_on_dask_workers(runner, config))
            finally:
                loading.clear()  # released: a worker that has not started loading yet no longer needs to
        return
    if not can_start_workers():
        yield lambda: None
        return
    with analysis_pool(config, ANALYSES_IN_FLIGHT) as pool:
        _run_pools[run_id] = pool
        try:
            yield lambda: None
        finally:
            _run_pools.pop(run_id, None)


@contextmanager
def _local_dask_workers_forked(runner, config: PipelineConfig) -> Iterator[None]:
    """A local Dask cluster's worker processes forked from tiltak's fork server, which has imported Dask, spaCy,
    scikit-learn and the pipeline and loaded the run's models once (single-threaded native libraries, as the workers
    want): each worker then starts in about a second with the models in memory it shares, instead of spending ~10 s
    of CPU importing and loading them itself (Dask's default starts each worker as a new interpreter). A cluster at an
    address is left alone, and so is a local one when this process cannot start processes."""
    if getattr(runner, "address", None) or getattr(runner, "_client", None) is not None or not can_start_workers():
        yield
        return
    with _dask_workers_from_fork_server(config):
        yield


@contextmanager
def _dask_workers_from_fork_server(config: PipelineConfig) -> Iterator[None]:
    """Dask worker processes started inside this block are forked from tiltak's fork server (started now), which
    imports Dask and the pipeline and loads the models of ``config`` once."""
    import dask
    import distributed.utils

    prestart_analysis_workers(config, also_preload=("distributed",), environment=WORKER_THREAD_LIMITS)
    distributed.utils._forkserver_preload_set = True  # the fork server has ours; Dask would replace it with its own
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        yield


@contextmanager
def dask_worker_pool(config: PipelineConfig, workers: int, host: str = "127.0.0.1", port: int = 8786) -> Iterator[str]:
    """A local Dask cluster kept for as many runs as use its address (``tiltak workers``): a scheduler on
    ``host:port`` and ``workers`` single-threaded worker processes forked from the fork server with the models of
    ``config`` loaded and Prefect's task engine imported, so a run against it (``dask_runner(address=...)``) starts
    analysing at once instead of paying for a cluster start and model loads (about 6 s of CPU on 2026-12-07). A run
    with other models loads them on each worker once, and keeps them there. A worker that dies is replaced by its
    nanny, forked the same way. Yields the scheduler's address; every process is stopped when the block ends.

    A Dask scheduler runs whatever code its clients send: ``host`` is the loopback address unless a trusted network
    is given on purpose."""
    if workers < 1:
        raise TiltakError(f"the number of Dask workers must be at least 1, not {workers}")
    if not can_start_workers():
        raise TiltakError("a Dask worker pool cannot be started from a daemonic process")
    from distributed import Client, LocalCluster

    with _dask_workers_from_fork_server(config):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host=host, scheduler_port=port,
                               dashboard_address=None, env=dict(WORKER_THREAD_LIMITS))
        try:
            with Client(cluster) as client:
                try:
                    client.run(_ready_for_runs, config.model_dump(mode="json"))
                except Exception as exc:  # a model that is not installed or not trusted, say: said before serving
                    raise TiltakError(f"the workers cannot load the models: {exc}") from exc
            yield cluster.scheduler_address
        finally:
            cluster.close()


def _ready_for_runs(settings: dict) -> None:
    """On a worker of ``dask_worker_pool``: what a run's first task would otherwise load."""
    _load_models(settings)
    import prefect.task_engine  # noqa: F401  (each task runs in it; importing it costs about a second)


def _load_models(settings: dict) -> None:
    """On a Dask worker: the models of ``settings``, loaded once for every analysis this worker process makes."""
    limit_native_threads()
    config = PipelineConfig(**settings)
    load_nlp(config.nlp, trusted=config.trust_nlp)
    load_classifier(config.classifier, config.taxonomy, trusted=config.trust_classifier)


def _load_models_on_dask_workers(runner, config: PipelineConfig) -> list:
    """Each worker of the run's Dask cluster starts loading the models now, as a plain Dask task (no Prefect task
    run), while this process fingerprints the files: the first analyses do not wait for it (forked workers have
    them already, from the fork server). Returns the futures, to be held while the run lasts. A failure here is not the
    run's: an analysis that needs the models loads them itself and reports what went wrong with its document."""
    try:
        client = runner.client  # starts a LocalCluster now
        return [client.submit(_load_models, config.model_dump(mode="json"), workers=[worker], pure=False,
                              allow_other_workers=False, key=f"tiltak-load-models-{worker}-{time.time_ns()}")
                for worker in client.scheduler_info(n_workers=-1)["workers"]]
    except Exception:
        return []


_guarded_servers: set[int] = set()


def _guard_temporary_server() -> None:
    """Prefect's temporary server (a uvicorn process) is stopped by Prefect at a normal exit; a watchdog stops it
    when this process is killed (kill -9) instead of leaving it running."""
    # Prefect imports its server module only to start a temporary server; importing it here just to look would
    # cost seconds (the whole server API) on every run against tiltak's own local server.
    server_module = sys.modules.get("prefect.server.api.server")
    if server_module is None:
        return
    try:
        SubprocessASGIServer = server_module.SubprocessASGIServer

        pids = {server.server_process.pid for server in SubprocessASGIServer._instances.values()
                if getattr(server, "server_process", None) is not None}
    except Exception:  # Prefect's internals moved: nothing to guard that we can see
        return
    if pids - _guarded_servers:
        guard(sorted(pids - _guarded_servers))
        _guarded_servers.update(pids)


def _workers_report_here() -> AbstractContextManager:
    """Task runs in other processes (Dask workers) report to the API this flow run uses. Without a configured
    ``PREFECT_API_URL`` that is this process's temporary server, and each worker would start one of its own."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    context = get_run_context()
    if PREFECT_API_URL.value() or isinstance(context.task_runner, ThreadPoolTaskRunner):
        return nullcontext()
    return temporary_settings(updates={PREFECT_API_URL: str(context.client.api_url).rstrip("/")})


def _process_files(
    files: list[Path],
    out: Path,
    config: PipelineConfig,
    identity: str,
    refresh_cache: bool,
    run_id: str,
    record: Callable[[DocumentRecord], None],
    index: OutputIndex,
) -> None:
    """Fingerprint, analyse (cached) and write every file, calling ``record`` as each document finishes.
    A document whose output already holds this analysis (``index``) is recorded without any task."""
    _notify_stage("reading")
    plan = plan_outputs(_fingerprints(files, record))
    written: dict[str, str] = {}
    to_analyse = []
    for doc in plan:
        fresh = None if refresh_cache or doc.duplicate_of else index.fresh(doc.stem, doc.sha256,
                                                                             _output_identity(identity, doc.path),
                                                                             str(doc.path))
        if fresh is None:
            if doc.duplicate_of is None:
                to_analyse.append(doc)
            continue
        written[doc.sha256] = fresh.output
        record(DocumentRecord(source=str(doc.path), sha256=doc.sha256, status="cached", output=fresh.output,
                              analysed_in_run=fresh.analysed_in_run, measures=fresh.measures))
    _notify_stage("analysing")
    per_batch_writes = _analysis_slots() is not None
    for batch in _analyses(to_analyse, config, identity, refresh_cache, run_id):
        analysed = []
        for doc, outcome in batch:
            if "error" in outcome:
                record(DocumentRecord(source=str(doc.path), sha256=doc.sha256, status="failed", stage=outcome["stage"],
                                      error=outcome["error"]))
            else:
                analysed.append((doc, outcome))
        if not analysed:
            continue
        # Written here, in the flow's process (whatever the task runner): the output folder and its lock are local.
        # On Dask one write task per analysis batch keeps the orchestration cost small; on the default runner each
        # document is written and recorded on its own, so a run interrupted mid-batch has every written document in
        # its manifest and output index.
        for group in ([analysed] if per_batch_writes else [[item] for item in analysed]):
            # quote(): Prefect would otherwise walk the whole results looking for futures to resolve.
            writes = write_batch_task(quote([outcome["result"] for _doc, outcome in group]), str(out),
                                      [doc.stem for doc, _outcome in group],
                                      [path_param(doc.path) for doc, _outcome in group], len(group) - 1)
            for (doc, outcome), write in zip(group, writes, strict=True):
                if "error" in write:
                    record(DocumentRecord(source=str(doc.path), sha256=doc.sha256, status="failed",
                                          stage=write["stage"], error=write["error"]))
                    continue
                result = outcome["result"]
                written[doc.sha256] = os.path.relpath(write["output"], out)
                index.record(doc.stem, sha256=doc.sha256, identity=_output_identity(identity, doc.path),
                             source=str(doc.path), output=written[doc.sha256], measures=len(result["measures"]),
                             analysed_in_run=outcome["analysed_in_run"])
                cached = outcome["cached"]
                record(DocumentRecord(
                    source=str(doc.path),
                    sha256=doc.sha256,
                    status="cached" if cached else "processed",
                    output=written[doc.sha256],
                    analysed_in_run=outcome["analysed_in_run"],
                    measures=len(result["measures"]),
                    seconds=None if cached else round(sum(result["provenance"]["timings"].values()), 4),
                    warnings=result["document"].get("warnings", []),
                ))
    for doc in plan:
        if doc.duplicate_of is not None:
            original_ok = doc.sha256 in written
            record(DocumentRecord(
                source=str(doc.path),
                sha256=doc.sha256,
                status="duplicate" if original_ok else "failed",
                duplicate_of=str(doc.duplicate_of),
                output=written.get(doc.sha256),
                stage=None if original_ok else "load",
                error=None if original_ok else f"same content as {doc.duplicate_of}, which failed",
            ))


def _output_identity(identity: str, path: Path) -> str:
    """What an output file is made from besides the content: the analysis identity and the user's metadata
    corrections (a changed NAME.meta.toml or metadata.csv rewrites the output; pipeline.reading.document_info)."""
    corrections = overrides_fingerprint(path)
    return f"{identity}|metadata {corrections}" if corrections else identity


def _fingerprints(files: list[Path], record: Callable[[DocumentRecord], None]) -> dict[Path, str]:
    """Content hashes of ``files``, hashed in batches; an unreadable file is recorded as failed."""
    fingerprints: dict[Path, str] = {}
    batches = [files[i:i + FINGERPRINT_BATCH] for i in range(0, len(files), FINGERPRINT_BATCH)]
    futures = [fingerprint_task.submit([path_param(f) for f in batch], len(batch) - 1) for batch in batches]
    for batch, future in zip(batches, futures, strict=True):
        for path, hashed in zip(batch, future.result(), strict=True):
            if "error" in hashed:
                record(DocumentRecord(source=str(path), status="failed", stage="load", error=hashed["error"]))
            else:
                fingerprints[path] = hashed["sha256"]
    return fingerprints


def _analysis_slots() -> int | None:
    """Tasks the flow's Dask cluster runs at once (its worker threads), or None on the default runner."""
    runner = get_run_context().task_runner
    if isinstance(runner, ThreadPoolTaskRunner):
        return None
    try:
        return max(1, sum(runner.client.nthreads().values()))
    except Exception:  # not a Dask runner after all, or the scheduler does not answer: sized as for two workers
        return 2


def _batches(docs: list[PlannedDocument]) -> list[list[PlannedDocument]]:
    """The analysis tasks' documents. On Dask, chosen from the documents' sizes (``pipeline.runtime.task_batches``):
    each task's orchestration cost stays small against its analysis. On the default runner each document is analysed in
    its own worker process anyway: batches small enough to give every worker several."""
    slots = _analysis_slots()
    if slots is None:
        size = max(1, min(ANALYSIS_BATCH, math.ceil(len(docs) / (2 * ANALYSES_IN_FLIGHT))))
        return [docs[i:i + size] for i in range(0, len(docs), size)]
    sizes = []
    for doc in docs:
        try:
            sizes.append(doc.path.stat().st_size)
        except OSError:  # its analysis says why
            sizes.append(0)
    return [[docs[i] for i in batch] for batch in plan_batches(sizes, slots)]


def _analyses(docs: list[PlannedDocument], config: PipelineConfig, identity: str, refresh: bool, run_id: str
              ) -> Iterator[list[tuple[PlannedDocument, dict]]]:
    """Each batch's documents with their outcomes from ``analyse_task``, batch by batch as they finish. A batch
    whose task fails as a whole (its Dask worker lost, say) is retried one document per task, so the failure
    lands on the document that caused it; each document comes out exactly once."""
    batches = _batches(docs)
    settings = config.model_dump(mode="json")
    while batches:
        submitted = {analyse_task.submit([path_param(d.path) for d in batch], [d.sha256 for d in batch], identity,
                                         settings, run_id, refresh, len(batch) - 1): batch for batch in batches}
        batches = []
        for future in as_completed(list(submitted)):
            check_interrupted()
            batch = submitted.pop(future)  # drop the future (and its results) once it is handled
            future.wait()
            if not future.state.is_failed():
                yield list(zip(batch, future.result(), strict=True))
            elif len(batch) > 1:
                batches.extend([doc] for doc in batch)
            else:
                exc = future.state.result(raise_on_failure=False)
                stage, error = _failure(exc)
                if type(exc).__name__ == "KilledWorker":  # Dask gave up: each worker running it died
                    stage = "worker"
                yield [(batch[0], {"stage": stage, "error": error})]


@task(name="train-focus-area-classifier")
def train_classifier_task(data: str, taxonomy: str | None, out: str, version: str, test: str | None = None) -> dict:
    from models.focus_area.train import train

    return train(Path(data), Path(taxonomy) if taxonomy else None, Path(out), version=version,
                 test=Path(test) if test else None)


@flow(name="train-classifier", validate_parameters=True, persist_result=False, result_serializer="json")
def train_classifier(data: str, out: str, taxonomy: str | None = None, version: str = "1.0.0",
                     test: str | None = None) -> dict:
    """Train the focus-area classifier on labelled measures, score it on the held-out ``test`` measures if given;
    writes the skops artifact and its card to ``out``."""
    return train_classifier_task(data, taxonomy, out, version, test)


@task(name="train-measure-detector")
def train_measures_task(annotations: str, out: str, folds: int) -> dict:
    from models.measures.train import train

    return train(Path(annotations), Path(out), folds)


@flow(name="train-measures", validate_parameters=True, persist_result=False, result_serializer="json")
def train_measures(annotations: str, out: str, folds: int = 5) -> dict:
    """Train the measure detector on the annotated real pages (models/measures/train.py): grouped cross-validated
    figures, seeds, skops artifact and card written to ``out``."""
    return train_measures_task(annotations, out, folds)


@task(name="train-policy-area-classifier")
def train_policy_area_task(annotations: str, texts: str, out: str, folds: int) -> dict:
    from models.policy_area.train import train

    return train(Path(annotations), Path(texts), Path(out), folds=folds)


@flow(name="train-policy-area", validate_parameters=True, persist_result=False, result_serializer="json")
def train_policy_area(annotations: str, texts: str, out: str, folds: int = 5) -> dict:
    """Train the policy-area (CAP) classifier on the own-words data and the annotated real measures
    (models/policy_area/train.py): grouped cross-validated figures, skops artifact and card written to ``out``."""
    return train_policy_area_task(annotations, texts, out, folds)


@task(name="load-document-json", task_run_name="load {path}")
def load_result_task(path: str) -> dict:
    from pipeline.research.compare import load_result

    return load_result(Path(path)).model_dump(mode="json")


@task(name="compare-documents")
def compare_task(results: list[dict]) -> dict:
    from pipeline.research.compare import compare_documents
    from pipeline.schema import DocumentResult

    return compare_documents([DocumentResult.model_validate(r) for r in results]).model_dump(mode="json")


@task(name="write-comparison", task_run_name="write {out}", retries=2, retry_delay_seconds=1)
def write_comparison_task(comparison: dict, out: str) -> str:
    from pipeline.research.compare import ComparisonResult, write_comparison

    return str(write_comparison(ComparisonResult.model_validate(comparison), Path(out)))


@flow(name="compare-documents", validate_parameters=True, persist_result=False, result_serializer="json")
def compare_flow(paths: list[str], out: str | None = None) -> dict:
    """Compare document JSONs, each with the next in the order given; writes the comparison JSON to ``out``
    (atomically, validated against its schema) when given, and returns it."""
    results = [load_result_task(path) for path in paths]
    comparison = compare_task(results)
    if out is not None:
        write_comparison_task(comparison, out)
    return comparison


@task(name="fetch-source", task_run_name="fetch {url}", cache_policy=NO_CACHE,
      persist_result=False)  # bytes: never a result record
def fetch_task(url: str, etag: str | None, last_modified: str | None, max_bytes: int, timeout: float,
               retries: int = DEFAULT_RETRIES, budget: float | None = None, stop_token: str | None = None
               ) -> FetchResult:
    # fetch() bounds itself (each response within ``timeout``, the URL within ``budget``), never raises for a
    # network problem, and gives up at once when the run is interrupted (``stop_token``): a worker thread is never
    # held long, so the process ends promptly on SIGTERM or Ctrl+C.
    return fetch(url, etag, last_modified, max_bytes=max_bytes, timeout=timeout, retries=retries, budget=budget,
                 stop=stop_event(stop_token))


@flow(name="ingest", validate_parameters=True, persist_result=False, result_serializer="json")
def ingest(
    inbox: str | None = None,
    urls: list[str] | None = None,
    out_dir: str = "outputs",
    nlp: str = "best",
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    retries: int = DEFAULT_RETRIES,
    fetch_budget: float | None = None,
    overrides: dict[str, str | bool | None] | None = None,
) -> dict:
    """Ingest the inbox folder and the URLs into ``out_dir``: new and changed documents are processed (with the run
    settings ``overrides``, as in ``process_corpus``), each new
    version is compared with the source's previous one. Inbox files modified in the last ``settle_seconds`` may
    still be being copied in: they are left for a later run (``waiting``). A URL's response must come whole within
    ``timeout`` seconds; transient errors are retried (``retries``) within ``fetch_budget`` seconds per URL.
    Symbolic links and special files in the inbox are not read (``skipped``, with the reason). Returns a summary
    (per source: new, changed, unchanged, waiting, skipped, failed; the outputs and comparisons written)."""
    out = Path(out_dir)
    summary = new_summary()
    with ingest_lock(out):
        registry = Registry.load(out)
        candidates: list[Candidate] = []
        url_list = list(dict.fromkeys(urls or []))
        with stoppable_fetches() as stop_token:
            futures = {}
            for url in url_list:
                latest = registry.latest(url) or {}
                futures[url] = fetch_task.submit(url, latest.get("etag"), latest.get("last_modified"), max_bytes,
                                                 timeout, retries, fetch_budget, stop_token)
            for future in futures.values():
                future.wait()
        for url, future in futures.items():
            if future.state.is_failed():  # fetch() does not raise; should the task fail all the same, one URL fails
                _stage, error = _failure(future.state.result(raise_on_failure=False))
                result = FetchResult("error", reason=f"{url}: {error}")
            else:
                result = future.result()
            candidate = note_fetch(registry, summary, url, result)
            if candidate is not None:
                candidates.append(candidate)
        if inbox:
            candidates += inbox_candidates(registry, summary, Path(inbox), settle_seconds)

        todo, stored = plan_versions(registry, summary, candidates)
        if todo:
            manifest = process_corpus(paths=[str(stored[item.candidate.source]) for item in todo],
                                      out_dir=str(out), nlp=nlp, overrides=overrides)
            summary["run_id"] = manifest["run_id"]
            records = {record["source"]: record for record in manifest["documents"]}
            for item in todo:
                source = item.candidate.source
                comparison = record_version(registry, summary, out, item, records.get(str(stored[source])),
                                            stored[source])
                if comparison is None:
                    continue
                previous_output, target = comparison
                try:
                    compare_flow(paths=[str(out / previous_output), str(out / summary["outputs"][source])],
                                 out=str(target))
                except (TiltakError, OSError) as exc:
                    summary["failed"].append({"source": source, "stage": "compare", "error": str(exc)})
                    continue
                note_comparison(summary, out, target, item.candidate)
        registry.save()
    return summary
