"""One document through every stage: load → normalise → structure → NLP → extract → assemble.

Plain functions, no orchestration: ``flows.py`` wraps them in Prefect tasks, tests call them directly. A
failure in any stage becomes a DocumentError naming the file, the stage and the reason.

Limits from the config: ``max_pages`` and ``max_chars`` refuse a document before the expensive stages, and
``max_seconds_per_document`` is checked cooperatively (between PDF pages while loading, and between stages): a
document over its time is stopped with a DocumentError naming the stage it reached. A text that is not Norwegian
is still processed, with a document warning that the extraction rules are Norwegian.

``analyse_isolated`` runs one document in a worker process of a ``pipeline.runtime.workers.WorkerPool``, where the
limits are enforced whatever the code is doing: a document still running after ``max_seconds_per_document`` is stopped
(stage ``timeout``), one that needs more than ``max_memory_mb`` fails with "out of memory", and a worker that dies
fails only its document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from spacy.tokens import Doc

from extractors.extract import extract
from pipeline.analysis.assemble import assemble
from pipeline.analysis.classify import classify_measures, load_classifier
from pipeline.analysis.nlp import BLANK_WARNING, LoadedNlp, load_nlp, parse, parse_many
from pipeline.analysis.policy_area import classify_policy_areas, load_policy_classifier
from pipeline.config import PipelineConfig
from pipeline.errors import DocumentError
from pipeline.reading.document_info import not_norwegian_warning
from pipeline.reading.loaders import load_document
from pipeline.reading.loaders.limits import LoadLimits, raise_hint, time_limit_reason
from pipeline.reading.source import SourceDocument
from pipeline.reading.structure import StructuredDocument, build_structure
from pipeline.runtime.workers import (
    OutOfMemory,
    WorkerDied,
    WorkerPool,
    WorkerStartFailed,
    WorkerTimeout,
    retire_after_this_job,
)
from pipeline.schema import DocumentResult

OUT_OF_MEMORY = "out of memory"

# Documents per nlp.pipe call in analyse_documents: batching across documents is ~10 % faster than one call per
# document (benchmarks/end_to_end_speed.py), and a batch's documents are all in memory at once.
NLP_BATCH_SIZE = 8


@contextmanager
def stage(path: Path, name: str, timings: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    except DocumentError:
        raise
    except MemoryError as exc:
        raise DocumentError(path, name, OUT_OF_MEMORY) from exc
    except Exception as exc:
        raise DocumentError(path, name, f"{type(exc).__name__}: {exc}") from exc
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


@dataclass
class _Prepared:
    """A document loaded and structured, waiting for the NLP stage."""

    path: Path
    source: SourceDocument
    structured: StructuredDocument
    limits: LoadLimits
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _limits(config: PipelineConfig) -> LoadLimits:
    return LoadLimits.starting_now(max_pages=config.max_pages, max_chars=config.max_chars,
                                   max_seconds=config.max_seconds_per_document, max_bytes=config.max_bytes)


def _prepare(path: Path, config: PipelineConfig) -> _Prepared:
    limits = _limits(config)
    timings: dict[str, float] = {}
    with stage(path, "load", timings):
        source = load_document(path, limits, pdf_backend=config.pdf_backend, ocr=config.ocr)
    return _prepare_source(source, config, limits, timings)


def _prepare_source(source: SourceDocument, config: PipelineConfig, limits: LoadLimits,
                    timings: dict[str, float]) -> _Prepared:
    path = source.path
    warnings: list[str] = []
    limits.check_time(path, "structure")
    with stage(path, "structure", timings):
        structured = build_structure(source)
        limits.check_chars(path, len(structured.text), "structure")
        if language_warning := not_norwegian_warning(structured.text, config.languages):
            warnings.append(language_warning)
    limits.check_time(path, "nlp")
    return _Prepared(path, source, structured, limits, timings, warnings)


def _finish(prepared: _Prepared, doc: Doc, loaded: LoadedNlp, config: PipelineConfig) -> DocumentResult:
    path, timings = prepared.path, prepared.timings
    if loaded.info.kind == "blank":
        prepared.warnings.append(BLANK_WARNING)
    prepared.limits.check_time(path, "extract")
    with stage(path, "extract", timings):
        extraction = extract(prepared.structured, doc, config)
    prepared.limits.check_time(path, "classify")
    with stage(path, "classify", timings):
        policy_classifier = load_policy_classifier(config.policy_model, config.policy_areas)
        # Policy areas first: the focus-area taxonomy's scope is a set of policy areas.
        policy_areas = classify_policy_areas(extraction.measures, prepared.structured.text, policy_classifier)
        classifier = load_classifier(config.classifier, config.taxonomy, trusted=config.trust_classifier)
        focus_areas = classify_measures(extraction.measures, classifier)
    prepared.limits.check_time(path, "assemble")
    with stage(path, "assemble", timings):
        result = assemble(
            source=prepared.source,
            structured=prepared.structured,
            nlp_model=loaded.info,
            extraction=extraction,
            classifier=classifier.info,
            focus_areas=focus_areas,
            policy_classifier=policy_classifier.info,
            policy_areas=policy_areas,
            config=config,
            timings=timings,
            warnings=prepared.warnings,
        )
    result.provenance.timings["assemble"] = round(timings["assemble"], 4)  # the stage ends after assemble() returns
    return result


def analyse_document(path: Path, config: PipelineConfig) -> DocumentResult:
    path = Path(path)
    prepared = _prepare(path, config)
    with stage(path, "nlp", prepared.timings):
        loaded = load_nlp(config.nlp, trusted=config.trust_nlp)
        doc = parse(loaded, prepared.structured.text, _time_check(prepared))
    return _finish(prepared, doc, loaded, config)


def analyse_source(source: SourceDocument, config: PipelineConfig) -> DocumentResult:
    """A document already read into a SourceDocument (``tiltak.analyse_text`` makes one from a string, with no file)
    through the stages after loading, within the config's limits."""
    prepared = _prepare_source(source, config, _limits(config), {})
    with stage(source.path, "nlp", prepared.timings):
        loaded = load_nlp(config.nlp, trusted=config.trust_nlp)
        doc = parse(loaded, prepared.structured.text, _time_check(prepared))
    return _finish(prepared, doc, loaded, config)


