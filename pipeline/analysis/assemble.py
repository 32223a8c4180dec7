"""Assembly: the parts each stage produced become one validated DocumentResult."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipeline import __version__
from pipeline.config import PipelineConfig
from pipeline.io import safe_stem
from pipeline.reading.document_info import detect_document_type, detect_language, read_metadata
from pipeline.reading.source import SourceDocument
from pipeline.schema import (
    ClassifierInfo,
    DocumentInfo,
    DocumentResult,
    FocusAreaSummary,
    NlpModelInfo,
    OcrInfo,
    PolicyAreaSummary,
    Provenance,
)

if TYPE_CHECKING:
    from extractors.extract import Extraction
    from pipeline.reading.structure import StructuredDocument


def document_title(source: SourceDocument, structured: StructuredDocument) -> str | None:
    if source.title and source.title.strip():
        return source.title.strip()
    for block in structured.blocks:
        if block.kind == "heading":
            return structured.text[block.start : block.end]
    first = next(iter(structured.blocks), None)
    return structured.text[first.start : first.end][:200] if first else None


def assemble(
    *,
    source: SourceDocument,
    structured: StructuredDocument,
    nlp_model: NlpModelInfo,
    extraction: Extraction,
    classifier: ClassifierInfo | None,
    focus_areas: list[FocusAreaSummary],
    config: PipelineConfig,
    policy_classifier: ClassifierInfo | None = None,
    policy_areas: list[PolicyAreaSummary] | None = None,
    timings: dict[str, float],
    warnings: list[str],
) -> DocumentResult:
    title = document_title(source, structured)
    metadata = read_metadata(source, title)
    document_type = detect_document_type(title, structured.text, config.document_types)
    if document_type == "ukjent" and metadata.document_type is not None:  # the identifier names the kind
        document_type = metadata.document_type
        metadata.sources["document_type"] = "identifier"
    info = DocumentInfo(
        id=safe_stem(source.path),
        sha256=source.sha256,
        source_path=str(source.path),
        file_name=source.path.name,
        format=source.format.value,
        size_bytes=source.size_bytes,
        encoding=source.encoding,
        title=title,
        document_type=document_type,
        language=detect_language(structured.text, config.languages),
        page_count=source.page_count,
        char_count=len(structured.text),
        warnings=[*source.warnings, *structured.warnings, *warnings],
        date=metadata.date,
        year=metadata.year,
        identifier=metadata.identifier,
        issuer=metadata.issuer,
        metadata_sources=metadata.sources,
    )
    provenance = Provenance(
        tool_version=__version__,
        nlp_model=nlp_model,
        classifier=classifier,
        policy_area_classifier=policy_classifier,
        ocr=OcrInfo(**asdict(source.ocr)) if source.ocr else None,
        config_hash=config.config_hash,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        timings={stage: round(seconds, 4) for stage, seconds in timings.items()},
    )
    return DocumentResult(
        document=info,
        text=structured.text,
        blocks=structured.blocks,
        measures=extraction.measures,
        actors=extraction.actors,
        persons=extraction.persons,
        commitments=extraction.commitments,
        focus_areas=focus_areas,
        policy_areas=policy_areas or [],
        provenance=provenance,
    )
