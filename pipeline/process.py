"""One document through every stage: load → normalise → structure → NLP → extract → assemble.

Plain functions, no orchestration: ``flows.py`` wraps them in Prefect tasks, tests call them directly. A
failure in any stage becomes a DocumentError naming the file, the stage and the reason.

Limits from the config: ``max_pages`` and ``max_chars`` refuse a document before the expensive stages, and
``max_seconds_per_document`` is checked cooperatively (between PDF pages while loading, and between stages): a
document over its time is stopped with a DocumentError naming the stage it reached. A text that is not Norwegian
is still processed, with a document warning that the extraction rules are Norwegian.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from extractors.extract import extract
from pipeline.assemble import assemble
from pipeline.classify import classify_measures, load_classifier
from pipeline.config import PipelineConfig
from pipeline.document_info import not_norwegian_warning
from pipeline.errors import DocumentError
from pipeline.loaders import LoadLimits, load_document
from pipeline.nlp import BLANK_WARNING, load_nlp, parse
from pipeline.schema import DocumentResult
from pipeline.structure import build_structure


@contextmanager
def stage(path: Path, name: str, timings: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    except DocumentError:
        raise
    except MemoryError as exc:
        raise DocumentError(path, name, "out of memory") from exc
    except Exception as exc:
        raise DocumentError(path, name, f"{type(exc).__name__}: {exc}") from exc
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def analyse_document(path: Path, config: PipelineConfig) -> DocumentResult:
    path = Path(path)
    limits = LoadLimits.starting_now(max_pages=config.max_pages, max_chars=config.max_chars,
                                     max_seconds=config.max_seconds_per_document)
    timings: dict[str, float] = {}
    warnings: list[str] = []
    with stage(path, "load", timings):
        source = load_document(path, limits)
    limits.check_time(path, "structure")
    with stage(path, "structure", timings):
        structured = build_structure(source)
        limits.check_chars(path, len(structured.text), "structure")
        if language_warning := not_norwegian_warning(structured.text, config.languages):
            warnings.append(language_warning)
    limits.check_time(path, "nlp")
    with stage(path, "nlp", timings):
        loaded = load_nlp(config.nlp)
        if loaded.info.kind == "blank":
            warnings.append(BLANK_WARNING)
        doc = parse(loaded, structured.text)
    limits.check_time(path, "extract")
    with stage(path, "extract", timings):
        extraction = extract(structured, doc, config)
    limits.check_time(path, "classify")
    with stage(path, "classify", timings):
        classifier = load_classifier(config.classifier, config.taxonomy)
        focus_areas = classify_measures(extraction.measures, classifier)
    limits.check_time(path, "assemble")
    with stage(path, "assemble", timings):
        return assemble(
            source=source,
            structured=structured,
            nlp_model=loaded.info,
            extraction=extraction,
            classifier=classifier.info,
            focus_areas=focus_areas,
            config=config,
            timings=timings,
            warnings=warnings,
        )