def analyse_documents(paths: list[Path], config: PipelineConfig, *, batch_size: int = NLP_BATCH_SIZE
                      ) -> Iterator[tuple[Path, DocumentResult | DocumentError]]:
    """Every document of ``paths`` through every stage, in order, with the NLP stage batched across documents
    (``nlp.pipe``): (path, result), or (path, the DocumentError) for a document that failed; the others go on.

    Documents are loaded and structured ``batch_size`` at a time, so memory holds one batch, not the corpus.
    Each document's ``nlp`` timing is its share of its batch's NLP time, by length."""
    loaded = load_nlp(config.nlp, trusted=config.trust_nlp)
    for first in range(0, len(paths), batch_size):
        batch: list[tuple[Path, _Prepared | DocumentError]] = []
        for path in map(Path, paths[first:first + batch_size]):
            try:
                batch.append((path, _prepare(path, config)))
            except DocumentError as exc:
                batch.append((path, exc))
        prepared = [item for _path, item in batch if isinstance(item, _Prepared)]
        docs = _parse_batch(loaded, prepared)
        for path, item in batch:
            if isinstance(item, DocumentError):
                yield path, item
                continue
            try:
                doc = docs[id(item)]
                if isinstance(doc, DocumentError):
                    raise doc
                yield path, _finish(item, doc, loaded, config)
            except DocumentError as exc:
                yield path, exc


def _time_check(prepared: _Prepared) -> Callable[[], None]:
    """Checks the document's time between the batches of its NLP stage (a long text is parsed in pieces)."""
    return lambda: prepared.limits.check_time(prepared.path, "nlp")


def _parse_batch(loaded: LoadedNlp, prepared: list[_Prepared]) -> dict[int, Doc | DocumentError]:
    """The NLP stage for a batch, by ``id`` of each prepared document. If the batch fails as a whole, each
    document is parsed alone, so the failure is charged to the document that caused it."""
    if not prepared:
        return {}
    texts = [item.structured.text for item in prepared]
    started = time.perf_counter()
    try:
        docs = list(parse_many(loaded, texts, [_time_check(item) for item in prepared]))
    except Exception:
        if len(prepared) == 1:
            item = prepared[0]
            try:
                with stage(item.path, "nlp", item.timings):
                    return {id(item): parse(loaded, item.structured.text, _time_check(item))}
            except DocumentError as exc:
                return {id(item): exc}
        return {key: value for item in prepared for key, value in _parse_batch(loaded, [item]).items()}
    seconds = time.perf_counter() - started
    total = sum(len(text) for text in texts) or 1
    for item, text in zip(prepared, texts, strict=True):
        item.timings["nlp"] = seconds * len(text) / total
    return {id(item): doc for item, doc in zip(prepared, docs, strict=True)}


def analysis_outcome(path: Path, config: PipelineConfig) -> dict:
    """``analyse_document`` as plain data: ``{"result": <document JSON>}`` or ``{"stage", "error"}``."""
    try:
        result = analyse_document(Path(path), config)
    except DocumentError as exc:
        if exc.reason == OUT_OF_MEMORY:
            retire_after_this_job()  # in a worker: a fresh one takes over (no-op elsewhere)
        return {"stage": exc.stage, "error": exc.reason}
    return {"result": result.model_dump(mode="json")}


# Analysed once when a worker starts: the extractors build their matchers and read their data on first use
# (about a second), which would otherwise count against the first real document's time limit.
_WARM_UP_TEXT = ("Plan for bedre samarbeid\n\nKommunene skal samarbeide tettere om tjenestene.\n\n"
                 "For å nå målet vil regjeringen:\n\n- etablere et nytt kontor\n- styrke opplæringen\n")


_warmed_up: set[str] = set()


def load_models(settings: dict) -> None:
    """A worker's initializer: the spaCy pipeline and the classifier, loaded once for every document it analyses,
    and one small document analysed to warm the extractors up."""
    import tempfile

    config = PipelineConfig(**settings)
    load_nlp(config.nlp, trusted=config.trust_nlp)
    load_classifier(config.classifier, config.taxonomy, trusted=config.trust_classifier)
    load_policy_classifier(config.policy_model, config.policy_areas)
    if config.config_hash in _warmed_up:  # a worker forked from a fork server that warmed these models up already
        return
    _warmed_up.add(config.config_hash)
    with tempfile.TemporaryDirectory(prefix="tiltak-warm-up-") as folder:
        sample = Path(folder) / "warm-up.txt"
        sample.write_text(_WARM_UP_TEXT, encoding="utf-8")
        with suppress(DocumentError):
            analyse_document(sample, config)


def analysis_pool(config: PipelineConfig, size: int) -> WorkerPool:
    """Worker processes for ``analyse_isolated``, each with the models of ``config`` and its memory limit."""
    return WorkerPool(size, initializer=load_models, initargs=(config.model_dump(mode="json"),),
                      max_memory_mb=config.max_memory_mb, prestart=True)


def prestart_analysis_workers(config: PipelineConfig, also_preload: tuple[str, ...] = (),
                              environment: dict[str, str] | None = None) -> None:
    """Start the fork server of ``analysis_pool(config, …)`` now, in the background: it imports the pipeline and loads
    the models while the caller sets up its run (imports Prefect, creates the flow run), so that the run's workers,
    forked from it, are ready sooner. Only once a command's checks have passed: nothing is loaded for a mistake.
    ``also_preload``: more modules for the fork server to import; ``environment``: variables it starts with (the
    native libraries size their thread pools from them when it imports them). Both only count when this call starts
    the fork server."""
    import multiprocessing
    import os
    from multiprocessing import forkserver

    from pipeline.runtime.workers import FORKSERVER_INIT, PRELOAD, _initializer_as_json, _start_lock, can_start_workers

    if not can_start_workers():
        return
    multiprocessing.get_context("forkserver").set_forkserver_preload([*PRELOAD, *also_preload])
    with _start_lock:
        saved = {name: os.environ.get(name) for name in [FORKSERVER_INIT, *(environment or {})]}
        os.environ.update(environment or {})
        if (announced := _initializer_as_json(load_models, (config.model_dump(mode="json"),))) is not None:
            os.environ[FORKSERVER_INIT] = announced
        try:
            forkserver.ensure_running()  # returns once the fork server is spawned; it loads the models by itself
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _analyse_in_worker(path: str, settings: dict) -> dict:
    return analysis_outcome(Path(path), PipelineConfig(**settings))


def memory_limit_reason(max_memory_mb: int) -> str:
    if not max_memory_mb:
        return OUT_OF_MEMORY
    return (f"{OUT_OF_MEMORY} (a document may use at most {max_memory_mb:,} MB, max_memory_mb); "
            f"{raise_hint('max_memory_mb', 2 * max_memory_mb)}")


def analyse_isolated(pool: WorkerPool, path: Path, config: PipelineConfig) -> dict:
    """``analysis_outcome`` of one document, run in a worker of ``pool`` (``analysis_pool``) with its limits
    enforced: over ``max_seconds_per_document`` the worker is killed and the document fails at stage ``timeout``;
    out of memory, or a worker that dies, fails the document with the reason. Raises ``PoolStopped`` when the
    pool is stopped (an interrupted run)."""
    try:
        outcome = pool.run(_analyse_in_worker, str(path), config.model_dump(mode="json"),
                           timeout=config.max_seconds_per_document)
    except WorkerTimeout:
        return {"stage": "timeout", "error": time_limit_reason(config.max_seconds_per_document)}
    except OutOfMemory:
        return {"stage": "worker", "error": memory_limit_reason(config.max_memory_mb)}
    except (WorkerDied, WorkerStartFailed) as exc:
        return {"stage": "worker", "error": str(exc)}
    if outcome.get("error") == OUT_OF_MEMORY:
        outcome["error"] = memory_limit_reason(config.max_memory_mb)
    return outcome
